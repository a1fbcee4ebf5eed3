// `npm start`: the order service (order-service.ts) in a process of its own, its orders and
// accounts durable entities in a fresh temp directory, and a load generator (order-load.ts)
// posting orders to it over HTTP. Halfway through, this driver kills the service process with
// SIGKILL and starts it again on the same directory; the clients send the orders whose requests
// died with it again, with the same ids, as clients of an idempotent API do. Every 500th order
// crashes the Pricer (it restarts), and in the last quarter one order ends the Pricer's thread:
// the orders being priced there are priced again one at a time on a second Pricer, where that
// order ends its thread too and is rejected. At the end the driver waits until the service has
// nothing left to handle, reads every account, and checks that each order answered "placed" was
// charged exactly once and nothing else was charged (order-check.ts): exit code 0, or CHECK
// FAILED and exit code 1.
//
//   npm start                          4 s of load (2 s, the kill and restart, 2 s), then the summary
//   npm start -- --duration=10 --concurrency=128
//   npm start -- --cluster=3           the service as three nodes of a cluster on a local nats-server,
//                                      one killed with SIGKILL mid-load (cluster-demo.ts)
//   npm start -- --serve               one service process, no load, until Ctrl-C; try:
//       curl -XPOST localhost:8080/orders -d '{"id":"o-1","sku":"sku-a","qty":1,"customer":"me"}'
//       (again: the same answer, with "replay": true, and nothing more charged)
//       curl localhost:8080/accounts/me
//   --port=N      the service listens on N (default 8080 with --serve, else any free port)
//   --data=DIR    with --serve: the entities live in DIR, kept afterwards, instead of a temp dir
//
// A mistyped flag or a bad value ends it at once: one line on stderr, exit code 2.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SystemStats } from 'troupe';
import { startChildService, type ChildService } from './child-service.js';
import { parseFlags, usageExit } from './flags.js';
import type { Answer } from './order-entities.js';
import { checkBooks, type AccountState } from './order-check.js';
import { Load, type Endpoint } from './order-load.js';
import { readAccounts, settle } from './service-reads.js';

const { values: flags } = parseFlags('service', {
  duration: { type: 'number', default: 4, min: 0 },
  concurrency: { type: 'number', default: 64, min: 1, integer: true },
  port: { type: 'number', min: 0, max: 65_535, integer: true },
  serve: { type: 'boolean' },
  data: { type: 'string' },
  cluster: { type: 'number', min: 2, max: 8, integer: true },
});
if (flags.cluster !== undefined && (flags.serve || flags.data !== undefined)) usageExit('service', '--cluster runs its own demo: without --serve or --data');
if (flags.cluster !== undefined) {
  const { clusterDemo } = await import('./cluster-demo.js');
  process.exit(await clusterDemo(flags.cluster, flags.duration === 4 ? 6 : flags.duration, flags.concurrency));
}
if (flags.data !== undefined && !flags.serve) usageExit('service', '--data goes with --serve (a demo run keeps its entities in a fresh temp dir)');

const dir = flags.data ?? mkdtempSync(join(tmpdir(), 'troupe-demo-'));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
/** The service process running now, killed if this program ends early. */
let live = null as ChildService | null;
try {
  process.exitCode = flags.serve ? await serve() : await demo();
} finally {
  await live?.kill();
  if (flags.data === undefined) rmSync(dir, { recursive: true, force: true });
}

