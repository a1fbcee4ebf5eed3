// A Savina-style suite: eight classic actor workloads, each raced in the same run against the
// baselines that can run it: MessagePort.postMessage between workers, piscina, comlink, and an
// xstate v5 actor system on one thread (fromTransition actors that send to each other).
// Each workload runs `RUNS` times after a warm-up; the median time gives the rate.

import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { wrap } from 'comlink';
import { Piscina } from 'piscina';
import { createActor, fromTransition, type AnyActorRef } from 'xstate';
import { createSystem, type ActorRef, type ActorSystem } from 'troupe';
import { nodeEndpoint } from '../src/runtime/control.js';
import { QUICK, report, type BenchReport, type Measured, type RatioLine } from './lib.js';
import { freshPlanned, plannedTimes, row, settle, type Made, type Planned } from './planned.js';
import {
  Bouncer,
  Creator,
  Done,
  Producer,
  RingNode,
  Tally2,
  bigWorkload,
  chameneosWorkload,
  complement,
  forkJoinWorkload,
  nextDone,
  skewWorkload,
  skynetWorkload,
  work,
} from './savina-actors.js';

const RUNS = QUICK ? 1 : 3;
/** Timed runs of each system in the planner's rows, taken in turns. */
const PLANNED_RUNS = QUICK ? 3 : 7;
const SIZES = {
  pingPong: QUICK ? 20_000 : 100_000,
  counting: QUICK ? 100_000 : 500_000,
  ringNodes: 64,
  ringHops: QUICK ? 20_000 : 100_000,
  forkActors: 16,
  forkJobs: QUICK ? 40_000 : 160_000,
  piscinaJobs: QUICK ? 1000 : 4000,
  comlinkCalls: QUICK ? 1000 : 4000,
  creations: QUICK ? 20_000 : 100_000,
  chameneos: 16,
  meetings: QUICK ? 20_000 : 100_000,
  bigNodes: 64,
  bigPings: QUICK ? 300 : 1000,
  skynet: QUICK ? 100_000 : 1_000_000,
  skynetXstate: QUICK ? 10_000 : 100_000,
};

async function timed(name: string, ops: number, fn: () => Promise<unknown> | unknown): Promise<Measured> {
  await fn(); // warm-up
  const times: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return row(name, ops, times);
}

/**
 * The same workload three times more, its actors spawned with the default placement (not
 * pinned): in a system without the planner, in one with it, and in a second one without it
 * (bench/planned.ts). The name of the planner's row says how long the placement took to settle
 * from the first traffic; the second system's row against the first is the spread of two sets of
 * threads, what the planner's row against the first must clear to mean anything.
 */
async function plannedRows(what: string, ops: number, make: (system: ActorSystem, done: ActorRef<typeof Done>) => Made, p: Planned): Promise<Measured[]> {
  const t = await plannedTimes(make, p, PLANNED_RUNS);
  return [
    row(`troupe, ${what}, default placement, planner off`, ops, t.off),
    row(`troupe, ${what}, default placement, planner on (${t.moves} moves, settled in ${Math.round(t.settledMs)} ms)`, ops, t.on),
    row(`troupe, ${what}, default placement, planner off, a second system (two sets of threads, nothing else different)`, ops, t.twin!),
  ];
}

/** An xstate v5 actor whose transition may send to other such actors (an in-thread actor system). */
function xs<S, E extends { type: string }>(initial: S, step: (state: S, event: E) => S): AnyActorRef {
  return createActor(fromTransition(step, initial)).start();
}

/** Resolves once `n` xstate-side completions were signalled through `signal()`. */
function completion(): { signal: () => void; wait: () => Promise<void> } {
  let resolve: (() => void) | null = null;
  return {
    signal: () => {
      const r = resolve;
      resolve = null;
      r?.();
    },
    wait: () => new Promise<void>((r) => (resolve = r)),
  };
}

