// An order service on troupe, served over HTTP on localhost. Checkouts spread over the worker
// threads; each validates and prices an order through its own child actors (same thread),
// reserves stock with one Inventory actor and charges one Ledger (other threads, over rings).
// A poisoned order (sku "POISON") crashes a Pricer, which restarts behind the same ref; the
// request gets an error answer and every other request carries on. An order with sku
// "KILL-THREAD" ends a whole worker thread: the pool replaces it, its actors restart behind the
// same refs, that request gets a 503, and the orders that were in flight there are retried once
// (placing an order is idempotent by its id, so a retry never charges twice).
//
//   POST /orders   {"sku":"sku-a","qty":2,"customer":"c1"}  -> 201 placed | 422 rejected
//   GET  /stats    counters from every thread (shared memory; costs no messages)
//   GET  /metrics  the same in Prometheus text format

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSystem, type ActorSystem, type ShutdownReport, type SystemOptions } from 'troupe';
import { Checkout, Inventory, Ledger, type Order } from './order-actors.js';

export interface OrderService {
  readonly url: string;
  readonly system: ActorSystem;
  /** Orders answered so far, by outcome. */
  readonly counts: { placed: number; rejected: number; failed: number; badRequests: number; threadKills: number; retried: number };
  /** Closes the HTTP server, then shuts the actor system down (draining it). */
  stop(): Promise<{ report: ShutdownReport; ledger: { revenue: number; charges: number }; restarts: number }>;
}

export interface OrderServiceOptions extends SystemOptions {
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  /** Checkouts per worker thread. Default 4. */
  readonly checkoutsPerThread?: number;
}

export async function startOrderService(options: OrderServiceOptions = {}): Promise<OrderService> {
  const { port = 0, checkoutsPerThread = 4, ...systemOptions } = options;
  const system = await createSystem(systemOptions);
  const workers = system.threads;
  // The two actors that hold the service's state live on the main thread, which outlives any
  // worker; checkouts and their children (stateless per order) spread over the workers.
  const inventory = system.spawn(Inventory, { stock: { 'sku-a': 1e9, 'sku-b': 1e9, 'sku-c': 50_000, POISON: 1e9, 'KILL-THREAD': 1e9 } }, { placement: { thread: 0 } });
  const ledger = system.spawn(Ledger, undefined, { placement: { thread: 0 } });
  // A pool routes each order to one checkout, round-robin, on the caller's side (no extra hop).
  const checkouts = system.spawnPool(Checkout, { inventory, ledger }, { size: workers * checkoutsPerThread });
  const counts = { placed: 0, rejected: 0, failed: 0, badRequests: 0, threadKills: 0, retried: 0 };
  let nextId = 0;

  const reply = (res: ServerResponse, status: number, body: unknown): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };

  const placeOrder = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let body = '';
    for await (const chunk of req) body += chunk;
    let input: { sku?: unknown; qty?: unknown; customer?: unknown };
    try {
      input = JSON.parse(body) as typeof input;
    } catch {
      counts.badRequests++;
      reply(res, 400, { error: 'body must be JSON' });
      return;
    }
    if (typeof input.sku !== 'string' || typeof input.qty !== 'number' || typeof input.customer !== 'string') {
      counts.badRequests++;
      reply(res, 400, { error: 'expected { sku: string, qty: number, customer: string }' });
      return;
    }
    const order: Order = { id: ++nextId, sku: input.sku, qty: input.qty, customer: input.customer };
    try {
      let outcome;
      try {
        outcome = await checkouts.ask('place', order);
      } catch (error) {
        // Its checkout's thread died under it (the cause says so): once more, on the replacement.
        const died = (error as { code?: string }).code === 'ERR_ACTOR_FAILED' && ((error as Error).cause as { kind?: string } | undefined)?.kind !== undefined;
        if (!died) throw error;
        if (order.sku === 'KILL-THREAD') {
          counts.threadKills++;
          reply(res, 503, { error: (error as Error).message, code: 'ERR_ACTOR_FAILED' });
          return;
        }
        counts.retried++;
        outcome = await checkouts.ask('place', order);
      }
      if (outcome.status === 'placed') {
        counts.placed++;
        reply(res, 201, outcome);
      } else {
        counts.rejected++;
        reply(res, 422, outcome);
      }
    } catch (error) {
      counts.failed++;
      reply(res, 503, { error: (error as Error).message, code: (error as { code?: string }).code });
    }
  };

  const server = createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/orders') {
      placeOrder(req, res).catch((error: unknown) => reply(res, 500, { error: String(error) }));
    } else if (req.method === 'GET' && req.url === '/stats') {
      reply(res, 200, { ...system.stats(), counts });
    } else if (req.method === 'GET' && req.url === '/metrics') {
      const text = system.metricsText();
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    } else {
      reply(res, 404, { error: 'not found' });
    }
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${address.port}`,
    system,
    counts,
    async stop() {
      server.closeIdleConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      const restarts = (await system.inspect()).reduce((n, a) => n + a.restarts, 0);
      const totals = await ledger.ask('totals');
      const report = await system.shutdown();
      return { report, ledger: totals, restarts };
    },
  };
}
