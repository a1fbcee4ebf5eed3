// `npm start`: the order service (examples/order-service.ts) on localhost, and a load generator
// that posts orders to it over HTTP. Every 500th order is poisoned: it crashes a Pricer actor,
// which restarts behind the same ref, and that request alone gets an error answer. Every 97th
// has a bad quantity and is rejected. Halfway through, one order ends a whole worker thread:
// the pool replaces it, its actors restart behind the same refs, and the orders in flight there
// are retried. Ends on its own with a summary that checks every request was answered, nothing
// was charged twice, and every actor message is accounted for.
//
//   npm start                          4 s of load, then the summary
//   npm start -- --duration=10 --concurrency=128
//   npm start -- --serve               keep serving (no load) until Ctrl-C; try:
//       curl -XPOST localhost:8080/orders -d '{"sku":"sku-a","qty":1,"customer":"me"}'
//   --port=N                           listen on N (default 8080 with --serve, else any free port)
//
// A mistyped flag or a bad value ends it at once: one line on stderr, exit code 2.

import { Agent, request } from 'node:http';
import { parseFlags } from './flags.js';
import { startOrderService } from './order-service.js';

const { values: flags } = parseFlags('service', {
  duration: { type: 'number', default: 4, min: 0 },
  concurrency: { type: 'number', default: 64, min: 1, integer: true },
  port: { type: 'number', min: 0, max: 65_535, integer: true },
  serve: { type: 'boolean' },
});
const serve = flags.serve;
const durationMs = flags.duration * 1000;
const concurrency = flags.concurrency;

// A spare thread stands by: a worker that dies is replaced in tens of milliseconds.
const service = await startOrderService({ port: flags.port ?? (serve ? 8080 : 0), spareThread: true });
const { system } = service;
console.log(`order service on ${service.url}: ${system.threads} worker thread(s) + main`);

if (serve) {
  console.log('serving until Ctrl-C (POST /orders, GET /stats)');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
} else {
  await load();
}

const { report, ledger, restarts } = await service.stop();
const stats = system.stats();
console.log('\nsummary');
const c = service.counts;
console.log(`  answered: ${c.placed} placed, ${c.rejected} rejected, ${c.failed} failed, ${c.badRequests} bad requests`);
console.log(`  crashes: ${restarts} actor restarts (poisoned orders), every ref still answering`);
const replaced = stats.threads.reduce((n, t) => n + t.replaced, 0);
console.log(`  thread kills: ${c.threadKills} (${replaced} worker thread(s) replaced; ${c.retried} orders in flight there retried, none charged twice)`);
console.log(`  ledger: ${ledger.charges} charges, revenue ${(ledger.revenue / 100).toFixed(2)}`);
console.log(`  messages: ${stats.accepted} accepted = ${report.processed} handled + ${report.deadLettered} dead-lettered (among them what the killed thread was running or had been asked, each with its content)`);
const balanced = stats.accepted === report.processed + report.deadLettered;
const killed = serve || (c.threadKills === 1 && replaced === 1);
const ok = balanced && ledger.charges === c.placed && c.failed === 0 && killed && stats.threads.every((t) => t.alive);
console.log(ok ? '  every request was answered and every message is accounted for.' : '  CHECK FAILED: see the counts above.');
process.exitCode = ok ? 0 : 1;

async function load(): Promise<void> {
  const skus = ['sku-a', 'sku-b', 'sku-c'];
  const sent = { requests: 0, answered: 0, poisoned: 0, errors: 0 };
  const latencies: number[] = [];
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const { hostname, port } = new URL(service.url);
  const post = (body: string): Promise<{ reason?: string }> =>
    new Promise((resolve, reject) => {
      const req = request({ agent, hostname, port, path: '/orders', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          try {
            resolve(JSON.parse(text) as { reason?: string });
          } catch (error) {
            reject(error as Error);
          }
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  let n = 0;
  let stopping = false;
  const started = performance.now();

  let killAt = Number.POSITIVE_INFINITY; // the first order sent after half the run ends its thread
  setTimeout(() => (killAt = n + 1), durationMs / 2).unref();
  const client = async (): Promise<void> => {
    while (!stopping) {
      const id = ++n;
      const sku = id === killAt ? 'KILL-THREAD' : id % 500 === 0 ? 'POISON' : skus[id % 3]!;
      const order = { sku, qty: id % 97 === 0 ? 0 : 1 + (id % 3), customer: `c${id % 1000}` };
      sent.requests++;
      const t = performance.now();
      try {
        const body = await post(JSON.stringify(order));
        latencies.push(performance.now() - t);
        sent.answered++;
        if (sku === 'KILL-THREAD') console.log(`\n  order ${id} answered: ${JSON.stringify(body)}`);
        if (body.reason?.startsWith('pricing failed')) sent.poisoned++;
      } catch (error) {
        sent.errors++;
        console.error(`  request failed: ${(error as Error).message}`);
      }
    }
  };

  const status = setInterval(() => {
    const s = system.stats();
    const secs = (performance.now() - started) / 1000;
    const busy = s.threads.map((t) => `${Math.round(t.busyRatio * 100)}%`).join(' ');
    process.stdout.write(
      `\r  ${secs.toFixed(0)} s: ${sent.requests} requests (${Math.round(sent.requests / secs)}/s), placed ${service.counts.placed}, poisoned ${sent.poisoned}, actor messages ${s.handled}, threads busy ${busy}   `,
    );
  }, 1000);
  const clients = Array.from({ length: concurrency }, () => client());
  await new Promise((resolve) => setTimeout(resolve, durationMs));
  stopping = true;
  await Promise.all(clients);
  clearInterval(status);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const pct = (p: number): string => `${(latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0).toFixed(2)} ms`;
  const secs = (performance.now() - started) / 1000;
  console.log(`\n  load: ${sent.requests} requests in ${secs.toFixed(1)} s (${Math.round(sent.requests / secs)}/s), ${sent.answered} answered, ${sent.errors} errors; latency p50 ${pct(0.5)}, p99 ${pct(0.99)}`);
  if (sent.answered !== sent.requests) process.exitCode = 1;
}
