// The actors of the Savina-style suite (bench/savina.bench.ts). Worker threads import this module
// again by URL. Each workload reports completion to a Done actor on the main thread.

import { defineActor, type ActorRef, type ActorSystem, type AnyDefinition } from 'troupe';

/**
 * A ref to an actor of the same kind, loosely typed: a definition cannot name its own type in
 * its own init (TypeScript's circularity rule). Any ActorRef is one.
 */
export interface Peer {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  tell(type: string, ...rest: any[]): void;
}

/** Main thread: each 'done' wakes the oldest waiter of nextDone(). */
const waiters: (() => void)[] = [];
export function nextDone(): Promise<void> {
  return new Promise((resolve) => waiters.push(resolve));
}
export const Done = defineActor(import.meta.url, 'SavinaDone', {
  init: () => ({}),
  handlers: {
    done: () => {
      waiters.shift()?.();
    },
  },
});
type DoneRef = ActorRef<typeof Done>;

/** Ping-pong: bounces a counter with its peer until it reaches zero. */
export const Bouncer = defineActor(import.meta.url, 'Bouncer', {
  init: () => ({ peer: null as Peer | null, done: null as DoneRef | null }),
  handlers: {
    pair: (ctx, m: { peer: Peer; done: DoneRef }) => {
      ctx.state.peer = m.peer;
      ctx.state.done = m.done;
    },
    ball: (ctx, n: number) => {
      if (n === 0) ctx.state.done!.tell('done');
      else ctx.state.peer!.tell('ball', n - 1);
    },
  },
});

/** Counting: counts what it receives, then reports the total to whoever asks. */
export const Tally2 = defineActor(import.meta.url, 'Tally2', {
  init: () => ({ n: 0 }),
  handlers: {
    inc: (ctx) => {
      ctx.state.n++;
    },
    total: (ctx) => {
      const n = ctx.state.n;
      ctx.state.n = 0;
      return n;
    },
  },
});
export const Producer = defineActor(import.meta.url, 'Producer', {
  init: () => ({}),
  handlers: {
    produce: async (_ctx, m: { to: ActorRef<typeof Tally2>; n: number }) => {
      for (let i = 0; i < m.n; ) {
        const end = Math.min(m.n, i + 2048);
        for (; i < end; i++) m.to.tell('inc');
        await new Promise((resolve) => setImmediate(resolve));
      }
      return m.to.ask('total');
    },
  },
});

/** Thread ring: passes a token to the next member until it has made `hops` hops. */
export const RingNode = defineActor(import.meta.url, 'RingNode', {
  init: () => ({ next: null as Peer | null, done: null as DoneRef | null }),
  handlers: {
    link: (ctx, m: { next: Peer; done: DoneRef }) => {
      ctx.state.next = m.next;
      ctx.state.done = m.done;
    },
    token: (ctx, hops: number) => {
      if (hops === 0) ctx.state.done!.tell('done');
      else ctx.state.next!.tell('token', hops - 1);
    },
  },
});

/** Fork-join throughput: a little arithmetic per message; reports after `expect` messages. */
export function work(x: number): number {
  let acc = x;
  for (let i = 0; i < 50; i++) acc = Math.sqrt(acc * acc + i);
  return acc;
}
export const Forked = defineActor(import.meta.url, 'Forked', {
  init: () => ({ left: 0, done: null as DoneRef | null, acc: 0 }),
  handlers: {
    expect: (ctx, m: { n: number; done: DoneRef }) => {
      ctx.state.left = m.n;
      ctx.state.done = m.done;
    },
    job: (ctx, x: number) => {
      ctx.state.acc += work(x);
      if (--ctx.state.left === 0) ctx.state.done!.tell('done');
    },
  },
});

/** Fork-join creation: spawns n children that each greet it once and stop. */
export const Greeter = defineActor(import.meta.url, 'Greeter', {
  init: (parent: ActorRef<typeof Creator>) => ({ parent }),
  onStart: (ctx) => {
    ctx.state.parent.tell('hello');
    void ctx.stop();
  },
  handlers: {},
});
export const Creator = defineActor(import.meta.url, 'Creator', {
  init: () => ({ left: 0, done: null as DoneRef | null }),
  handlers: {
    create: (ctx, m: { n: number; done: DoneRef }) => {
      ctx.state.left = m.n;
      ctx.state.done = m.done;
      for (let i = 0; i < m.n; i++) ctx.spawn(Greeter, ctx.self);
    },
    hello: (ctx) => {
      if (--ctx.state.left === 0) ctx.state.done!.tell('done');
    },
  },
});

