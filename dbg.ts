import { createSystem } from 'troupe';
import { Blaster, Done, Sink, nextDone } from './bench/actors.ts';
const system = await createSystem({ threads: 2 });
const done = system.spawn(Done, undefined, { placement: { thread: 0 } });
const sink = system.spawn(Sink, undefined, { placement: { thread: 2 } });
const blaster = system.spawn(Blaster, undefined, { placement: { thread: 1 } });
const t = setInterval(async () => { console.log('STUCK', system.stats().threads.map(t => [t.handled, t.messagesIn, t.messagesOut, t.ringBytesUsed, t.parked, t.spilled])); }, 2000);
const t0 = performance.now();
for (let r = 0; r < 20; r++) {
await sink.ask('expect', { n: 100000, done });
const finished = nextDone();
await blaster.ask('blast', { target: sink, n: 100000 }, { timeoutMs: 60_000 });
await finished;
}
clearInterval(t);
console.log('rate', (2e6 / ((performance.now() - t0) / 1000) / 1e6).toFixed(2), 'M/s');
await system.shutdown();