async function serve(): Promise<number> {
  live = await startChildService({ data: dir, port: flags.port ?? 8080 });
  console.log(`serving until Ctrl-C (POST /orders, GET /accounts/<customer>, GET /stats, GET /metrics); entities in ${dir}${flags.data === undefined ? ' (removed at the end)' : ''}`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  const { report } = await live.stop();
  live = null;
  console.log(`stopped: ${report.processed} messages handled, ${report.deadLettered} dead-lettered`);
  return 0;
}

async function demo(): Promise<number> {
  const halfMs = (flags.duration * 1000) / 2;
  const port = flags.port ?? 0;
  const first = await startChildService({ data: dir, port });
  live = first;
  console.log(`order service in process ${first.pid} on ${first.url}, its entities in ${dir}`);
  console.log(`  ${flags.concurrency} clients post orders; in ${(halfMs / 1000).toFixed(1)} s the process is killed with SIGKILL and started again on the same data`);

  // What the clients send to: the process serving now, or, after the kill, the next one once it serves.
  let endpoint: Promise<Endpoint> = Promise.resolve({ url: first.url, generation: 1 });
  let killedGeneration = 0;
  const load = new Load({ concurrency: flags.concurrency, service: () => endpoint, killed: (generation) => generation <= killedGeneration });
  const started = performance.now();
  load.start();
  const status = load.report(started);

  await sleep(halfMs);
  let restarted!: (next: Endpoint) => void;
  endpoint = new Promise((resolve) => (restarted = resolve));
  const killedAt = performance.now();
  killedGeneration = 1;
  await first.kill();
  const how = await first.exited;
  console.log(`\n  SIGKILL: process ${first.pid} is gone (${how.signal ?? `code ${how.code}`}), in the middle of requests`);
  const second = await startChildService({ data: dir, port });
  live = second;
  console.log(`  process ${second.pid} serves on ${second.url}, ${((performance.now() - killedAt) / 1000).toFixed(1)} s after the kill, on the same data`);
  restarted({ url: second.url, generation: 2 });

  await sleep(halfMs / 2);
  load.killThread();
  await sleep(halfMs / 2);
  await load.stop();
  clearInterval(status);
  const secs = (performance.now() - started) / 1000;
  const c = load.counts;
  const busy = c.retriedAfter503 === 0 ? '' : ` (${c.retriedAfter503} answered 503 and sent again)`;
  console.log(`\n  load: ${c.orders} orders in ${secs.toFixed(1)} s (${Math.round(c.orders / secs)}/s) by ${c.requests} requests${busy}; latency p50 ${load.latency(0.5).toFixed(1)} ms, p99 ${load.latency(0.99).toFixed(1)} ms`);

  const { stats, settled } = await settle(second.url);
  const accounts = await readAccounts(second.url, [...load.customers]);
  await second.stop();
  live = null;
  return summary(load, how.signal === 'SIGKILL' ? first.pid : null, accounts, stats, settled);
}

/** `killed`: the pid of the process killed with SIGKILL (null if it was not). */
function summary(load: Load, killed: number | null, accounts: AccountState[], stats: SystemStats, settled: boolean): number {
  const answers = [...load.answers.values()];
  const rejected = (start: string): number => answers.filter((a) => a.status === 'rejected' && a.reason.startsWith(start)).length;
  const retried = [...load.retriedAfterKill].map((id) => load.answers.get(id)).filter((a): a is Answer => a !== undefined);
  const before = retried.filter((a) => a.pid === killed).length;
  const redelivered = retried.filter((a) => a.pid !== killed && a.redelivered).length;
  const killer = load.killerId === null ? undefined : load.answers.get(load.killerId);
  const others = answers.filter((a) => a.alone && a.id !== load.killerId);
  const replaced = stats.threads.reduce((n, t) => n + t.replaced, 0);
  const books = checkBooks(load.answers, accounts);
  const c = load.counts;
  const cents = (n: number): string => (n / 100).toFixed(2);

  console.log('\nsummary');
  console.log(`  orders: ${c.orders} sent, ${load.answers.size} answered: ${books.placed} placed (201), ${books.rejected} rejected (422): ${rejected('quantity')} bad quantities, ${rejected('pricing failed: poisoned')} poisoned, ${rejected("pricing failed: it ends the Pricer's thread")} that ends the Pricer's thread${c.errors === 0 ? '' : `; ${c.errors} FAILED`}`);
  console.log(`  ${killed !== null ? 'SIGKILL' : 'NO SIGKILL'} of the service process: the clients sent the ${retried.length} orders whose requests died with it again, same ids:`);
  console.log(`    ${before} had been decided before the kill: answered again, charged nothing more`);
  console.log(`    ${redelivered} were finished by the next process from their stored message`);
  console.log(`    ${retried.length - before - redelivered} had not been stored: the next process decided them`);
  console.log(`  crashes: ${rejected('pricing failed: poisoned')} poisoned orders crashed the Pricer, which restarted behind the same ref each time`);
  if (killer !== undefined) {
    const placed = others.filter((a) => a.status === 'placed').length;
    console.log(`  thread kill: order ${load.killerId} ended the Pricer's thread, failing the ${others.length} other orders whose pricing waited there; priced again one at a time on a Pricer of their own, ${placed} of them were placed, and ${load.killerId} ended that thread too: ${killer.status} (${replaced} threads replaced)`);
  }
  console.log(`  accounts: ${accounts.length} read, revenue ${cents(books.revenue)}; the orders placed total ${cents(books.placedTotal)}`);
  console.log(`  charged once: ${books.chargedOnce} of ${books.placed} placed; twice: ${books.chargedTwice}; lost: ${books.lost}; rejected but charged: ${books.rejectedButCharged}; wrong amount: ${books.wrongAmount}; unknown orders: ${books.unknown}`);
  const dead = stats.deadLetters - stats.lateReplies;
  console.log(`  messages in the second process: ${stats.accepted} accepted ${settled ? '=' : '!='} ${stats.handled} handled + ${dead} dead-lettered + ${stats.duplicates} duplicates${settled ? '' : ' (still unsettled after 10 s)'}`);
  if (stats.duplicates > 0) console.log(`    (the duplicates: charges the Orders' outboxes sent again after the restart, which their accounts had already taken)`);
  const threadKill = killer === undefined || (killer.status === 'rejected' && killer.reason.startsWith("pricing failed: it ends the Pricer's thread") && replaced === 2);
  const ok = books.ok && killed !== null && settled && c.errors === 0 && load.answers.size === c.orders && threadKill && stats.threads.every((t) => t.alive);
  console.log(ok ? '  every order placed was charged exactly once, across a SIGKILL of the service process.' : '  CHECK FAILED: see the counts above.');
  return ok ? 0 : 1;
}
