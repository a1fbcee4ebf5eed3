// The order service (order-service.ts) as a process of its own: what `npm start` starts, kills
// with SIGKILL, and starts again on the same data directory.
//
//   node --import tsx examples/service-process.ts --data=DIR [--port=N]
//   node --import tsx examples/service-process.ts --cluster=nats://host:port --name=NODE [--port=N]
//
// With --cluster it is one node of a troupe cluster on that NATS server: its entities live on the
// nodes that own their shards, kept in NATS (cluster-demo.ts starts three).
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
  cluster: { type: 'string' },
  name: { type: 'string' },
  port: { type: 'number', min: 0, max: 65_535, integer: true },
});
if ((flags.data === undefined) === (flags.cluster === undefined)) usageExit('service-process', 'one of --data=<dir> (where the entities are kept) or --cluster=<NATS URL> is needed');
if (flags.cluster !== undefined && flags.name === undefined) usageExit('service-process', '--cluster goes with --name=<node name>');

// A signal that comes while it starts stops it once it has started.
const stopSignal = new Promise<void>((resolve) => {
  process.once('SIGINT', resolve);
  process.once('SIGTERM', resolve);
});

// A node's log lines, each said once (a dead peer is reported by every call that finds it gone).
const said = new Set<string>();
const once = (message: string): void => {
  if (said.has(message)) return;
  said.add(message);
  console.error(`  [${flags.name}] ${message}`);
};
const service = await startOrderService({
  port: flags.port ?? 0,
  ...(flags.cluster === undefined
    ? { path: flags.data! }
    : { cluster: { servers: flags.cluster, name: flags.name!, heartbeatMs: 250, downAfterMs: 1500 }, logger: { warn: once, error: once } }),
});
if (process.send === undefined) console.log(`listening on ${service.url} (pid ${process.pid})`);
else process.send({ kind: 'listening', url: service.url, pid: process.pid, threads: service.system.threads });

await stopSignal;
const report = await service.stop();
process.send?.({ kind: 'stopped', report }, () => process.disconnect());
