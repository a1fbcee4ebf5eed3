// Actors used by the benchmarks. Worker threads import this module again by URL.

import { defineActor, defineEntity, type ActorRef } from 'troupe';

let notify: (() => void) | null = null;
/** Main thread: a promise that the Done actor resolves. */
export function nextDone(): Promise<void> {
  return new Promise((resolve) => (notify = resolve));
}

export const Done = defineActor(import.meta.url, 'Done', {
  init: () => ({}),
  handlers: {
    done: () => {
      const n = notify;
      notify = null;
      n?.();
    },
  },
});

export const Sink = defineActor(import.meta.url, 'Sink', {
  init: () => ({ count: 0, expected: 0, sum: 0, done: null as ActorRef<typeof Done> | null }),
  handlers: {
    expect: (ctx, m: { n: number; done: ActorRef<typeof Done> }) => {
      ctx.state.count = 0;
      ctx.state.sum = 0;
      ctx.state.expected = m.n;
      ctx.state.done = m.done;
    },
    inc: (ctx, m: { n: number; id: string }) => {
      ctx.state.sum += m.n;
      if (++ctx.state.count === ctx.state.expected) ctx.state.done!.tell('done');
    },
    sum: (ctx) => ctx.state.sum,
  },
});

export const Blaster = defineActor(import.meta.url, 'Blaster', {
  init: () => ({}),
  handlers: {
    // Sends in chunks and yields between them, so the runtime publishes and the spill stays small.
    blast: async (_ctx, m: { target: ActorRef<typeof Sink>; n: number }) => {
      const chunk = 2048;
      for (let i = 0; i < m.n; ) {
        const end = Math.min(m.n, i + chunk);
        for (; i < end; i++) m.target.tell('inc', { n: i & 1023, id: 'abc' });
        await new Promise((resolve) => setImmediate(resolve));
      }
    },
  },
});

export const Echo = defineActor(import.meta.url, 'Echo', {
  init: () => ({ n: 0 }),
  handlers: {
    inc: (ctx, x: number) => {
      ctx.state.n++;
      return x + 1;
    },
  },
});

/** Same-thread pair: A streams to its local child B. */
export const Counter = defineActor(import.meta.url, 'Counter', {
  init: () => ({ count: 0 }),
  handlers: {
    inc: (ctx) => {
      ctx.state.count++;
    },
    get: (ctx) => ctx.state.count,
  },
});

/** Streams to its local child in chunks, yielding between them so the child drains as it goes. */
export const Streamer = defineActor(import.meta.url, 'Streamer', {
  init: () => ({ child: null as ActorRef<typeof Counter> | null }),
  handlers: {
    /** With `capacity`, the child's mailbox is bounded (the first call decides). */
    stream: async (ctx, m: { n: number; chunk: number; capacity?: number }) => {
      const child = (ctx.state.child ??= ctx.spawn(Counter, undefined, m.capacity === undefined ? undefined : { mailbox: { capacity: m.capacity } }));
      for (let i = 0; i < m.n; ) {
        const end = Math.min(m.n, i + m.chunk);
        for (; i < end; i++) child.tell('inc');
        if (i < m.n) await new Promise((resolve) => setImmediate(resolve));
      }
      return child;
    },
  },
});

export const Idle = defineActor(import.meta.url, 'Idle', {
  init: () => ({ n: 0 }),
  handlers: {
    ping: () => 'pong',
  },
});

export const Spawner = defineActor(import.meta.url, 'Spawner', {
  init: () => ({ last: null as ActorRef<typeof Idle> | null }),
  handlers: {
    spawnMany: (ctx, n: number) => {
      let last: ActorRef<typeof Idle> | null = null;
      for (let i = 0; i < n; i++) last = ctx.spawn(Idle, undefined);
      ctx.state.last = last;
      return last;
    },
    stopAll: async (ctx) => {
      await ctx.stop(ctx.self);
    },
  },
});

/** Counts 'done' notices and resolves nextDone() once `k` have come. */
export const Tally = defineActor(import.meta.url, 'Tally', {
  init: () => ({ left: 0 }),
  handlers: {
    expect: (ctx, k: number) => {
      ctx.state.left = k;
    },
    done: (ctx) => {
      if (--ctx.state.left === 0) {
        const n = notify;
        notify = null;
        n?.();
      }
    },
  },
});

/** Counts what it is sent; reports its count on request (pool members, topic subscribers). */
export const Counting = defineActor(import.meta.url, 'Counting', {
  init: () => ({ count: 0, expected: 0, tally: null as ActorRef<typeof Tally> | null }),
  handlers: {
    expect: (ctx, m: { n: number; tally: ActorRef<typeof Tally> | null }) => {
      ctx.state.count = 0;
      ctx.state.expected = m.n;
      ctx.state.tally = m.tally;
    },
    inc: (ctx, _m: unknown) => {
      if (++ctx.state.count === ctx.state.expected) ctx.state.tally?.tell('done');
    },
    count: (ctx) => ctx.state.count,
  },
});

/** The shape a user writes first: one synchronous loop of tells, no yields. */
export const NaiveBlaster = defineActor(import.meta.url, 'NaiveBlaster', {
  init: () => ({}),
  handlers: {
    blast: (_ctx, m: { target: ActorRef<typeof Sink>; n: number }) => {
      for (let i = 0; i < m.n; i++) m.target.tell('inc', { n: i & 1023, id: 'abc' });
    },
  },
});