function bounceWorkers(): { run: (n: number) => Promise<void>; close: () => Promise<number[]> } {
  const channel = new MessageChannel();
  const workers = [channel.port1, channel.port2].map(
    (port) => new Worker(new URL('./baselines/savina-worker.mjs', import.meta.url), { workerData: { port }, transferList: [port as never] }),
  );
  return {
    run: (n) =>
      new Promise<void>((resolve) => {
        let pending = 1;
        for (const w of workers) w.once('message', () => --pending === 0 && resolve());
        // Only the worker that sees 0 reports; the other listener is removed below.
        workers[0]!.postMessage({ start: n });
      }).finally(() => workers.forEach((w) => w.removeAllListeners('message'))),
    close: () => Promise.all(workers.map((w) => w.terminate())),
  };
}

function forkWorkers(count: number): { run: (jobs: number) => Promise<void>; close: () => Promise<number[]> } {
  const ports: MessagePort[] = [];
  const workers = Array.from({ length: count }, () => {
    const channel = new MessageChannel();
    ports.push(channel.port1);
    return new Worker(new URL('./baselines/savina-worker.mjs', import.meta.url), { workerData: { port: channel.port2 }, transferList: [channel.port2 as never] });
  });
  return {
    run: async (jobs) => {
      const each = jobs / count;
      const done = Promise.all(workers.map((w) => new Promise<void>((resolve) => w.once('message', () => resolve()))));
      for (const w of workers) w.postMessage({ expect: each });
      for (let i = 0; i < jobs; i++) ports[i % count]!.postMessage({ job: i });
      await done;
    },
    close: () => Promise.all(workers.map((w) => w.terminate())),
  };
}

async function pingPong(system: ActorSystem, done: ActorRef<typeof Done>, _planned?: Planned): Promise<BenchReport> {
  const n = SIZES.pingPong;
  const pair = async (threadA: number, threadB: number) => {
    const a = system.spawn(Bouncer, undefined, { placement: { thread: threadA } });
    const b = system.spawn(Bouncer, undefined, { placement: { thread: threadB } });
    await a.ask('pair', { peer: b, done });
    await b.ask('pair', { peer: a, done });
    return async () => {
      const finished = nextDone();
      a.tell('ball', n);
      await finished;
    };
  };
  const cross = await pair(1, 2);
  const local = await pair(1, 1);
  const pm = bounceWorkers();
  const fin = completion();
  let peer: AnyActorRef | null = null;
  const bounce = (_: null, e: { type: 'ball'; n: number }, self: () => AnyActorRef): null => {
    if (e.n === 0) fin.signal();
    else self().send({ type: 'ball', n: e.n - 1 });
    return null;
  };
  const xa: AnyActorRef = xs(null, (s: null, e: { type: 'ball'; n: number }) => bounce(s, e, () => peer!));
  peer = xs(null, (s: null, e: { type: 'ball'; n: number }) => bounce(s, e, () => xa));
  const measured = [
    await timed('troupe, two threads', n, cross),
    await timed('troupe, same thread', n, local),
    await timed('postMessage, two workers', n, () => pm.run(n)),
    await timed('xstate v5, one thread', n, () => {
      const w = fin.wait();
      xa.send({ type: 'ball', n });
      return w;
    }),
  ];
  await pm.close();
  return workload('ping-pong', measured, [
    [0, 2],
    [1, 3],
  ]);
}

