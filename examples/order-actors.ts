// The actors of the order service demo. Each lives in this module so every worker thread can
// import it again by URL (TypeScript works: the runtime turns on tsx in workers that need it).

import { threadId } from 'node:worker_threads';
import { defineActor, type ActorRef } from 'troupe';

export interface Order {
  readonly id: number;
  readonly sku: string;
  readonly qty: number;
  readonly customer: string;
}

export type Outcome =
  | { readonly status: 'placed'; readonly id: number; readonly total: number; readonly thread: number }
  | { readonly status: 'rejected'; readonly id: number; readonly reason: string };

/** Checks an order's shape and limits. Stateless. */
export const Validator = defineActor(import.meta.url, 'Validator', {
  init: () => ({}),
  handlers: {
    validate: (_ctx, order: Order): string | null => {
      if (!Number.isInteger(order.qty) || order.qty < 1 || order.qty > 10) return `quantity ${order.qty} is out of range`;
      if (order.customer.length === 0) return 'no customer';
      return null;
    },
  },
});

let restartsLogged = 0;
const PRICES: Record<string, number> = { 'sku-a': 1250, 'sku-b': 399, 'sku-c': 8999, POISON: 1 };

/**
 * Prices an order. A poisoned SKU makes it throw: it fails, and its supervisor restarts it. The
 * SKU "KILL-THREAD" stands for a fatal bug that takes its whole worker thread down (a native
 * crash, an out-of-memory): the pool replaces the thread and every actor there restarts.
 */
export const Pricer = defineActor(import.meta.url, 'Pricer', {
  init: () => ({ priced: 0 }),
  handlers: {
    price: (ctx, order: Order): number => {
      if (order.sku === 'POISON') throw new Error(`poisoned order ${order.id}`);
      if (order.sku === 'KILL-THREAD') {
        console.log(`\n  [threadId ${threadId}] order ${order.id} ends this worker thread (process.exit); the pool replaces it`);
        process.exit(70);
      }
      let checksum = 0; // a little CPU work per order, so the threads have something to share
      for (let i = 0; i < 2000; i++) checksum = (checksum * 31 + i) | 0;
      ctx.state.priced++;
      return (PRICES[order.sku] ?? 100) * order.qty + (checksum & 0);
    },
    priced: (ctx) => ctx.state.priced,
  },
  onRestart: (_ctx, error) => {
    // Show the first few restarts on each thread; the summary counts them all.
    if (++restartsLogged <= 2) console.log(`\n  [threadId ${threadId}] a Pricer failed (${error.message}) and restarts behind the same ref`);
  },
});

/**
 * The stock of every SKU: one actor owns it, so reservations never race. Idempotent by order id:
 * an order retried after its checkout's thread died is not reserved twice.
 */
export const Inventory = defineActor(import.meta.url, 'Inventory', {
  init: (args: { stock: Record<string, number> }) => ({ stock: { ...args.stock }, reserved: new Set<number>() }),
  handlers: {
    reserve: (ctx, m: { id: number; sku: string; qty: number }): boolean => {
      if (ctx.state.reserved.has(m.id)) return true;
      const left = ctx.state.stock[m.sku] ?? 0;
      if (left < m.qty) return false;
      ctx.state.stock[m.sku] = left - m.qty;
      ctx.state.reserved.add(m.id);
      return true;
    },
    restock: (ctx, m: { sku: string; qty: number }) => {
      ctx.state.stock[m.sku] = (ctx.state.stock[m.sku] ?? 0) + m.qty;
    },
    stock: (ctx) => ctx.state.stock,
  },
});

/** Takes the money. Fire-and-forget from the checkout: a tell, not an ask. Idempotent by order id. */
export const Ledger = defineActor(import.meta.url, 'Ledger', {
  init: () => ({ revenue: 0, charges: 0, charged: new Set<number>() }),
  handlers: {
    charge: (ctx, m: { id: number; customer: string; amount: number }) => {
      if (ctx.state.charged.has(m.id)) return;
      ctx.state.charged.add(m.id);
      ctx.state.revenue += m.amount;
      ctx.state.charges++;
    },
    totals: (ctx) => ({ revenue: ctx.state.revenue, charges: ctx.state.charges }),
  },
});

/**
 * One checkout: validates and prices through its own children (same thread, no shared memory),
 * reserves stock with the shared Inventory and charges the Ledger (other threads, through rings).
 */
export const Checkout = defineActor(import.meta.url, 'Checkout', {
  init: (args: { inventory: ActorRef<typeof Inventory>; ledger: ActorRef<typeof Ledger> }) => ({
    ...args,
    validator: null as ActorRef<typeof Validator> | null,
    pricer: null as ActorRef<typeof Pricer> | null,
  }),
  onStart: (ctx) => {
    ctx.state.validator = ctx.spawn(Validator, undefined);
    ctx.state.pricer = ctx.spawn(Pricer, undefined, { maxRestarts: 1000 });
  },
  handlers: {
    place: async (ctx, order: Order): Promise<Outcome> => {
      const problem = await ctx.state.validator!.ask('validate', order);
      if (problem !== null) return { status: 'rejected', id: order.id, reason: problem };
      let total: number;
      try {
        total = await ctx.state.pricer!.ask('price', order);
      } catch (error) {
        return { status: 'rejected', id: order.id, reason: `pricing failed: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : String(error)}` };
      }
      if (!(await ctx.state.inventory.ask('reserve', { id: order.id, sku: order.sku, qty: order.qty }))) {
        return { status: 'rejected', id: order.id, reason: 'out of stock' };
      }
      ctx.state.ledger.tell('charge', { id: order.id, customer: order.customer, amount: total });
      return { status: 'placed', id: order.id, total, thread: threadId };
    },
  },
});
