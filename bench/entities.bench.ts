// Durable entities against their baselines in the same run. A durable send from the main thread
// (resolved once the message is stored and flushed; main stores it itself) against raw lmdb puts
// of the same bytes, batched by lmdb the same way, into an lmdb environment on the same disk
// (bursts of the two in turns, the ratio taken pair by pair: the disk's speed drifts on a shared
// machine); the same sends from an actor on a worker (stored by the key's thread); and against
// the same sends to entities without storage (what the path costs before the store); end to end
// (stored, handled, committed) against the same deposits told to plain actors in memory (the
// price of durability); the activation of keys never seen. The naive shape (await each send in
// turn) beside the tuned one (many sends in flight). A chain of three entities, through the
// outbox, against the same chain in memory.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSystem, type ActorSystem } from 'troupe';
import { encodeStandalone, prepare } from '../src/runtime/codec.js';
import { BenchAccount, BenchAccountSender, BenchHop, PlainAccount } from './actors.js';
import { QUICK, median, report, type Measured } from './lib.js';

const N = QUICK ? 5_000 : 40_000;
const KEYS = 64;
const SEQUENTIAL = QUICK ? 200 : 1_000;
const ACTIVATIONS = QUICK ? 2_000 : 10_000;
const ROUNDS = QUICK ? 1 : 3;
const WARM_BURSTS = 2;
/** Raw lmdb and durable send bursts, in turns, each round. */
const PAIRS = QUICK ? 1 : 3;
const CHAINS = 16;
const CHAIN_MESSAGES = QUICK ? 1_000 : 4_000;

interface Timed {
  rate: number;
  p50: number;
  p99: number;
}

/** The burst of median rate. */
function middle(bursts: Timed[]): Timed {
  return [...bursts].sort((a, b) => a.rate - b.rate)[bursts.length >> 1]!;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

/** Runs `count` operations all at once; each one's latency from the start of the burst. */
async function burst(count: number, op: (i: number) => Promise<unknown>): Promise<Timed> {
  const latencies = new Array<number>(count);
  const t0 = performance.now();
  await Promise.all(Array.from({ length: count }, (_, i) => op(i).then(() => (latencies[i] = performance.now() - t0))));
  const ms = performance.now() - t0;
  latencies.sort((a, b) => a - b);
  return { rate: count / (ms / 1000), p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) };
}

interface RawLmdb {
  /** One timed burst of N puts, each awaited until flushed (keys never used before). */
  burst(): Promise<Timed>;
  close(): Promise<void>;
}

/** Raw lmdb puts into an environment at `dir`, warmed as the durable system is. */
async function rawLmdb(dir: string): Promise<RawLmdb> {
  const { open } = (await import('lmdb')) as unknown as { open(o: object): { openDB(o: object): { put(k: unknown, v: unknown): Promise<unknown> & { flushed: Promise<void> } }; close(): Promise<void> } };
  const root = open({ path: dir, maxDbs: 4, separateFlushed: true });
  const db = root.openDB({ name: 'raw', encoding: 'binary' });
  const bytes = encodeStandalone(prepare(['deposit', 1, null, null]));
  let next = 0;
  const put = async (i: number): Promise<void> => {
    const written = db.put([`BenchAccount\u0000k${i % KEYS}`, i + 1], bytes);
    await written;
    await written.flushed;
  };
  const one = (): Promise<Timed> => {
    const from = next;
    next += N;
    return burst(N, (i) => put(from + i));
  };
  for (let w = 0; w < WARM_BURSTS; w++) await one(); // warm, as the others are
  return { burst: one, close: () => root.close() };
}

/**
 * Sends WARM_BURSTS bursts of N first (untimed): the paths warm, as a running service's are (a
 * new system's worker threads start with code not yet optimized: the first burst, timed on its
 * own, is the cold row). Returns the first burst's figures.
 */
async function warm(refs: { send(type: 'deposit', n: number): Promise<unknown>; ask(type: 'balance'): Promise<unknown> }[]): Promise<Timed> {
  let first: Timed | null = null;
  for (let w = 0; w < WARM_BURSTS; w++) {
    const timed = await burst(N, (i) => refs[i % KEYS]!.send('deposit', 0));
    first ??= timed;
    await Promise.all(refs.map((r) => r.ask('balance'))); // and handled: the timed burst runs alone
  }
  return first!;
}

