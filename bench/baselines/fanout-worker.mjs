// Baseline for topic fan-out: the publisher posts each message once to every worker, and the
// worker hands it to its local subscribers (plain functions): the least a broadcast over
// postMessage costs. Reports 'done' once it has dispatched `n` messages.
import { parentPort, workerData } from 'node:worker_threads';

const counts = new Array(workerData.subscribers).fill(0);
const handlers = counts.map((_, i) => () => void counts[i]++);
let expected = 0;
let seen = 0;
parentPort.on('message', (m) => {
  if (m.expect !== undefined) {
    expected = m.expect;
    seen = 0;
    return;
  }
  for (const handle of handlers) handle(m);
  if (++seen === expected) parentPort.postMessage('done');
});