async function counting(system: ActorSystem, _done: ActorRef<typeof Done>, planned: Planned): Promise<BenchReport> {
  const n = SIZES.counting;
  const tally = system.spawn(Tally2, undefined, { placement: { thread: 2 } });
  const producer = system.spawn(Producer, undefined, { placement: { thread: 1 } });
  const localTally = system.spawn(Tally2, undefined, { placement: { thread: 1 } });
  let count = 0;
  const xsCounter = xs(0, (s: number) => (count = s + 1));
  const comlinkWorker = new Worker(new URL('./baselines/comlink-worker.mjs', import.meta.url));
  const api = wrap<{ inc(x: number): number }>(nodeEndpoint(comlinkWorker));
  const m = SIZES.comlinkCalls;
  const measured = [
    await timed('troupe, producer and counter on two threads', n, () => producer.ask('produce', { to: tally, n }, { timeoutMs: 60_000 })),
    await timed('troupe, same thread', n, () => producer.ask('produce', { to: localTally, n }, { timeoutMs: 60_000 })),
    await timed('comlink, one call per count (256 in flight)', m, async () => {
      for (let i = 0; i < m; i += 256) await Promise.all(Array.from({ length: Math.min(256, m - i) }, () => api.inc(1)));
    }),
    await timed('xstate v5, one thread', n, async () => {
      for (let i = 0; i < n; i++) xsCounter.send({ type: 'inc' });
      if (count === 0) throw new Error('xstate counter did not count');
    }),
  ];
  await comlinkWorker.terminate();
  measured.push(
    ...(await plannedRows('producer and counter', n, (sys) => {
      const t = sys.spawn(Tally2);
      const p = sys.spawn(Producer);
      return { run: () => p.ask('produce', { to: t, n }, { timeoutMs: 60_000 }), actors: [t, p] };
    }, planned)),
  );
  return workload('counting', measured, [
    [0, 2],
    [1, 3],
    [5, 3],
    [5, 4],
    [6, 4],
  ]);
}

async function threadRing(system: ActorSystem, done: ActorRef<typeof Done>, planned: Planned): Promise<BenchReport> {
  const hops = SIZES.ringHops;
  const nodes = Array.from({ length: SIZES.ringNodes }, (_, i) => system.spawn(RingNode, undefined, { placement: { thread: 1 + (i % system.threads) } }));
  await Promise.all(nodes.map((node, i) => node.ask('link', { next: nodes[(i + 1) % nodes.length]!, done })));
  const pm = bounceWorkers();
  const fin = completion();
  const xsNodes: AnyActorRef[] = [];
  for (let i = 0; i < SIZES.ringNodes; i++) {
    xsNodes.push(
      xs(null, (_: null, e: { type: 'token'; hops: number }) => {
        if (e.hops === 0) fin.signal();
        else xsNodes[(i + 1) % xsNodes.length]!.send({ type: 'token', hops: e.hops - 1 });
        return null;
      }),
    );
  }
  const measured = [
    await timed(`troupe, ${SIZES.ringNodes} actors over the workers`, hops, async () => {
      const finished = nextDone();
      nodes[0]!.tell('token', hops);
      await finished;
    }),
    await timed('postMessage, token between two workers', hops, () => pm.run(hops)),
    await timed(`xstate v5, ${SIZES.ringNodes} actors on one thread`, hops, () => {
      const w = fin.wait();
      xsNodes[0]!.send({ type: 'token', hops });
      return w;
    }),
  ];
  await pm.close();
  measured.push(
    ...(await plannedRows(`${SIZES.ringNodes} actors`, hops, (sys, d) => {
      const ring = Array.from({ length: SIZES.ringNodes }, () => sys.spawn(RingNode));
      const linked = Promise.all(ring.map((node, i) => node.ask('link', { next: ring[(i + 1) % ring.length]!, done: d })));
      const run = async (): Promise<void> => {
        await linked;
        const finished = nextDone();
        ring[0]!.tell('token', hops);
        await finished;
      };
      return { run, actors: ring };
    }, planned)),
  );
  return workload('thread ring', measured, [
    [0, 1],
    [0, 2],
    [4, 2],
    [4, 3],
    [5, 3],
  ]);
}

