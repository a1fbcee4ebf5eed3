// guide-entities.ts: the entities of docs/guide.md. Like actors, they live in a module of their
// own: the worker thread a key lives on imports it.
import { defineEntity } from 'troupe';

/** A wallet per key. What `transfer` tells the other wallet goes once this handler has committed. */
export const Wallet = defineEntity(import.meta.url, 'Wallet', {
  init: (key: string) => ({ owner: key, balance: 0 }), // once in the key's whole life
  handlers: {
    deposit: (ctx, amount: number) => { ctx.state.balance += amount; },
    transfer: (ctx, m: { to: string; amount: number }) => {
      if (m.amount > ctx.state.balance) return 'refused';
      ctx.state.balance -= m.amount;
      ctx.entity(Wallet, m.to).tell('deposit', m.amount); // held for this handler's commit
      return 'done';
    },
    balance: (ctx) => ctx.state.balance,
  },
});
