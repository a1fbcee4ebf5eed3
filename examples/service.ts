// `npm start`: a small multicore order service on troupe. Checkouts spread over the worker
// threads take a stream of orders; each validates and prices through its own child actors,
// reserves stock with one Inventory actor and charges one Ledger. Every 500th order is
// poisoned: its Pricer throws, is restarted behind the same ref, and the other orders carry on.
// It ends on its own with a summary. Flags: --duration=SECONDS (default 4), --concurrency=N
// (orders in flight, default 64), --serve (keep running until Ctrl-C, a status line a second).

import { createSystem } from 'troupe';
import { Checkout, Inventory, Ledger, type Order, type Outcome } from './order-actors.js';

const arg = (name: string, fallback: number): number => {
  const raw = process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  const value = raw === undefined ? fallback : Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number, got ${raw}`);
  return value;
};
const serve = process.argv.includes('--serve');
const durationMs = arg('duration', 4) * 1000;
const concurrency = arg('concurrency', 64);

const system = await createSystem();
const workers = system.threads;
console.log(`order service: ${workers} worker threads + main, ${concurrency} orders in flight${serve ? ', serving until Ctrl-C' : `, ${durationMs / 1000} s`}`);

const inventory = system.spawn(Inventory, { stock: { 'sku-a': 1e9, 'sku-b': 1e9, 'sku-c': 50_000, POISON: 1e9 } }, { placement: { thread: 1 } });
const ledger = system.spawn(Ledger, undefined, { placement: { thread: workers } });
const checkouts = Array.from({ length: workers * 4 }, (_, i) =>
  system.spawn(Checkout, { inventory, ledger }, { placement: { thread: 1 + (i % workers) } }),
);

const skus = ['sku-a', 'sku-b', 'sku-c'];
let nextId = 0;
const makeOrder = (): Order => {
  const id = ++nextId;
  const sku = id % 500 === 0 ? 'POISON' : skus[id % skus.length]!;
  return { id, sku, qty: id % 97 === 0 ? 0 : 1 + (id % 3), customer: `c${id % 1000}` };
};

const counts = { sent: 0, placed: 0, rejected: 0, poisoned: 0, errors: 0 };
const latencies: number[] = [];
const perThread = new Map<number, number>();
let stopping = false;
const started = performance.now();

async function client(): Promise<void> {
  while (!stopping) {
    const order = makeOrder();
    const checkout = checkouts[order.id % checkouts.length]!;
    counts.sent++;
    const t = performance.now();
    try {
      const outcome: Outcome = await checkout.ask('place', order);
      latencies.push(performance.now() - t);
      if (outcome.status === 'placed') {
        counts.placed++;
        perThread.set(outcome.thread, (perThread.get(outcome.thread) ?? 0) + 1);
      } else if (outcome.reason.startsWith('pricing failed')) counts.poisoned++;
      else counts.rejected++;
    } catch (error) {
      counts.errors++;
      console.error(`  order ${order.id} failed: ${(error as Error).message}`);
    }
  }
}

const status = setInterval(() => {
  const s = system.stats();
  const secs = (performance.now() - started) / 1000;
  const busy = s.threads.map((t) => `${Math.round(t.busyRatio * 100)}%`).join(' ');
  process.stdout.write(
    `\r  ${secs.toFixed(0)} s: ${counts.sent} orders, ${Math.round(counts.sent / secs)}/s, placed ${counts.placed}, poisoned ${counts.poisoned}, messages handled ${s.handled}, busy ${busy}   `,
  );
}, 1000);

const clients = Array.from({ length: concurrency }, () => client());
if (serve) {
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
} else {
  await new Promise((resolve) => setTimeout(resolve, durationMs));
}
stopping = true;
await Promise.all(clients);
clearInterval(status);
process.stdout.write('\n');

const elapsed = (performance.now() - started) / 1000;
const actors = await system.inspect();
const restarts = actors.reduce((n, a) => n + a.restarts, 0);
const totals = await ledger.ask('totals');
const stock = await inventory.ask('stock');
const report = await system.shutdown();
const stats = system.stats();
latencies.sort((a, b) => a - b);
const pct = (p: number): string => `${(latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0).toFixed(2)} ms`;
const answered = counts.placed + counts.rejected + counts.poisoned;

console.log('\nsummary');
console.log(`  orders: ${counts.sent} sent, ${answered} answered (${counts.placed} placed, ${counts.rejected} rejected as invalid or out of stock, ${counts.poisoned} poisoned), ${counts.errors} errors`);
console.log(`  throughput: ${Math.round(counts.sent / elapsed)} orders/s, ${Math.round(stats.handled / elapsed)} actor messages/s; latency p50 ${pct(0.5)}, p99 ${pct(0.99)}`);
console.log(`  placed per worker (by threadId): ${[...perThread.entries()].sort((a, b) => a[0] - b[0]).map(([t, n]) => `#${t}: ${n}`).join(', ')}`);
console.log(`  crashes and restarts: ${counts.poisoned} poisoned orders crashed a Pricer; ${restarts} restarts, every ref still answering`);
console.log(`  ledger: ${totals.charges} charges, revenue ${(totals.revenue / 100).toFixed(2)}; sku-c stock left ${stock['sku-c']}`);
console.log(`  messages: ${stats.accepted} accepted = ${report.processed} handled + ${report.deadLettered} dead-lettered${stats.accepted === report.processed + report.deadLettered ? ' (nothing lost)' : ' (MISMATCH)'}`);
const ok = counts.errors === 0 && answered === counts.sent && totals.charges === counts.placed && restarts >= counts.poisoned && stats.accepted === report.processed + report.deadLettered;
console.log(ok ? '  every order was answered and every message is accounted for.' : '  CHECK FAILED: see the counts above.');
process.exitCode = ok ? 0 : 1;