async function forkJoin(system: ActorSystem, done: ActorRef<typeof Done>, planned: Planned): Promise<BenchReport> {
  const jobs = SIZES.forkJobs;
  const k = SIZES.forkActors;
  const troupe = forkJoinWorkload(system, done, k, jobs);
  const pm = forkWorkers(system.threads);
  const piscina = new Piscina({ filename: new URL('./baselines/savina-task.mjs', import.meta.url).href, minThreads: system.threads, maxThreads: system.threads });
  const p = SIZES.piscinaJobs;
  let sink = 0;
  const xsActors = Array.from({ length: k }, () => xs(0, (s: number, e: { type: 'job'; x: number }) => (sink = s + work(e.x))));
  const measured = [
    await timed(`troupe, ${k} actors over ${system.threads} workers`, jobs, troupe.run),
    await timed(`postMessage, ${system.threads} workers`, jobs, () => pm.run(jobs)),
    await timed(`piscina, ${system.threads} threads, one task per job`, p, () => Promise.all(Array.from({ length: p }, (_, i) => piscina.run(i)))),
    await timed(`xstate v5, ${k} actors on one thread`, jobs, () => {
      for (let i = 0; i < jobs; i++) xsActors[i % k]!.send({ type: 'job', x: i });
      if (sink === 0) throw new Error('no work done');
    }),
  ];
  await Promise.all([pm.close(), piscina.destroy()]);
  measured.push(...(await plannedRows(`${k} actors`, jobs, (sys, d) => forkJoinWorkload(sys, d, k, jobs, false), planned)));
  return workload('fork-join throughput', measured, [
    [0, 1],
    [0, 2],
    [0, 3],
    [5, 3],
    [5, 4],
    [6, 4],
  ]);
}

async function creation(system: ActorSystem, done: ActorRef<typeof Done>, _planned?: Planned): Promise<BenchReport> {
  const n = SIZES.creations;
  const creator = system.spawn(Creator, undefined, { placement: { thread: 1 } });
  const fin = completion();
  let left = 0;
  const collector = xs(null, () => {
    if (--left === 0) fin.signal();
    return null;
  });
  const greeter = fromTransition((s: null) => s, null);
  const measured = [
    await timed('troupe: spawn, greet the parent, stop', n, async () => {
      const finished = nextDone();
      creator.tell('create', { n, done });
      await finished;
    }),
    await timed('xstate v5: createActor, start, send, stop', n, () => {
      left = n;
      const w = fin.wait();
      for (let i = 0; i < n; i++) {
        const a = createActor(greeter).start();
        collector.send({ type: 'hello' });
        a.stop();
      }
      return w;
    }),
  ];
  return workload('fork-join creation', measured, [[0, 1]]);
}

async function chameneos(system: ActorSystem, done: ActorRef<typeof Done>, planned: Planned): Promise<BenchReport> {
  const meetings = SIZES.meetings;
  const troupe = chameneosWorkload(system, done, SIZES.chameneos, meetings);
  // xstate: the same mall and creatures on one thread.
  const fin = completion();
  let xsLeft = 0;
  let waiting: { who: AnyActorRef; colour: number } | null = null;
  const xsMall: AnyActorRef = xs(null, (_: null, e: { type: 'meet'; who: AnyActorRef; colour: number }) => {
    if (xsLeft === 0) return null;
    if (waiting === null) {
      waiting = { who: e.who, colour: e.colour };
      return null;
    }
    waiting.who.send({ type: 'mate', colour: e.colour });
    e.who.send({ type: 'mate', colour: waiting.colour });
    waiting = null;
    if (--xsLeft === 0) fin.signal();
    return null;
  });
  const xsCreatures: AnyActorRef[] = [];
  for (let i = 0; i < SIZES.chameneos; i++) {
    const index = i;
    xsCreatures.push(
      xs((i % 3) as 0 | 1 | 2, (colour: 0 | 1 | 2, e: { type: 'go' } | { type: 'mate'; colour: 0 | 1 | 2 }) => {
        const next = e.type === 'mate' ? complement(colour, e.colour) : colour;
        xsMall.send({ type: 'meet', who: xsCreatures[index]!, colour: next });
        return next;
      }),
    );
  }
  const measured = [
    await timed(`troupe, ${SIZES.chameneos} creatures over the workers`, meetings, troupe.run),
    await timed(`xstate v5, ${SIZES.chameneos} creatures on one thread`, meetings, () => {
      xsLeft = meetings;
      waiting = null;
      const w = fin.wait();
      for (const c of xsCreatures) c.send({ type: 'go' });
      return w;
    }),
  ];
  measured.push(...(await plannedRows(`${SIZES.chameneos} creatures`, meetings, (sys, d) => chameneosWorkload(sys, d, SIZES.chameneos, meetings, false), planned)));
  return workload('chameneos', measured, [
    [0, 1],
    [3, 1],
    [3, 2],
    [4, 2],
  ]);
}