interface Round {
  raw: Timed;
  send: Timed;
  /** Durable send / raw puts, pair by pair. */
  pairRatios: number[];
  /** Durable sends from an actor on a worker (stored by the keys' threads), rate. */
  fromWorker: number;
  cold: Timed;
  sendMemory: Timed;
  sendProcess: Timed;
  sequential: number;
  durableEndToEnd: number;
  memoryEndToEnd: number;
  activationsDurable: number;
  activationsMemory: number;
  chainDurable: number;
  chainMemory: number;
}

async function endToEnd(system: ActorSystem, durable: boolean): Promise<number> {
  const t0 = performance.now();
  if (durable) {
    const refs = Array.from({ length: KEYS }, (_, k) => system.entity(BenchAccount, `e2e-${k}`));
    for (let i = 0; i < N; i++) refs[i % KEYS]!.tell('deposit', 1);
    await Promise.all(refs.map((r) => r.ask('balance')));
  } else {
    const refs = Array.from({ length: KEYS }, () => system.spawn(PlainAccount));
    for (let i = 0; i < N; i++) refs[i % KEYS]!.tell('deposit', 1);
    await Promise.all(refs.map((r) => r.ask('balance')));
  }
  return N / ((performance.now() - t0) / 1000);
}

/** CHAIN_MESSAGES told to the first of CHAINS chains of three entities, until the last links have counted them all. */
async function chain(system: ActorSystem, prefix: string): Promise<number> {
  const first = Array.from({ length: CHAINS }, (_, c) => system.entity(BenchHop, `${prefix}${c}-0`));
  const last = Array.from({ length: CHAINS }, (_, c) => system.entity(BenchHop, `${prefix}${c}-2`));
  const before = (await Promise.all(last.map((r) => r.ask('count')))).reduce((a, b) => a + b, 0);
  const t0 = performance.now();
  for (let i = 0; i < CHAIN_MESSAGES; i++) first[i % CHAINS]!.tell('hop', i);
  for (;;) {
    const done = (await Promise.all(last.map((r) => r.ask('count')))).reduce((a, b) => a + b, 0) - before;
    if (done >= CHAIN_MESSAGES) break;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  return CHAIN_MESSAGES / ((performance.now() - t0) / 1000);
}

async function activations(system: ActorSystem, prefix: string): Promise<number> {
  const t0 = performance.now();
  await Promise.all(Array.from({ length: ACTIVATIONS }, (_, i) => system.entity(BenchAccount, `${prefix}-${i}`).ask('balance')));
  return ACTIVATIONS / ((performance.now() - t0) / 1000);
}

async function round(): Promise<Round> {
  const dirs = [0, 1, 2].map(() => mkdtempSync(join(tmpdir(), 'troupe-bench-')));
  try {
    const lmdb = await rawLmdb(dirs[0]!);
    const durable = await createSystem({ storage: { path: dirs[1]! } });
    const refs = Array.from({ length: KEYS }, (_, k) => durable.entity(BenchAccount, `k${k}`));
    const cold = await warm(refs);
    // Raw puts and durable sends in turns (the disk's speed drifts on a shared machine): the
    // ratio is taken pair by pair.
    const raws: Timed[] = [];
    const sends: Timed[] = [];
    for (let pair = 0; pair < PAIRS; pair++) {
      raws.push(await lmdb.burst());
      sends.push(await burst(N, (i) => refs[i % KEYS]!.send('deposit', 1)));
      await Promise.all(refs.map((r) => r.ask('balance'))); // handled: the next burst runs alone
    }
    await lmdb.close();
    // From an actor on a worker: each message stored by its key's thread (main stores what it sends itself).
    const sender = durable.spawn(BenchAccountSender);
    const keys = refs.map((_, k) => `k${k}`);
    for (let w = 0; w < WARM_BURSTS; w++) await sender.ask('burst', { n: N, keys }, { timeoutMs: 60_000 });
    await Promise.all(refs.map((r) => r.ask('balance')));
    const fromWorker = (await sender.ask('burst', { n: N, keys }, { timeoutMs: 60_000 })) as number;
    await Promise.all(refs.map((r) => r.ask('balance')));
    const raw = middle(raws);
    const send = middle(sends);
    const pairRatios = sends.map((s, k) => s.rate / raws[k]!.rate);
    const t0 = performance.now();
    for (let i = 0; i < SEQUENTIAL; i++) await refs[0]!.send('deposit', 1); // the shape written first
    const sequential = SEQUENTIAL / ((performance.now() - t0) / 1000);
    await endToEnd(durable, true); // warm
    const durableEndToEnd = await endToEnd(durable, true);
    const activationsDurable = await activations(durable, 'new');
    await chain(durable, 'warm'); // warm
    const chainDurable = await chain(durable, 'c');
    await durable.shutdown();

    const quick = await createSystem({ storage: { path: dirs[2]!, durability: 'process' } });
    const quickRefs = Array.from({ length: KEYS }, (_, k) => quick.entity(BenchAccount, `k${k}`));
    await warm(quickRefs);
    const sendProcess = await burst(N, (i) => quickRefs[i % KEYS]!.send('deposit', 1));
    await quick.shutdown();

    const memory = await createSystem();
    const memoryRefs = Array.from({ length: KEYS }, (_, k) => memory.entity(BenchAccount, `k${k}`));
    await warm(memoryRefs);
    const sendMemory = await burst(N, (i) => memoryRefs[i % KEYS]!.send('deposit', 1)); // the same path, nothing stored
    await endToEnd(memory, false); // warm
    const memoryEndToEnd = await endToEnd(memory, false);
    const activationsMemory = await activations(memory, 'mem');
    await chain(memory, 'warm');
    const chainMemory = await chain(memory, 'c');
    await memory.shutdown();
    return { raw, send, pairRatios, fromWorker, cold, sendMemory, sendProcess, sequential, durableEndToEnd, memoryEndToEnd, activationsDurable, activationsMemory, chainDurable, chainMemory };
  } finally {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

const all: Round[] = [];
for (let i = 0; i < ROUNDS; i++) all.push(await round());
const med = (f: (r: Round) => number): number => median(all.map(f));
const timedRow = (name: string, f: (r: Round) => Timed): Measured => ({ name, rate: med((r) => f(r).rate), p50Ms: med((r) => f(r).p50), p99Ms: med((r) => f(r).p99), samples: all.length });
const row = (name: string, rate: number): Measured => ({ name, rate, p50Ms: 1000 / rate, p99Ms: 1000 / rate, samples: all.length });
const sendPerRaw = median(all.flatMap((r) => r.pairRatios));
const send = med((r) => r.send.rate);
const durableE2E = med((r) => r.durableEndToEnd);
const memoryE2E = med((r) => r.memoryEndToEnd);
report({
  bench: 'entities',
  measured: [
    timedRow(`durable send to ${KEYS} keys, ${N} in flight, until stored (flushed)`, (r) => r.send),
    timedRow(`the same, the first ${N} sends of a new system (its threads' code not yet optimized)`, (r) => r.cold),
    timedRow(`raw lmdb put of the same bytes, ${N} in flight, until flushed`, (r) => r.raw),
    row(`durable send from an actor on a worker thread (stored by the key's thread), ${N} in flight`, med((r) => r.fromWorker)),
    timedRow(`durable send, durability 'process' (committed)`, (r) => r.sendProcess),
    timedRow(`send to entities without storage (the same path, nothing stored)`, (r) => r.sendMemory),
    row(`durable send awaited one at a time (the shape written first)`, med((r) => r.sequential)),
    row(`end to end: ${N} tells to ${KEYS} entities, stored, handled, committed`, durableE2E),
    row(`end to end in memory: the same to ${KEYS} plain actors`, memoryE2E),
    row(`activation of ${ACTIVATIONS} keys never seen (storage), answered`, med((r) => r.activationsDurable)),
    row(`activation of ${ACTIVATIONS} keys never seen (in memory), answered`, med((r) => r.activationsMemory)),
    row(`chain of 3 entities (outbox, storage), ${CHAINS} chains: messages through all three`, med((r) => r.chainDurable)),
    row(`the same chain of 3 entities in memory`, med((r) => r.chainMemory)),
  ],
  ratios: [
    { bench: 'entities', subject: 'durable send (until stored)', baseline: 'raw lmdb puts', ratio: sendPerRaw, goal: 0.6 },
    { bench: 'entities', subject: 'durable, end to end', baseline: 'in memory, end to end', ratio: durableE2E / memoryE2E },
    { bench: 'entities', subject: 'chain of 3 entities, storage and outbox', baseline: 'the same in memory', ratio: med((r) => r.chainDurable) / med((r) => r.chainMemory) },
  ],
  extra: {
    'durable send / raw lmdb puts, the median of pairs run in turns (goal >= 0.6)': sendPerRaw.toFixed(2),
    'durable send / send without storage': (send / med((r) => r.sendMemory.rate)).toFixed(2),
    'durable send from a worker / raw lmdb puts (the medians)': (med((r) => r.fromWorker) / med((r) => r.raw.rate)).toFixed(2),
    'price of durability (in memory / durable, end to end)': `${(memoryE2E / durableE2E).toFixed(1)}x`,
  },
});
