// An order service on troupe, served over HTTP on localhost, its orders and accounts durable
// entities in an lmdb file (storage.path): a process killed at any moment loses none of what it
// answered, and what it had stored and not finished is handled when the next process starts on
// the same path. Clients pick each order's id and may send an order again (after a timeout, a
// reset connection, a 503): placing is idempotent by that id, so it is charged at most once.
//
// Orders and Accounts live on the worker threads their keys pick. The Validator is a plain actor
// on a worker; the Pricer, whose bugs may end its thread (sku "KILL-THREAD"), has a thread of its
// own, so no entity goes down with it; a second Pricer, on another thread of its own, prices one
// at a time the orders whose pricing died with the first (PricingAlone, order-actors.ts).
//
//   POST /orders           {"id":"o-1","sku":"sku-a","qty":2,"customer":"c1"}  -> 201 placed | 422 rejected
//   GET  /accounts/<name>  the customer's account: every charge it took, and the revenue
//   GET  /stats            counters from every thread (shared memory; costs no messages),
//                          and `settled`: nothing accepted is left to handle
//   GET  /metrics          the same in Prometheus text format

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSystem, type ActorSystem, type ShutdownReport, type SystemOptions, type SystemStats } from 'troupe';
import { Pricer, PricingAlone, Validator, type OrderRequest } from './order-actors.js';
import { Account, Order, STAFF, type Answer } from './order-entities.js';

export interface OrderService {
  readonly url: string;
  readonly system: ActorSystem;
  /** Requests answered by this process so far, by outcome. */
  readonly counts: { placed: number; rejected: number; replays: number; unavailable: number; badRequests: number };
  /** Closes the HTTP server, then shuts the actor system down (draining it). */
  stop(): Promise<ShutdownReport>;
}

export interface OrderServiceOptions extends Omit<SystemOptions, 'storage' | 'dedicatedThreads'> {
  /** Where the entities are kept (an lmdb environment, created if missing); without it, `cluster` keeps them in NATS. */
  readonly path?: string;
  /** 0 (the default) picks a free port. */
  readonly port?: number;
}

/** Whether every message accepted so far has been handled, dead-lettered or dropped as a duplicate. */
export function settled(stats: SystemStats): boolean {
  return stats.accepted === stats.handled + (stats.deadLetters - stats.lateReplies) + stats.duplicates;
}

export async function startOrderService(options: OrderServiceOptions): Promise<OrderService> {
  const { path, port = 0, ...systemOptions } = options;
  // Two thread slots are kept for the Pricers' threads (placement 'dedicated'). Durability
  // 'process': what is stored is committed, safe from a crash of the process (what the demo does
  // to it) but not yet flushed to disk, which the default, 'machine', waits for on every commit.
  // In a cluster (no path), the entities are kept in NATS instead, and live on the nodes that own their shards.
  const system = await createSystem({ ...systemOptions, dedicatedThreads: 2, ...(path === undefined ? {} : { storage: { path, durability: 'process' } }) });
  // The Validator and the Pricer are started (not just spawned) before they are registered and
  // the server listens: a name reads as free until its actor's thread runs, and Orders taken up
  // from the store meanwhile wait for them. The second Pricer, needed only after a crash, starts
  // meanwhile; what is asked of it before waits for it.
  const [validator, pricer] = await Promise.all([
    system.start(Validator, undefined),
    system.start(Pricer, undefined, { placement: 'dedicated', maxRestarts: 1000 }),
  ]);
  const lonePricer = system.spawn(Pricer, undefined, { placement: 'dedicated', maxRestarts: 1000 });
  system.register(STAFF.validator, validator);
  system.register(STAFF.pricer, pricer);
  system.register(STAFF.pricingAlone, system.spawn(PricingAlone, { shared: pricer, own: lonePricer }, { placement: { thread: 0 } })); // main outlives every worker
  const counts = { placed: 0, rejected: 0, replays: 0, unavailable: 0, badRequests: 0 };

  const reply = (res: ServerResponse, status: number, body: unknown): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };

  const placeOrder = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let body = '';
    for await (const chunk of req) body += chunk;
    let input: Partial<Record<keyof OrderRequest, unknown>>;
    try {
      input = JSON.parse(body) as typeof input;
    } catch {
      counts.badRequests++;
      reply(res, 400, { error: 'body must be JSON' });
      return;
    }
    const { id, sku, qty, customer } = input;
    if (typeof id !== 'string' || id.length === 0 || id.length > 100 || typeof sku !== 'string' || typeof qty !== 'number' || typeof customer !== 'string' || customer.length > 100) {
      counts.badRequests++;
      reply(res, 400, { error: 'expected { id: string (1 to 100 characters), sku: string, qty: number, customer: string }' });
      return;
    }
    const order: OrderRequest = { id, sku, qty, customer };
    const entity = system.entity(Order, id);
    let answer: Answer;
    try {
      try {
        answer = await entity.ask('place', order);
      } catch (error) {
        // The Order's thread died under it: its message is stored, and the replacement handles
        // it first. Asked once more, the Order answers the outcome that message decided.
        if (!diedWithThread(error)) throw error;
        answer = await entity.ask('place', order);
      }
    } catch (error) {
      // A timeout, or a system shutting down: the client may send the same order again.
      counts.unavailable++;
      reply(res, 503, { error: (error as Error).message, code: (error as { code?: string }).code });
      return;
    }
    if (answer.replay) counts.replays++;
    if (answer.status === 'placed') counts.placed++;
    else counts.rejected++;
    reply(res, answer.status === 'placed' ? 201 : 422, answer);
  };

  const readAccount = async (res: ServerResponse, name: string): Promise<void> => {
    if (name.length === 0 || name.length > 100) {
      reply(res, 400, { error: 'expected /accounts/<name of 1 to 100 characters>' });
      return;
    }
    reply(res, 200, await system.entity(Account, name).ask('read'));
  };

  const server = createServer((req, res) => {
    const fail = (error: unknown): void => reply(res, 500, { error: String(error) });
    if (req.method === 'POST' && req.url === '/orders') {
      placeOrder(req, res).catch(fail);
    } else if (req.method === 'GET' && req.url?.startsWith('/accounts/') === true) {
      readAccount(res, decodeURIComponent(req.url.slice('/accounts/'.length))).catch(fail);
    } else if (req.method === 'GET' && req.url === '/stats') {
      const stats = system.stats();
      reply(res, 200, { ...stats, settled: settled(stats), counts, ...(system.cluster === null ? {} : { members: system.cluster.members().length }) });
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
      return system.shutdown();
    },
  };
}

/** An ActorFailedError whose cause says the actor's thread died ({ kind, code }). */
function diedWithThread(error: unknown): boolean {
  return (error as { code?: string }).code === 'ERR_ACTOR_FAILED' && ((error as Error).cause as { kind?: string } | undefined)?.kind !== undefined;
}