async function big(system: ActorSystem, done: ActorRef<typeof Done>, planned: Planned): Promise<BenchReport> {
  const n = SIZES.bigNodes;
  const pings = SIZES.bigPings;
  const troupe = bigWorkload(system, done, n, pings);
  const fin = completion();
  let xsLeft = 0;
  const xsNodes: AnyActorRef[] = [];
  const rnd = { x: 1 };
  const pick = (): AnyActorRef => {
    rnd.x ^= rnd.x << 13;
    rnd.x ^= rnd.x >>> 17;
    rnd.x ^= rnd.x << 5;
    return xsNodes[(rnd.x >>> 0) % n]!;
  };
  for (let i = 0; i < n; i++) {
    const index = i;
    xsNodes.push(
      xs(0, (left: number, e: { type: 'start' | 'pong' } | { type: 'ping'; from: number }) => {
        if (e.type === 'ping') {
          xsNodes[e.from]!.send({ type: 'pong' });
          return left;
        }
        const remaining = e.type === 'start' ? pings : left - 1;
        if (remaining === 0) {
          if (--xsLeft === 0) fin.signal();
          return 0;
        }
        pick().send({ type: 'ping', from: index });
        return remaining;
      }),
    );
  }
  const messages = n * pings * 2;
  const measured = [
    await timed(`troupe, ${n} actors over the workers`, messages, troupe.run),
    await timed(`xstate v5, ${n} actors on one thread`, messages, () => {
      xsLeft = n;
      const w = fin.wait();
      for (const node of xsNodes) node.send({ type: 'start' });
      return w;
    }),
  ];
  measured.push(...(await plannedRows(`${n} actors`, messages, (sys, d) => bigWorkload(sys, d, n, pings, false), planned)));
  return workload('big', measured, [
    [0, 1],
    [3, 1],
    [3, 2],
    [4, 2],
  ]);
}

async function skynet(system: ActorSystem): Promise<BenchReport> {
  const size = SIZES.skynet;
  const expected = (size * (size - 1)) / 2;
  const small = SIZES.skynetXstate;
  const troupe = skynetWorkload(system, size);
  const measured = [
    await timed(`troupe, ${size.toLocaleString('en')} leaf actors (all started, answered, stopped)`, size, troupe.run),
    await timed(`xstate v5, ${small.toLocaleString('en')} leaf actors (createActor per node)`, small, () => xsSkynet(small)),
    await timed(`async functions, ${size.toLocaleString('en')} leaves (no actors: the floor)`, size, async () => {
      const node = async (num: number, n: number): Promise<number> => {
        if (n === 1) return num;
        const parts: Promise<number>[] = [];
        for (let i = 0; i < 10; i++) parts.push(node(num + (i * n) / 10, n / 10));
        return (await Promise.all(parts)).reduce((a, b) => a + b, 0);
      };
      if ((await node(0, size)) !== expected) throw new Error('skynet floor: wrong sum');
    }),
  ];
  return workload('skynet', measured, [
    [0, 1],
    [0, 2],
  ]);
}

