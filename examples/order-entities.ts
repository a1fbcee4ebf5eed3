// The durable part of the order service demo: an Order entity per order id, which decides the
// order's outcome once, and an Account entity per customer, which takes its charges. With the
// system's storage they live in an lmdb file and outlive the process (order-service.ts).

import { defineEntity, type ActorContext, type ActorRef } from 'troupe';
import { quote, type OrderRequest, type Pricer, type PricingAlone, type Quote, type Validator } from './order-actors.js';

/** What became of an order, decided once and kept by its Order entity. */
export type Outcome = (
  | { readonly status: 'placed'; readonly id: string; readonly total: number }
  | { readonly status: 'rejected'; readonly id: string; readonly reason: string }
) & {
  /** The process that decided it (process.pid: the same on every thread of one process). */
  readonly pid: number;
  /** Decided by a place handled again after a crash had cut off the first attempt. */
  readonly redelivered: boolean;
  /** Priced again alone, after its first pricing died with the Pricer's thread. */
  readonly alone: boolean;
};

/** An answer to `place`: the outcome, and whether it was decided earlier (a place sent again). */
export type Answer = Outcome & { readonly replay: boolean };

/** One charge an account took: the order's id and its amount in cents. */
export type Charge = readonly [order: string, amount: number];

/** The names the service registers its stateless actors under (system.register). */
export const STAFF = { validator: 'validator', pricer: 'pricer', pricingAlone: 'pricing-alone' } as const;

/**
 * A customer's account. It applies every charge it is told, and keeps the order id of each: it
 * does not deduplicate, so a charge that arrived twice would show here twice. That each arrives
 * once is the runtime's part (the output gate of the Order that sends it).
 */
export const Account = defineEntity(import.meta.url, 'Account', {
  init: () => ({ charges: [] as Charge[], revenue: 0 }),
  handlers: {
    charge: (ctx, charge: { order: string; amount: number }) => {
      ctx.state.charges.push([charge.order, charge.amount]);
      ctx.state.revenue += charge.amount;
    },
    read: (ctx) => ctx.state,
  },
});

/**
 * One order, by its id. `place` decides its outcome once: it validates and prices the order
 * through the stateless actors and, if it is placed, charges the customer's Account. That charge
 * is held until this handler's outcome is committed and then goes once (the output gate), so a
 * place cut off by a crash, and handled again from the store after the restart, charges once. A
 * place of an order already decided answers the outcome it has and charges nothing.
 */
export const Order = defineEntity(import.meta.url, 'Order', {
  init: () => ({ outcome: null as Outcome | null }),
  handlers: {
    place: async (ctx, order: OrderRequest): Promise<Answer> => {
      if (ctx.state.outcome !== null) return { ...ctx.state.outcome, replay: true };
      const outcome = await decide(ctx, order);
      if (outcome.status === 'placed') ctx.entity(Account, order.customer).tell('charge', { order: order.id, amount: outcome.total });
      ctx.state.outcome = outcome;
      return { ...outcome, replay: false };
    },
  },
  idleMs: 5_000, // an order is handled once or twice, then leaves memory; its state stays stored
});

/** Validates and prices `order`: the outcome to commit. */
async function decide(ctx: ActorContext<unknown>, order: OrderRequest): Promise<Outcome> {
  const { id } = order;
  const { pid } = process;
  const redelivered = ctx.redelivered;
  const { validator, pricer, pricingAlone } = await lookUpStaff(ctx);
  const problem = await validator.ask('validate', order);
  if (problem !== null) return { status: 'rejected', id, reason: problem, pid, redelivered, alone: false };
  let priced: Quote = await quote(pricer, order);
  const alone = !priced.ok && priced.crashed;
  if (alone) {
    // The Pricer's thread died while this order was among those being priced there, perhaps
    // by this order's doing: priced again alone, it is rejected if it ends that thread too.
    priced = await pricingAlone.ask('price', order);
    if (!priced.ok && priced.crashed) priced = { ok: false, reason: "it ends the Pricer's thread (priced again alone, it ended that one too)", crashed: true };
  }
  if (priced.ok) return { status: 'placed', id, total: priced.total, pid, redelivered, alone };
  return { status: 'rejected', id, reason: `pricing failed: ${priced.reason}`, pid, redelivered, alone };
}

interface Staff {
  readonly validator: ActorRef<typeof Validator>;
  readonly pricer: ActorRef<typeof Pricer>;
  readonly pricingAlone: ActorRef<typeof PricingAlone>;
}

/** The stateless actors, looked up by name once per thread (they restart behind the same refs). */
let found: Staff | null = null;

async function lookUpStaff(ctx: ActorContext<unknown>): Promise<Staff> {
  // The names are registered once the service has started them (an Order taken up from the
  // store may run before that), and read as free while their thread is being replaced.
  for (let tries = 1; found === null; tries++) {
    const [validator, pricer, pricingAlone] = await Promise.all([
      ctx.lookup<typeof Validator>(STAFF.validator),
      ctx.lookup<typeof Pricer>(STAFF.pricer),
      ctx.lookup<typeof PricingAlone>(STAFF.pricingAlone),
    ]);
    if (validator !== undefined && pricer !== undefined && pricingAlone !== undefined) found = { validator, pricer, pricingAlone };
    else if (tries === 500) throw new Error('the stateless actors were not registered in 10 s');
    else await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return found;
}
