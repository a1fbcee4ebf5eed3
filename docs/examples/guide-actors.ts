// guide-actors.ts: the actors of docs/guide.md. No createSystem here: every worker thread that
// hosts one of these actors imports this module, and runs its top-level code again.
import { threadId } from 'node:worker_threads';
import { defineActor, type ActorRef, type AnyDefinition } from 'troupe';

/** Answers with the id of the thread it runs on (0 is the main thread). */
export const Where = defineActor(import.meta.url, 'Where', {
  init: () => null,
  handlers: {
    thread: () => threadId,
  },
});

/** Keeps a log of what it was told, in the order it handled it. */
export const Log = defineActor(import.meta.url, 'Log', {
  init: () => [] as string[],
  handlers: {
    note: (ctx, line: string) => { ctx.state.push(line); },
    lines: (ctx) => ctx.state,
  },
});

/** A balance that refuses bad amounts (RangeError) and has a bug (crash). */
export const Account = defineActor(import.meta.url, 'Account', {
  init: (args: { opening: number }) => ({ balance: args.opening }),
  handlers: {
    deposit: (ctx, amount: number) => {
      if (amount <= 0) throw new RangeError(`a deposit must be positive, got ${amount}`);
      ctx.state.balance += amount;
      return ctx.state.balance;
    },
    balance: (ctx) => ctx.state.balance,
    crash: () => { throw new Error('a bug'); },
  },
});

/** Supervises its accounts: a bad amount is resumed (state kept), anything else restarts. */
export const Bank = defineActor(import.meta.url, 'Bank', {
  init: () => null,
  supervision: {
    strategy: 'one-for-one',
    maxRestarts: 3,
    withinMs: 10_000,
    decide: (error) => (error.name === 'RangeError' ? 'resume' : 'restart'),
  },
  handlers: {
    open: (ctx, opening: number) => ctx.spawn(Account, { opening }),
  },
});

/** In at-least-once mode: fails the first delivery of each job, then succeeds. */
export const Job = defineActor(import.meta.url, 'Job', {
  init: () => null,
  handlers: {
    run: (ctx, name: string) => {
      if (!ctx.redelivered) throw new Error(`${name}: first attempt fails`);
      return `${name} done on attempt ${ctx.deliveryCount}`;
    },
  },
});

/** Doubles each number it gets and reports it to `to`. */
export const Doubler = defineActor(import.meta.url, 'Doubler', {
  init: (args: { to: ActorRef<AnyDefinition> }) => args,
  handlers: {
    n: (ctx, n: number) => { (ctx.state.to as ActorRef<typeof Log>).tell('note', String(n * 2)); },
  },
});

/** Takes `ms` of real time to answer. */
export const Sleeper = defineActor(import.meta.url, 'Sleeper', {
  init: () => null,
  handlers: {
    sleep: (_ctx, ms: number) => new Promise<string>((resolve) => setTimeout(() => resolve('awake'), ms)),
  },
});