/** Skynet in xstate: every node an actor; a leaf sends its number to its parent. */
function xsSkynet(size: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const node = (num: number, n: number, parent: AnyActorRef | null): AnyActorRef => {
      const self: AnyActorRef = xs({ sum: 0, left: 10 }, (s: { sum: number; left: number }, e: { type: 'sum'; n: number }) => {
        const next = { sum: s.sum + e.n, left: s.left - 1 };
        if (next.left === 0) {
          if (parent !== null) parent.send({ type: 'sum', n: next.sum });
          else if (next.sum === (size * (size - 1)) / 2) resolve();
          else reject(new Error('xstate skynet: wrong sum'));
        }
        return next;
      });
      if (n === 1) parent!.send({ type: 'sum', n: num });
      else for (let i = 0; i < 10; i++) node(num + (i * n) / 10, n / 10, self);
      return self;
    };
    node(0, size, null);
  });
}

function workload(name: string, measured: Measured[], pairs: [number, number][]): BenchReport {
  const ratios: RatioLine[] = pairs.map(([a, b]) => ({ bench: 'savina', subject: `${name}: ${measured[a]!.name}`, baseline: measured[b]!.name, ratio: measured[a]!.rate / measured[b]!.rate }));
  return { bench: name, measured, ratios };
}

/**
 * A skewed load: CPU-heavy actors all on thread 1, timed as they are (planner off) and once the
 * planner has spread them; and on a system of one worker thread, for the 2-against-1 ratio.
 */
async function skew(_system: ActorSystem, _done: ActorRef<typeof Done>, planned: Planned): Promise<BenchReport> {
  const k = 8;
  const jobs = QUICK ? 20 : 60;
  const rounds = 400;
  const one = await createSystem({ threads: 1 });
  const oneDone = one.spawn(Done, undefined, { placement: { thread: 0 } });
  const onOne = skewWorkload(one, oneDone, k, jobs, rounds);
  const off = skewWorkload(planned.off, planned.offDone, k, jobs, rounds);
  await off.skew();
  const on = skewWorkload(planned.on, planned.onDone, k, jobs, rounds);
  await on.skew();
  const before = planned.on.stats().moves;
  const settled = await settle(planned.on, on.run);
  const measured = [
    await timed('troupe, all on one thread of two, planner off', off.ops, off.run),
    await timed(`troupe, all on one thread of two, planner on (${planned.on.stats().moves - before} moves, settled in ${Math.round(settled)} ms)`, on.ops, on.run),
    await timed('troupe, one worker thread', onOne.ops, onOne.run),
  ];
  await one.shutdown();
  return workload('skewed CPU load', measured, [
    [1, 0],
    [1, 2],
  ]);
}

const system = await createSystem({ threads: 2 });
const done = system.spawn(Done, undefined, { placement: { thread: 0 } });
const parts: BenchReport[] = [];
/** SAVINA_ONLY=chameneos,big: only those workloads (a developer's quick look; skynet is skipped). */
const only = process.env.SAVINA_ONLY?.split(',');
const named = (run: { name: string }): string => (run === skew ? 'skew' : run.name);
for (const run of [pingPong, counting, threadRing, forkJoin, creation, chameneos, big, skew].filter((r) => !only || only.includes(named(r)))) {
  process.stderr.write(`  savina: ${run === skew ? 'skewed CPU load' : run.name}\n`);
  // ping-pong and creation have no planner rows.
  if (run === pingPong || run === creation) {
    parts.push(await (run as typeof pingPong)(system, done)); // no planner rows
    continue;
  }
  const planned = await freshPlanned(2, true);
  parts.push(await run(system, done, planned));
  await planned.close();
}
if (!only) {
  process.stderr.write('  savina: skynet\n');
  parts.push(await skynet(system));
}
await system.shutdown();
report({
  bench: 'savina',
  measured: parts.flatMap((p) => p.measured.map((m) => ({ ...m, name: `${p.bench}: ${m.name}` }))),
  ratios: parts.flatMap((p) => p.ratios),
});