/** Chameneos: creatures meet at a mall in pairs and change colour, until `meetings` are done. */
type Colour = 0 | 1 | 2;
export function complement(a: Colour, b: Colour): Colour {
  return a === b ? a : ((3 - a - b) as Colour);
}
export const Chameneo = defineActor(import.meta.url, 'Chameneo', {
  init: (m: { mall: Peer; colour: Colour }) => ({ ...m, meetings: 0 }),
  handlers: {
    go: (ctx) => {
      ctx.state.mall.tell('meet', { who: ctx.self, colour: ctx.state.colour });
    },
    mate: (ctx, colour: Colour) => {
      ctx.state.colour = complement(ctx.state.colour, colour);
      ctx.state.meetings++;
      ctx.state.mall.tell('meet', { who: ctx.self, colour: ctx.state.colour });
    },
    stop: () => undefined,
  },
});
export const Mall = defineActor(import.meta.url, 'Mall', {
  init: () => ({ left: 0, waiting: null as { who: Peer; colour: Colour } | null, done: null as DoneRef | null, stopped: 0 }),
  handlers: {
    open: (ctx, m: { meetings: number; done: DoneRef }) => {
      ctx.state.left = m.meetings;
      ctx.state.done = m.done;
      ctx.state.waiting = null;
    },
    meet: (ctx, m: { who: Peer; colour: Colour }) => {
      const s = ctx.state;
      if (s.left === 0) {
        m.who.tell('stop');
        return;
      }
      if (s.waiting === null) {
        s.waiting = m;
        return;
      }
      s.waiting.who.tell('mate', m.colour);
      m.who.tell('mate', s.waiting.colour);
      s.waiting = null;
      if (--s.left === 0) s.done!.tell('done');
    },
  },
});

/** Big: each member pings random members and waits for each pong before the next ping. */
export const BigNode = defineActor(import.meta.url, 'BigNode', {
  init: (seed: number) => ({ peers: [] as Peer[], left: 0, done: null as DoneRef | null, rnd: seed >>> 0 || 1 }),
  handlers: {
    peers: (ctx, m: { peers: Peer[]; pings: number; done: DoneRef }) => {
      ctx.state.peers = m.peers;
      ctx.state.left = m.pings;
      ctx.state.done = m.done;
    },
    start: (ctx) => {
      const s = ctx.state;
      s.rnd ^= s.rnd << 13;
      s.rnd ^= s.rnd >>> 17;
      s.rnd ^= s.rnd << 5;
      s.peers[(s.rnd >>> 0) % s.peers.length]!.tell('ping', ctx.self);
    },
    ping: (_ctx, from: Peer) => {
      from.tell('pong');
    },
    pong: (ctx) => {
      const s = ctx.state;
      if (--s.left === 0) {
        s.done!.tell('done');
        return;
      }
      s.rnd ^= s.rnd << 13;
      s.rnd ^= s.rnd >>> 17;
      s.rnd ^= s.rnd << 5;
      s.peers[(s.rnd >>> 0) % s.peers.length]!.tell('ping', ctx.self);
    },
  },
});

/** Skynet: each node spawns ten children down to `levels`; leaves answer their number, parents the sum. */
export const Skynet = defineActor(import.meta.url, 'Skynet', {
  // Fields named one by one: V8 (Node 20) takes ~2.3 us for `{ ...m, sum: 0, left: 10 }`, which
  // would be most of what this bench measures per actor.
  init: (m: { num: number; size: number; parent: Peer | null; done: ActorRef<typeof ResultSink> | null; spread: boolean }) => ({
    num: m.num,
    size: m.size,
    parent: m.parent,
    done: m.done,
    spread: m.spread,
    sum: 0,
    left: 10,
  }),
  onStart: (ctx) => {
    const s = ctx.state;
    if (s.size === 1) {
      s.parent!.tell('sum', s.num);
      void ctx.stop();
      return;
    }
    const size = s.size / 10;
    for (let i = 0; i < 10; i++) {
      // The first level spreads over the threads; below it every subtree stays on its thread.
      ctx.spawn(Skynet, { num: s.num + i * size, size, parent: ctx.self, done: null, spread: false }, s.spread ? { placement: 'balanced' } : undefined);
    }
  },
  handlers: {
    sum: (ctx, n: number) => {
      const s = ctx.state;
      s.sum += n;
      if (--s.left > 0) return;
      if (s.parent !== null) s.parent.tell('sum', s.sum);
      else s.done!.tell('result', s.sum);
      void ctx.stop();
    },
  },
});

/** Main thread: resolves with the skynet result. */
let resultWaiter: ((n: number) => void) | null = null;
export function nextResult(): Promise<number> {
  return new Promise((resolve) => (resultWaiter = resolve));
}
export const ResultSink = defineActor(import.meta.url, 'ResultSink', {
  init: () => ({}),
  handlers: {
    result: (_ctx, n: number) => {
      const r = resultWaiter;
      resultWaiter = null;
      r?.(n);
    },
  },
});

// ---- the troupe side of the workloads the scaling run repeats (shared with savina.bench.ts) ----

