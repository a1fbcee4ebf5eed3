// Message-queue guarantees and what they cost, each raced in the same run:
// - ack mode (at-least-once) against at-most-once on the same worker -> worker path;
// - topic fan-out to 100 subscribers on two threads, against postMessage to each worker with the
//   worker handing the message to its local subscribers;
// - a key-routed pool of 4 over two threads, against a round-robin pool and a piscina pool;
// - send() against a slow consumer with a bounded (backpressure) mailbox, against unbounded
//   mailbox (held back only by the sender-side spill limit): throughput, and the sender's peak heap.

import { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { createSystem, type ActorRef, type ActorSystem } from 'troupe';
import { Blaster, Counting, Done, SlowSink, Sink, Tally, nextDone } from './actors.js';
import { QUICK, measure, median, report, rounds, type BenchReport, type Measured } from './lib.js';

const N = QUICK ? 50_000 : 200_000;
const FANOUT = 100;
const PUBLISHES = QUICK ? 500 : 2000;
const PISCINA_TASKS = QUICK ? 500 : 2000;
const SLOW_N = QUICK ? 10_000 : 40_000;
const SLOW_SPIN_US = 2;
/** A 1 KiB payload: what piles up on the sender when nothing holds it back shows in its heap. */
const PAD = 'x'.repeat(1024);

async function untilZero(check: () => Promise<number>): Promise<void> {
  while ((await check()) > 0) await new Promise((resolve) => setImmediate(resolve));
}

/** This thread's heap plus its array buffers (where spilled records live). */
function used(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/**
 * Runs `fn`, sampling every 2 ms; returns [ms, peak growth of used() in bytes, peak bytes queued
 * toward the consumer: the sender's spill plus the ring into the consumer's thread]. The heap
 * figure includes garbage not yet collected; the queued bytes are exact.
 */
async function withPeaks(system: ActorSystem, consumerThread: number, fn: () => Promise<void>): Promise<[number, number, number]> {
  (globalThis as { gc?: () => void }).gc?.();
  const base = used();
  let peak = base;
  let queued = 0;
  const sample = (): void => {
    peak = Math.max(peak, used());
    const s = system.stats();
    queued = Math.max(queued, s.threads[0]!.spillBytes + s.threads[consumerThread]!.ringBytesUsed);
  };
  const sampler = setInterval(sample, 2);
  const start = performance.now();
  await fn();
  const ms = performance.now() - start;
  clearInterval(sampler);
  sample();
  return [ms, peak - base, queued];
}

async function round(): Promise<BenchReport> {
  const system = await createSystem({ threads: 2 });
  const done = system.spawn(Done, undefined, { placement: { thread: 0 } });
  const tally = system.spawn(Tally, undefined, { placement: { thread: 0 } });
  const blaster = system.spawn(Blaster, undefined, { placement: { thread: 1 } });
  const atMostOnce = system.spawn(Sink, undefined, { placement: { thread: 2 } });
  const atLeastOnce = system.spawn(Sink, undefined, { placement: { thread: 2 }, delivery: { mode: 'at-least-once' } });
  // The same, surviving its thread's death: every message copied to main (its spawner) until done.
  const withCopies = system.spawn(Sink, undefined, { placement: { thread: 2 }, delivery: { mode: 'at-least-once', keepCopies: true } });
  const blast = async (sink: ActorRef<typeof Sink>): Promise<void> => {
    await sink.ask('expect', { n: N, done });
    const finished = nextDone();
    await blaster.ask('blast', { target: sink, n: N }, { timeoutMs: 60_000 });
    await finished;
  };

  // Fan-out: 100 subscribers, half on each worker.
  const subscribers = Array.from({ length: FANOUT }, (_, i) => system.spawn(Counting, undefined, { placement: { thread: 1 + (i % 2) } }));
  for (const s of subscribers) system.subscribe('ticks', s);
  const armFanout = () => Promise.all(subscribers.map((s) => s.ask('expect', { n: PUBLISHES, tally }))).then(() => tally.ask('expect', FANOUT));
  await armFanout();
  const fanWorkers = [1, 2].map(() => new Worker(new URL('./baselines/fanout-worker.mjs', import.meta.url), { workerData: { subscribers: FANOUT / 2 } }));
  const fanDone = (w: Worker) => new Promise<void>((resolve) => w.once('message', () => resolve()));
  for (const w of fanWorkers) w.postMessage({ expect: PUBLISHES });

  // Pools of 4 over the two workers.
  const keyed = system.spawnPool(Counting, undefined, { size: 4, routing: { key: (_type, payload) => (payload as { k: number }).k } });
  const roundRobin = system.spawnPool(Counting, undefined, { size: 4 });
  const piscina = new Piscina({ filename: new URL('./baselines/piscina-task.mjs', import.meta.url).href, minThreads: 2, maxThreads: 2 });
  const drained = (pool: typeof keyed, n: number) => untilZero(async () => n - (await Promise.all(pool.members.map((m) => m.ask('count')))).reduce((a, b) => a + b, 0));
  const reset = (pool: typeof keyed) => Promise.all(pool.members.map((m) => m.ask('expect', { n: -1, tally: null })));

  const measured = await measure([
    { name: 'tell, at-most-once (worker -> worker)', opsPerIteration: N, fn: () => blast(atMostOnce) },
    { name: 'tell, at-least-once (ack mode)', opsPerIteration: N, fn: () => blast(atLeastOnce) },
    {
      name: `publish to ${FANOUT} subscribers on 2 threads (deliveries)`,
      opsPerIteration: PUBLISHES * FANOUT,
      fn: async () => {
        const finished = nextDone();
        for (let i = 0; i < PUBLISHES; i++) system.publish('ticks', 'inc', i);
        await finished;
      },
      teardown: () => armFanout().then(() => undefined),
    },
    {
      name: `postMessage to 2 workers, ${FANOUT / 2} local handlers each (deliveries)`,
      opsPerIteration: PUBLISHES * FANOUT,
      fn: async () => {
        const finished = Promise.all(fanWorkers.map(fanDone));
        for (let i = 0; i < PUBLISHES; i++) for (const w of fanWorkers) w.postMessage({ i });
        await finished;
      },
      teardown: () => {
        for (const w of fanWorkers) w.postMessage({ expect: PUBLISHES });
      },
    },
    {
      name: 'key-routed pool of 4, tell',
      opsPerIteration: N,
      fn: async () => {
        for (let i = 0; i < N; i++) keyed.tell('inc', { k: i & 63 });
        await drained(keyed, N);
      },
      teardown: () => reset(keyed).then(() => undefined),
    },
    {
      name: 'round-robin pool of 4, tell',
      opsPerIteration: N,
      fn: async () => {
        for (let i = 0; i < N; i++) roundRobin.tell('inc', { k: i & 63 });
        await drained(roundRobin, N);
      },
      teardown: () => reset(roundRobin).then(() => undefined),
    },
    {
      name: 'piscina pool of 2 threads, run',
      opsPerIteration: PISCINA_TASKS,
      fn: () => Promise.all(Array.from({ length: PISCINA_TASKS }, (_, i) => piscina.run({ n: i }))),
    },
  ]);

  // Backpressure: a producer on main against a consumer that needs ~2 us a message.
  const bounded = system.spawn(SlowSink, undefined, { placement: { thread: 1 }, mailbox: { capacity: 256, overflow: 'backpressure' } });
  const unbounded = system.spawn(SlowSink, undefined, { placement: { thread: 1 } });
  const runs: { bp: [number, number, number]; free: [number, number, number] }[] = [];
  for (let r = 0; r < 3; r++) {
    await bounded.ask('expect', { n: SLOW_N, spinUs: SLOW_SPIN_US, done });
    let finished = nextDone();
    const bp = await withPeaks(system, 1, async () => {
      for (let i = 0; i < SLOW_N; i++) await bounded.send('work', { i, pad: PAD }, { timeoutMs: 60_000 });
      await finished;
    });
    await unbounded.ask('expect', { n: SLOW_N, spinUs: SLOW_SPIN_US, done });
    finished = nextDone();
    const free = await withPeaks(system, 1, async () => {
      for (let i = 0; i < SLOW_N; i++) await unbounded.send('work', { i, pad: PAD }, { timeoutMs: 60_000 });
      await finished;
    });
    runs.push({ bp, free });
  }
  const slow = (name: string, pick: (x: (typeof runs)[0]) => [number, number, number]): Measured => {
    const ms = median(runs.map((x) => pick(x)[0]));
    return { name, rate: (SLOW_N * 1000) / ms, p50Ms: ms, p99Ms: Math.max(...runs.map((x) => pick(x)[0])), samples: runs.length };
  };
  measured.push(slow('send to a slow consumer, mailbox of 256 (backpressure)', (x) => x.bp));
  measured.push(slow('send to a slow consumer, unbounded mailbox', (x) => x.free));
  const [copies] = await measure([{ name: 'tell, at-least-once with keepCopies (copies on main)', opsPerIteration: N, fn: () => blast(withCopies) }]);
  measured.push(copies!);

  await Promise.all([piscina.destroy(), ...fanWorkers.map((w) => w.terminate())]);
  await system.shutdown();
  const rate = (i: number): number => measured[i]!.rate;
  return {
    bench: 'message-queue guarantees',
    measured,
    ratios: [
      { bench: 'mq', subject: 'ack mode', baseline: 'at-most-once, same path', ratio: rate(1) / rate(0), floor: 0.5 },
      { bench: 'mq', subject: `publish to ${FANOUT}`, baseline: 'postMessage per worker + local dispatch', ratio: rate(2) / rate(3) },
      { bench: 'mq', subject: 'key-routed pool', baseline: 'round-robin pool', ratio: rate(4) / rate(5) },
      { bench: 'mq', subject: 'key-routed pool tell', baseline: 'piscina run', ratio: rate(4) / rate(6) },
      { bench: 'mq', subject: 'send with backpressure', baseline: 'send, unbounded mailbox (slow consumer)', ratio: rate(7) / rate(8) },
      { bench: 'mq', subject: 'ack mode with keepCopies (survives its thread)', baseline: 'at-most-once, same path', ratio: rate(9) / rate(0) },
    ],
    extra: {
      'send with backpressure: peak bytes queued to the consumer (KiB, median)': Math.round(median(runs.map((x) => x.bp[2])) / 1024),
      'send, unbounded mailbox: peak bytes queued to the consumer (KiB, median)': Math.round(median(runs.map((x) => x.free[2])) / 1024),
      'send with backpressure: sender peak heap + buffers growth (KiB, median)': Math.round(median(runs.map((x) => x.bp[1])) / 1024),
      'send, unbounded mailbox: sender peak heap + buffers growth (KiB, median)': Math.round(median(runs.map((x) => x.free[1])) / 1024),
    },
  };
}

report(await rounds(QUICK ? 1 : 3, round));
