import { describe, expect, it } from 'vitest';
import { checkBooks, type AccountState } from '../../examples/order-check.js';
import type { Answer } from '../../examples/order-entities.js';

const placed = (id: string, total: number): Answer => ({ status: 'placed', id, total, pid: 1, redelivered: false, alone: false, replay: false });
const rejected = (id: string): Answer => ({ status: 'rejected', id, reason: 'quantity 0 is out of range', pid: 1, redelivered: false, alone: false, replay: false });
const answers = new Map([
  ['o-1', placed('o-1', 100)],
  ['o-2', placed('o-2', 250)],
  ['o-3', rejected('o-3')],
]);
const account = (...charges: [string, number][]): AccountState => ({ charges, revenue: charges.reduce((sum, [, amount]) => sum + amount, 0) });

describe('checkBooks', () => {
  it('holds when every placed order is charged once with its total and nothing else is charged', () => {
    const books = checkBooks(answers, [account(['o-1', 100]), account(['o-2', 250]), account()]);
    expect(books).toEqual({
      placed: 2,
      rejected: 1,
      chargedOnce: 2,
      chargedTwice: 0,
      lost: 0,
      rejectedButCharged: 0,
      wrongAmount: 0,
      unknown: 0,
      placedTotal: 350,
      revenue: 350,
      accountsOff: 0,
      ok: true,
    });
  });

  it.each([
    ['a charge twice, in one account', [account(['o-1', 100], ['o-1', 100]), account(['o-2', 250])], { chargedTwice: 1 }],
    ['a charge twice, in two accounts', [account(['o-1', 100]), account(['o-1', 100], ['o-2', 250])], { chargedTwice: 1 }],
    ['a placed order charged nowhere', [account(['o-1', 100])], { lost: 1 }],
    ['a rejected order charged', [account(['o-1', 100], ['o-2', 250], ['o-3', 5])], { rejectedButCharged: 1 }],
    ['a charge of another amount', [account(['o-1', 100], ['o-2', 200])], { wrongAmount: 1 }],
    ['a charge for an order never answered', [account(['o-1', 100], ['o-2', 250], ['o-9', 1])], { unknown: 1 }],
    ['an account whose revenue is not its charges', [{ charges: [['o-1', 100]], revenue: 90 }, account(['o-2', 250])], { accountsOff: 1 }],
    ['no accounts at all', [], { lost: 2 }],
  ] as [string, AccountState[], Record<string, number>][])('fails on %s', (_name, accounts, counts) => {
    const books = checkBooks(answers, accounts);
    expect(books).toMatchObject(counts);
    expect(books.ok).toBe(false);
  });
});
