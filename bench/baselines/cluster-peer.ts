// The other process of bench/cluster.bench.ts: a troupe node ('peer', one worker thread) with a
// Counter and an Echo on its worker, registered by name; and, in the same process, a plain NATS
// connection that counts what is published to `raw.pub` and answers `raw.req` and `raw.count`:
// both sides of the race live under the same roof. Prints "ready"; ends when stdin closes.

import { writeSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import { connect } from '@nats-io/transport-node';
import { createSystem } from 'troupe';
import { Echo, Sink } from '../actors.js';

if (isMainThread) {
  const [url, namespace] = [process.argv[2]!, process.argv[3]!];
  const system = await createSystem({ threads: 1, handleSignals: [], cluster: { servers: url, name: 'peer', namespace } });
  system.register('sink', await system.start(Sink, undefined, { placement: { thread: 1 } }));
  system.register('echo', await system.start(Echo, undefined, { placement: { thread: 1 } }));
  const nc = await connect({ servers: url });
  let count = 0;
  const decoder = new TextDecoder();
  nc.subscribe('raw.pub', { callback: (_error, msg) => void (JSON.parse(decoder.decode(msg.data)) as unknown, count++) });
  nc.subscribe('raw.req', { callback: (_error, msg) => void msg.respond(msg.data) });
  nc.subscribe('raw.count', { callback: (_error, msg) => void msg.respond(JSON.stringify(count)) });
  await nc.flush();
  writeSync(1, 'ready\n');
  process.stdin.resume();
  process.stdin.on('end', () => {
    void (async () => {
      await nc.close();
      await system.shutdown();
      process.exit(0);
    })();
  });
}
