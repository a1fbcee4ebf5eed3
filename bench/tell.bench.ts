// Cross-thread tell, one sender to one receiver (worker -> worker), racing MessagePort.postMessage
// of one object per call, postMessage of batched arrays, and the raw ring (no codec).

import { MessageChannel, Worker } from 'node:worker_threads';
import { createSystem } from 'troupe';
import { CTL_BYTES } from '../src/runtime/layout.js';
import { createRingBuffer } from '../src/runtime/ring-buffer.js';
import { Blaster, Done, Sink, nextDone } from './actors.js';
import { QUICK, measure, report, rounds, type BenchReport } from './lib.js';

const N = QUICK ? 50_000 : 200_000;

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
    { name: 'postMessage, 1 object per call', opsPerIteration: N, fn: () => pm.run(N, { batch: 1 }) },
    { name: 'postMessage, arrays of 256', opsPerIteration: N, fn: () => pm.run(N, { batch: 256 }) },
    { name: 'raw ring, 32-byte records, no codec', opsPerIteration: N, fn: () => raw.run(N) },
  ]);
  await Promise.all([pm.close(), raw.close(), system.shutdown()]);
  const [troupe, one, batched, rawRing] = measured as [typeof measured[0], typeof measured[0], typeof measured[0], typeof measured[0]];
  return {
    bench: 'cross-thread tell',
    measured,
    ratios: [
      { bench: 'tell', subject: 'troupe tell', baseline: 'postMessage 1 object/call', ratio: troupe.rate / one.rate, floor: 3, goal: 4 },
      { bench: 'tell', subject: 'troupe tell', baseline: 'postMessage arrays of 256', ratio: troupe.rate / batched.rate, floor: 1.5 },
      { bench: 'tell', subject: 'raw ring', baseline: 'troupe tell', ratio: rawRing.rate / troupe.rate },
    ],
  };
}

report(await rounds(QUICK ? 1 : 3, round));
