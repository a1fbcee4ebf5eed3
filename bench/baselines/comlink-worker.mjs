// Baseline: a comlink-exposed function in a worker, called from the main thread.
import { expose } from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { parentPort } from 'node:worker_threads';

let n = 0;
expose({ inc: (x) => (n++, x + 1) }, nodeEndpoint(parentPort));