/** Each returns one run of the workload (the actors are spawned once, here). */
export interface Workload {
  readonly name: string;
  readonly ops: number;
  readonly run: () => Promise<void>;
  /** Its actors, in the order it spawned them. */
  readonly actors: readonly ActorRef<AnyDefinition>[];
}

/**
 * Worker threads, round robin: actor i goes to thread 1 + i mod workers (pinned there). Not
 * pinned (`pin` false): the default placement, which a planner may change.
 */
const spread = (system: ActorSystem, i: number, pin = true) => (pin ? { placement: { thread: 1 + (i % system.threads) } } : undefined);

export function forkJoinWorkload(system: ActorSystem, done: DoneRef, k: number, jobs: number, pin = true): Workload {
  const actors = Array.from({ length: k }, (_, i) => system.spawn(Forked, undefined, spread(system, i, pin)));
  return {
    name: `fork-join throughput (${k} actors)`,
    ops: jobs,
    actors,
    run: async () => {
      await Promise.all(actors.map((a) => a.ask('expect', { n: jobs / k, done })));
      const all = Promise.all(Array.from({ length: k }, () => nextDone()));
      for (let i = 0; i < jobs; i++) {
        const actor = actors[i % k]!;
        try {
          actor.tell('job', i);
        } catch {
          // Past the sender-side high-water mark (few workers, much work): wait for room.
          await actor.send('job', i, { timeoutMs: 60_000 });
        }
      }
      await all;
    },
  };
}

export function chameneosWorkload(system: ActorSystem, done: DoneRef, creatures: number, meetings: number, pin = true): Workload {
  const mall = system.spawn(Mall, undefined, pin ? { placement: { thread: 1 } } : undefined);
  const all = Array.from({ length: creatures }, (_, i) => system.spawn(Chameneo, { mall, colour: (i % 3) as Colour }, spread(system, i, pin)));
  return {
    name: `chameneos (${creatures} creatures)`,
    ops: meetings,
    actors: [mall, ...all],
    run: async () => {
      await mall.ask('open', { meetings, done });
      const finished = nextDone();
      for (const c of all) c.tell('go');
      await finished;
    },
  };
}

export function bigWorkload(system: ActorSystem, done: DoneRef, n: number, pings: number, pin = true): Workload {
  const nodes = Array.from({ length: n }, (_, i) => system.spawn(BigNode, i + 1, spread(system, i, pin)));
  return {
    name: `big (${n} actors)`,
    ops: n * pings * 2,
    actors: nodes,
    run: async () => {
      await Promise.all(nodes.map((node) => node.ask('peers', { peers: nodes, pings, done })));
      const finished = Promise.all(nodes.map(() => nextDone()));
      for (const node of nodes) node.tell('start');
      await finished;
    },
  };
}

export function skynetWorkload(system: ActorSystem, size: number): Workload {
  const sink = system.spawn(ResultSink, undefined, { placement: { thread: 0 } });
  const expected = (size * (size - 1)) / 2;
  return {
    name: `skynet (${size.toLocaleString('en')} leaves)`,
    ops: size,
    actors: [sink],
    run: async () => {
      const result = nextResult();
      system.spawn(Skynet, { num: 0, size, parent: null, done: sink, spread: true }, { placement: { thread: 1 } });
      if ((await result) !== expected) throw new Error('skynet: wrong sum');
    },
  };
}

/** A CPU-heavy actor with little traffic: each job is `rounds` of work(). */
export const Cruncher = defineActor(import.meta.url, 'Cruncher', {
  init: () => ({ left: 0, done: null as DoneRef | null, acc: 0 }),
  handlers: {
    expect: (ctx, m: { n: number; done: DoneRef }) => {
      ctx.state.left = m.n;
      ctx.state.done = m.done;
    },
    job: (ctx, rounds: number) => {
      for (let r = 0; r < rounds; r++) ctx.state.acc = work(ctx.state.acc + r) % 1e6;
      if (--ctx.state.left === 0) ctx.state.done!.tell('done');
    },
  },
});

/**
 * A skewed load: `k` CPU-heavy actors, spawned with the default placement, then all moved onto
 * thread 1 (as a burst of spawns can land them), each given `jobs` jobs of `rounds` work.
 */
export function skewWorkload(system: ActorSystem, done: DoneRef, k: number, jobs: number, rounds: number): Workload & { skew(): Promise<void> } {
  const actors = Array.from({ length: k }, () => system.spawn(Cruncher));
  return {
    name: `skew (${k} CPU-heavy actors)`,
    ops: k * jobs,
    actors,
    skew: async () => {
      for (const a of actors) await system.move(a, 1);
    },
    run: async () => {
      await Promise.all(actors.map((a) => a.ask('expect', { n: jobs, done })));
      const all = Promise.all(actors.map(() => nextDone()));
      for (let j = 0; j < jobs; j++) for (const a of actors) a.tell('job', rounds);
      await all;
    },
  };
}
