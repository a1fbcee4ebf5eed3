// The demo's check of the books: the answers the clients got against the charges the accounts
// hold. Accounts do not deduplicate (order-entities.ts), so a charge delivered twice shows as an
// order id twice, and one lost as a placed order with none. A pure function, tested on its own.

import type { Answer, Charge } from './order-entities.js';

export interface AccountState {
  readonly charges: readonly Charge[];
  readonly revenue: number;
}

export interface Books {
  /** Orders answered 201 placed, and 422 rejected. */
  readonly placed: number;
  readonly rejected: number;
  /** Placed orders charged once, with their total. */
  readonly chargedOnce: number;
  /** Orders charged more than once. */
  readonly chargedTwice: number;
  /** Placed orders charged nowhere. */
  readonly lost: number;
  /** Rejected orders charged anyway. */
  readonly rejectedButCharged: number;
  /** Placed orders charged once, but not their total. */
  readonly wrongAmount: number;
  /** Charges for orders the clients never had an answer for. */
  readonly unknown: number;
  /** The sum of the placed orders' totals, and what the accounts say they took, in cents. */
  readonly placedTotal: number;
  readonly revenue: number;
  /** Accounts whose revenue is not the sum of their own charges. */
  readonly accountsOff: number;
  /** Every placed order charged exactly once with its total, nothing else charged, revenue adds up. */
  readonly ok: boolean;
}

export function checkBooks(answers: ReadonlyMap<string, Answer>, accounts: Iterable<AccountState>): Books {
  const charged = new Map<string, number[]>();
  let revenue = 0;
  let accountsOff = 0;
  for (const account of accounts) {
    let sum = 0;
    for (const [order, amount] of account.charges) {
      const amounts = charged.get(order);
      if (amounts === undefined) charged.set(order, [amount]);
      else amounts.push(amount);
      sum += amount;
    }
    if (sum !== account.revenue) accountsOff++;
    revenue += account.revenue;
  }
  let placed = 0;
  let rejected = 0;
  let chargedOnce = 0;
  let chargedTwice = 0;
  let lost = 0;
  let rejectedButCharged = 0;
  let wrongAmount = 0;
  let placedTotal = 0;
  for (const [id, answer] of answers) {
    const amounts = charged.get(id) ?? [];
    if (amounts.length > 1) chargedTwice++;
    if (answer.status === 'placed') {
      placed++;
      placedTotal += answer.total;
      if (amounts.length === 0) lost++;
      else if (amounts.length === 1 && amounts[0] === answer.total) chargedOnce++;
      else if (amounts.length === 1) wrongAmount++;
    } else {
      rejected++;
      if (amounts.length > 0) rejectedButCharged++;
    }
  }
  const unknown = [...charged.keys()].filter((id) => !answers.has(id)).length;
  const ok = chargedOnce === placed && chargedTwice === 0 && rejectedButCharged === 0 && unknown === 0 && accountsOff === 0 && revenue === placedTotal;
  return { placed, rejected, chargedOnce, chargedTwice, lost, rejectedButCharged, wrongAmount, unknown, placedTotal, revenue, accountsOff, ok };
}