/** A slow consumer: each message costs it about `spinUs` microseconds of CPU. */
export const SlowSink = defineActor(import.meta.url, 'SlowSink', {
  init: () => ({ count: 0, expected: 0, spinUs: 0, done: null as ActorRef<typeof Done> | null }),
  handlers: {
    expect: (ctx, m: { n: number; spinUs: number; done: ActorRef<typeof Done> }) => {
      Object.assign(ctx.state, { count: 0, expected: m.n, spinUs: m.spinUs, done: m.done });
    },
    work: (ctx, _m: { i: number; pad: string }) => {
      const until = performance.now() + ctx.state.spinUs / 1000;
      while (performance.now() < until);
      if (++ctx.state.count === ctx.state.expected) ctx.state.done!.tell('done');
    },
  },
});

/** Spawns children on request (a parent for the supervision benchmark). */
export const Nursery = defineActor(import.meta.url, 'Nursery', {
  init: () => ({}),
  handlers: {
    sink: (ctx) => ctx.spawn(Sink, undefined),
    /** On thread 1: the parent (on another thread) decides after each crash. */
    crasher: (ctx) => ctx.spawn(Crasher, undefined, { placement: { thread: 1 } }),
    streamer: (ctx) => ctx.spawn(Streamer, undefined),
  },
});

/** Fails on 'crash'; answers 'ping'. */
/** Ends its whole worker thread (as a native crash would): the thread-recovery bench. */
export const Killer = defineActor(import.meta.url, 'Killer', {
  init: () => ({}),
  handlers: {
    exit: () => {
      process.exit(1);
    },
  },
});

export const Crasher = defineActor(import.meta.url, 'Crasher', {
  init: () => ({}),
  handlers: {
    crash: () => {
      throw new Error('crash on purpose');
    },
    ping: () => 'pong',
  },
});

/** Sits in an async handler for `ms` (a slow neighbour: its message stays in custody meanwhile). */
export const Dawdler = defineActor(import.meta.url, 'Dawdler', {
  init: () => ({}),
  handlers: {
    nap: async (_ctx, ms: number) => {
      await new Promise((resolve) => setTimeout(resolve, ms));
    },
  },
});

/** Holds in 'hold' until its thread dies; counts 'item's (a backlog that waits behind the hold). */
export const Keeper = defineActor(import.meta.url, 'Keeper', {
  init: () => ({ count: 0 }),
  handlers: {
    hold: async (ctx) => {
      if (ctx.redelivered) return;
      await new Promise(() => undefined);
    },
    item: (ctx, _n: number) => {
      ctx.state.count++;
    },
    count: (ctx) => ctx.state.count,
  },
});

/** The V8 heap in use on the thread it runs on, after a full GC (run with --expose-gc). */
export const HeapProbe = defineActor(import.meta.url, 'HeapProbe', {
  handlers: {
    heap: () => {
      const gc = (globalThis as { gc?: () => void }).gc;
      gc?.();
      gc?.();
      return process.memoryUsage().heapUsed;
    },
  },
});

/** An account by key (entities.bench.ts): deposits, and its balance. */
export const BenchAccount = defineEntity(import.meta.url, 'BenchAccount', {
  init: () => ({ balance: 0 }),
  handlers: {
    deposit: (ctx, n: number) => {
      ctx.state.balance += n;
    },
    balance: (ctx) => ctx.state.balance,
  },
});

/**
 * Durable sends from an actor on a worker thread: `n` sends to the accounts `keys` at once (each
 * stored by its key's thread, not by main); the rate until all resolved, timed on that thread.
 */
export const BenchAccountSender = defineActor(import.meta.url, 'BenchAccountSender', {
  handlers: {
    burst: async (ctx, m: { n: number; keys: string[] }) => {
      const refs = m.keys.map((key) => ctx.entity(BenchAccount, key));
      const t0 = performance.now();
      await Promise.all(Array.from({ length: m.n }, (_, i) => refs[i % refs.length]!.send('deposit', 1)));
      return m.n / ((performance.now() - t0) / 1000);
    },
  },
});

/** The same account as a plain actor: the in-memory baseline of entities.bench.ts. */
export const PlainAccount = defineActor(import.meta.url, 'PlainAccount', {
  init: () => ({ balance: 0 }),
  handlers: {
    deposit: (ctx, n: number) => {
      ctx.state.balance += n;
    },
    balance: (ctx) => ctx.state.balance,
  },
});

/** One link of a chain of three entities (entities.bench.ts): keys `<chain>-0`, `-1`, `-2`; each hop counts and tells the next. */
export const BenchHop = defineEntity(import.meta.url, 'BenchHop', {
  init: () => ({ count: 0 }),
  handlers: {
    hop: (ctx, n: number) => {
      ctx.state.count++;
      const key = ctx.self.id.slice('BenchHop/'.length);
      const link = Number(key.slice(-1));
      if (link < 2) ctx.entity(BenchHop, `${key.slice(0, -1)}${link + 1}`).tell('hop', n);
    },
    count: (ctx) => ctx.state.count,
  },
});
