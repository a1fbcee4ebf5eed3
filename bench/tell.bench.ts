// Cross-thread tell, one sender to one receiver, racing MessagePort.postMessage of one object per
// call, postMessage of batched arrays, and the raw ring (no codec). Three shapes: the tuned one
// (a worker that yields every 2,048 tells), and the ones a user writes first: a handler's plain
// loop of tells with no yield, and a plain loop on the main thread; and one loop of 1,000,000
// tells from the main thread, once, which must simply complete.

import { MessageChannel, Worker } from 'node:worker_threads';
import { createSystem } from 'troupe';
import { CTL_BYTES } from '../src/runtime/layout.js';
import { createRingBuffer } from '../src/runtime/ring-buffer.js';
import { Blaster, Done, NaiveBlaster, Sink, nextDone } from './actors.js';
import { QUICK, measure, report, rounds, type BenchReport } from './lib.js';

const N = QUICK ? 50_000 : 200_000;
const BOUNDED_N = 60_000;

function pair(script: string, data: (role: string) => object, transfer: (role: string) => never[] = () => []) {
  const workers = ['consumer', 'producer'].map(
    (role) => new Worker(new URL(script, import.meta.url), { workerData: { role, ...data(role) }, transferList: transfer(role) }),
  );
  const [consumer, producer] = workers as [Worker, Worker];
  return {
    async run(n: number, extra: object = {}): Promise<void> {
      const done = new Promise<void>((resolve) => consumer.once('message', () => resolve()));
      consumer.postMessage({ n });
      producer.postMessage({ n, ...extra });
      await done;
    },
    close: () => Promise.all(workers.map((w) => w.terminate())),
  };
}

async function round(): Promise<BenchReport> {
  const system = await createSystem({ threads: 2 });
  const done = system.spawn(Done, undefined, { placement: { thread: 0 } });
  const sink = system.spawn(Sink, undefined, { placement: { thread: 2 } });
  const blaster = system.spawn(Blaster, undefined, { placement: { thread: 1 } });
  const naive = system.spawn(NaiveBlaster, undefined, { placement: { thread: 1 } });
  const fromMain = system.spawn(Sink, undefined, { placement: { thread: 1 } });
  const boundedSink = system.spawn(Sink, undefined, { placement: { thread: 2 }, mailbox: { capacity: 65_536 } });

  const channel = new MessageChannel();
  const pm = pair('./baselines/postmessage-worker.mjs', (role) => ({ port: role === 'consumer' ? channel.port2 : channel.port1 }), (role) => [
    (role === 'consumer' ? channel.port2 : channel.port1) as never,
  ]);
  const ring = createRingBuffer(256 * 1024);
  const ctl = new SharedArrayBuffer(CTL_BYTES);
  const raw = pair('./baselines/raw-ring-worker.mjs', () => ({ ring, ctl }));

  const measured = await measure([
    {
      name: 'troupe tell (worker -> worker)',
      opsPerIteration: N,
      fn: async () => {
        // An ask, not a tell: there is no transitive order between main -> sink and blaster -> sink.
        await sink.ask('expect', { n: N, done });
        const finished = nextDone();
        await blaster.ask('blast', { target: sink, n: N }, { timeoutMs: 60_000 });
        await finished;
      },
    },
    {
      // Fewer than its capacity per round: the bounded mailbox never refuses one.
      name: 'troupe tell into a bounded mailbox (65,536) (worker -> worker)',
      opsPerIteration: BOUNDED_N,
      fn: async () => {
        await boundedSink.ask('expect', { n: BOUNDED_N, done });
        const finished = nextDone();
        await blaster.ask('blast', { target: boundedSink, n: BOUNDED_N }, { timeoutMs: 60_000 });
        await finished;
      },
    },
    {
      name: 'troupe tell, a handler loop with no yield (worker -> worker)',
      opsPerIteration: N,
      fn: async () => {
        await sink.ask('expect', { n: N, done });
        const finished = nextDone();
        await naive.ask('blast', { target: sink, n: N }, { timeoutMs: 60_000 });
        await finished;
      },
    },
    {
      name: 'troupe tell, a plain loop on the main thread (main -> worker)',
      opsPerIteration: N,
      fn: async () => {
        await fromMain.ask('expect', { n: N, done });
        const finished = nextDone();
        for (let i = 0; i < N; i++) fromMain.tell('inc', { n: i & 1023, id: 'abc' });
        await finished;
      },
    },
    { name: 'postMessage, 1 object per call', opsPerIteration: N, fn: () => pm.run(N, { batch: 1 }) },
    { name: 'postMessage, arrays of 256', opsPerIteration: N, fn: () => pm.run(N, { batch: 256 }) },
    { name: 'raw ring, 32-byte records, no codec', opsPerIteration: N, fn: () => raw.run(N) },
  ]);
  // Once: a million tells in one synchronous loop from the main thread.
  const million = QUICK ? 200_000 : 1_000_000;
  await fromMain.ask('expect', { n: million, done });
  const finishedMillion = nextDone();
  const t0 = performance.now();
  for (let i = 0; i < million; i++) fromMain.tell('inc', { n: i & 1023, id: 'abc' });
  await finishedMillion;
  const millionRate = million / ((performance.now() - t0) / 1000);
  measured.push({ name: `troupe tell, ${million.toLocaleString('en')} in one loop on the main thread, once`, rate: millionRate, p50Ms: (million / millionRate) * 1000, p99Ms: 0, samples: 1 });
  await Promise.all([pm.close(), raw.close(), system.shutdown()]);
  const [troupe, bounded, handlerLoop, mainLoop, one, batched, rawRing, once] = measured as [typeof measured[0], typeof measured[0], typeof measured[0], typeof measured[0], typeof measured[0], typeof measured[0], typeof measured[0], typeof measured[0]];
  return {
    bench: 'cross-thread tell',
    measured,
    ratios: [
      { bench: 'tell', subject: 'troupe tell', baseline: 'postMessage 1 object/call', ratio: troupe.rate / one.rate, floor: 3, goal: 4 },
      { bench: 'tell', subject: 'troupe tell, bounded mailbox (65,536)', baseline: 'troupe tell, unbounded', ratio: bounded.rate / troupe.rate, floor: 0.7 },
      { bench: 'tell', subject: 'troupe tell, handler loop, no yield', baseline: 'postMessage 1 object/call', ratio: handlerLoop.rate / one.rate, floor: 3 },
      { bench: 'tell', subject: 'troupe tell, handler loop, no yield', baseline: 'troupe tell, yielding every 2,048', ratio: handlerLoop.rate / troupe.rate, floor: 0.7 },
      { bench: 'tell', subject: 'troupe tell, plain loop on main', baseline: 'postMessage 1 object/call', ratio: mainLoop.rate / one.rate, floor: 3 },
      { bench: 'tell', subject: 'troupe tell, one loop of a million on main', baseline: 'postMessage 1 object/call', ratio: once.rate / one.rate, floor: 3 },
      { bench: 'tell', subject: 'troupe tell', baseline: 'postMessage arrays of 256', ratio: troupe.rate / batched.rate, floor: 1.5 },
      { bench: 'tell', subject: 'raw ring', baseline: 'troupe tell', ratio: rawRing.rate / troupe.rate },
    ],
  };
}

report(await rounds(QUICK ? 1 : 3, round));
