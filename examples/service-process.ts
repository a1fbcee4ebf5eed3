// The order service (order-service.ts) as a process of its own: what `npm start` starts, kills
// with SIGKILL, and starts again on the same data directory.
//
//   node --import tsx examples/service-process.ts --data=DIR [--port=N]
//
// Once it serves it prints `listening on <url>`, or, started by fork (with an IPC channel), sends
// its parent { kind: 'listening', url, pid, threads }. What it found stored and not finished it
// handles first. On SIGINT or SIGTERM it
// stops (the HTTP server closes, the system drains and shuts down) and sends { kind: 'stopped',
// report } before it exits.

import { parseFlags, usageExit } from './flags.js';
import { startOrderService } from './order-service.js';

const { values: flags } = parseFlags('service-process', {
  data: { type: 'string' },
  port: { type: 'number', min: 0, max: 65_535, integer: true },
});
if (flags.data === undefined) usageExit('service-process', '--data=<dir> is needed: where the entities are kept');

// A signal that comes while it starts stops it once it has started.
const stopSignal = new Promise<void>((resolve) => {
  process.once('SIGINT', resolve);
  process.once('SIGTERM', resolve);
});

const service = await startOrderService({ path: flags.data, port: flags.port ?? 0 });
if (process.send === undefined) console.log(`listening on ${service.url} (pid ${process.pid})`);
else process.send({ kind: 'listening', url: service.url, pid: process.pid, threads: service.system.threads });

await stopSignal;
const report = await service.stop();
process.send?.({ kind: 'stopped', report }, () => process.disconnect());
