// The stateless actors of the order service demo: they check and price orders, and keep nothing
// that must outlive them (the durable part is in order-entities.ts). Each lives in this module
// so every worker thread can import it again by URL (TypeScript works: the runtime turns on tsx
// in workers that need it).

import { threadId } from 'node:worker_threads';
import { defineActor, type ActorRef } from 'troupe';

/** An order as the client sends it; the client picks its id, and sends it again with the same id. */
export interface OrderRequest {
  readonly id: string;
  readonly sku: string;
  readonly qty: number;
  readonly customer: string;
}

/** A price, or why there is none; `crashed`: the Pricer's thread died while it was asked. */
export type Quote = { readonly ok: true; readonly total: number } | { readonly ok: false; readonly reason: string; readonly crashed: boolean };

/** Checks an order's shape and limits. */
export const Validator = defineActor(import.meta.url, 'Validator', {
  init: () => ({}),
  handlers: {
    validate: (_ctx, order: OrderRequest): string | null => {
      if (!Number.isInteger(order.qty) || order.qty < 1 || order.qty > 10) return `quantity ${order.qty} is out of range`;
      if (order.customer.length === 0) return 'no customer';
      return null;
    },
  },
});

let restartsLogged = 0;
const PRICES: Record<string, number> = { 'sku-a': 1250, 'sku-b': 399, 'sku-c': 8999, POISON: 1 };

/**
 * Prices an order. A poisoned SKU makes it throw: it fails, and restarts behind the same ref.
 * The SKU "KILL-THREAD" stands for a fatal bug that takes its whole worker thread down (a native
 * crash, an out-of-memory): the pool replaces the thread and the Pricer restarts there.
 */
export const Pricer = defineActor(import.meta.url, 'Pricer', {
  init: () => ({ priced: 0 }),
  handlers: {
    price: (ctx, order: OrderRequest): number => {
      if (order.sku === 'POISON') throw new Error(`poisoned order ${order.id}`);
      if (order.sku === 'KILL-THREAD') {
        console.log(`\n  [threadId ${threadId}] order ${order.id} ends this worker thread (process.exit); the pool replaces it`);
        process.exit(70);
      }
      let checksum = 0; // a little CPU work per order
      for (let i = 0; i < 2000; i++) checksum = (checksum * 31 + i) | 0;
      ctx.state.priced++;
      return (PRICES[order.sku] ?? 100) * order.qty + (checksum & 0);
    },
    /** Answers once the Pricer runs (after its thread was replaced, if it died). */
    ready: (): true => true,
  },
  onRestart: (_ctx, error) => {
    // Show the first few restarts on each thread; the summary counts the orders that caused them.
    if (++restartsLogged <= 2) console.log(`\n  [threadId ${threadId}] the Pricer failed (${error.message}) and restarts behind the same ref`);
  },
});

/** Asks `pricer` to price `order`; a failure (a throw, the death of its thread) is a Quote too. */
export async function quote(pricer: ActorRef<typeof Pricer>, order: OrderRequest): Promise<Quote> {
  try {
    return { ok: true, total: await pricer.ask('price', order) };
  } catch (error) {
    // The cause is the Pricer's error, or, if its thread died, { kind: 'thread-exit', code }.
    const cause = (error as Error).cause as { message?: string; kind?: string } | undefined;
    if (cause?.kind !== undefined) return { ok: false, reason: "the Pricer's thread died", crashed: true };
    return { ok: false, reason: cause?.message ?? String(error), crashed: false };
  }
}

/**
 * Prices one order at a time, on a Pricer of its own that nothing else asks, on a thread of its
 * own: if that thread dies, the order it was pricing ended it. When the shared Pricer's thread
 * dies, every order being priced there fails with it, and which one ended it cannot be told;
 * priced again here, the one that did is found (it ends this thread too), and the rest are priced.
 */
export const PricingAlone = defineActor(import.meta.url, 'PricingAlone', {
  init: (pricers: { shared: ActorRef<typeof Pricer>; own: ActorRef<typeof Pricer> }) => pricers,
  handlers: {
    // Awaited, so the next order waits in this actor's mailbox, on a thread that does not die.
    price: async (ctx, order: OrderRequest): Promise<Quote> => {
      // One crash at a time: the shared Pricer answers once its thread has been replaced.
      const back = await ctx.state.shared.ask('ready').catch(() => false);
      return back ? quote(ctx.state.own, order) : { ok: false, reason: 'the Pricer did not come back', crashed: false };
    },
  },
});
