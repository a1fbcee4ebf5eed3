// The demo's load generator: `concurrency` clients post orders to the service over keep-alive
// HTTP, each with an id the load makes (o-1, o-2, …), and keep each order's final answer. Like
// any client of an idempotent API, a client whose request failed because the service process
// was killed sends the same order again, same id and body, once the next process serves; one
// answered 503 (the service could not answer in time) is sent again after a pause.
//
// The mix: every 500th order is poisoned (it crashes the Pricer), every 97th has a bad quantity,
// and one order, when asked for (killThread), ends the Pricer's worker thread.

import { Agent } from 'node:http';
import { requestJson, type JsonResponse } from './http-json.js';
import type { OrderRequest } from './order-actors.js';
import type { Answer } from './order-entities.js';

/** The service to send to, and which process of it that is (1, 2, …). */
export interface Endpoint {
  readonly url: string;
  readonly generation: number;
}

export interface LoadOptions {
  readonly concurrency: number;
  /** The service to send to now; while it is being restarted, it resolves once the next one serves. */
  readonly service: () => Promise<Endpoint>;
  /** Whether the process of that generation was killed on purpose: its failed requests are sent again. */
  readonly killed: (generation: number) => boolean;
}

/** Sends of one order at most: the first and the retries. */
const MAX_ATTEMPTS = 20;
const SKUS = ['sku-a', 'sku-b', 'sku-c'];

export class Load {
  /** Each order's final answer (201 placed or 422 rejected), by id. */
  readonly answers = new Map<string, Answer>();
  /** Every order sent, by id (to send one again). */
  readonly sent = new Map<string, OrderRequest>();
  /** The orders sent again because the process they were sent to was killed. */
  readonly retriedAfterKill = new Set<string>();
  /** The customers the orders named (c0 to c999). */
  readonly customers = new Set<string>();
  readonly counts = { orders: 0, placed: 0, rejected: 0, requests: 0, retriedAfter503: 0, errors: 0 };
  /** The order that ends the Pricer's thread, once sent. */
  killerId: string | null = null;
  readonly #latencies: number[] = [];
  readonly #options: LoadOptions;
  readonly #agent: Agent;
  #n = 0;
  #stopping = false;
  #killThreadNext = false;
  #clients: Promise<void>[] = [];

  constructor(options: LoadOptions) {
    this.#options = options;
    this.#agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  }

  start(): void {
    this.#clients = Array.from({ length: this.#options.concurrency }, () => this.#client());
  }

  /** The next order is one that ends the Pricer's worker thread. */
  killThread(): void {
    this.#killThreadNext = true;
  }

  /** Sends no new orders; resolves once every order sent has its final answer (or failed for good). */
  async stop(): Promise<void> {
    this.#stopping = true;
    await Promise.all(this.#clients);
    this.#agent.destroy();
  }

  /** Writes, every second from now, one line of how it goes; returns the timer (unref'd: it keeps no program alive). */
  report(started: number): NodeJS.Timeout {
    return setInterval(() => {
      const secs = (performance.now() - started) / 1000;
      const c = this.counts;
      process.stdout.write(`\r  ${secs.toFixed(0)} s: ${c.orders} orders (${Math.round(c.orders / secs)}/s), ${c.placed} placed, ${c.rejected} rejected, ${this.retriedAfterKill.size} sent again after the kill   `);
    }, 1000).unref();
  }

  /** The latency of the answered requests at quantile `q` (0 to 1), in ms. */
  latency(q: number): number {
    const sorted = [...this.#latencies].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? 0;
  }

  async #client(): Promise<void> {
    while (!this.#stopping) await this.#place(this.#next());
  }

  #next(): OrderRequest {
    const n = ++this.#n;
    const id = `o-${n}`;
    let sku = n % 500 === 0 ? 'POISON' : SKUS[n % 3]!;
    if (this.#killThreadNext) {
      this.#killThreadNext = false;
      this.killerId = id;
      sku = 'KILL-THREAD';
    }
    const customer = `c${n % 1000}`;
    this.customers.add(customer);
    return { id, sku, qty: n % 97 === 0 ? 0 : 1 + (n % 3), customer };
  }

  /** Sends `order` until it has a final answer: again after its process was killed, or after a 503. */
  async #place(order: OrderRequest): Promise<void> {
    this.counts.orders++;
    this.sent.set(order.id, order);
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const { url, generation } = await this.#options.service();
      const started = performance.now();
      this.counts.requests++;
      let answered: JsonResponse<Answer>;
      try {
        answered = await requestJson<Answer>(this.#agent, `${url}/orders`, 'POST', order);
      } catch (error) {
        if (this.#options.killed(generation)) {
          this.retriedAfterKill.add(order.id); // its process was killed under it: the same order, again
          continue;
        }
        return this.#failed(order, (error as Error).message);
      }
      const { status, body } = answered;
      if (status === 503) {
        this.counts.retriedAfter503++;
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      if (status !== 201 && status !== 422) return this.#failed(order, `answered ${status}: ${JSON.stringify(body)}`);
      this.#latencies.push(performance.now() - started);
      this.answers.set(order.id, body);
      this.counts[body.status]++;
      return;
    }
    this.#failed(order, `no answer in ${MAX_ATTEMPTS} tries`);
  }

  #failed(order: OrderRequest, why: string): void {
    this.counts.errors++;
    console.error(`\n  order ${order.id} failed: ${why}`);
  }
}
