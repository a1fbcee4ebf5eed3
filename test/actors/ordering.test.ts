import { describe, expect, it } from 'vitest';
import { Counter } from '../fixtures/counter.js';
import { OrderChecker, Recorder, Sender } from '../fixtures/actors.js';
import { useSystem } from '../support/system.js';

const systems = useSystem();

describe('ordering', () => {
  it('O1: keeps FIFO per sender-receiver pair with 4 senders on 4 threads', async () => {
    const system = await systems.start({ threads: 4 });
    const checker = system.spawn(OrderChecker, undefined, { placement: { thread: 1 } });
    const senders = [1, 2, 3, 4].map((thread) => system.spawn(Sender, { name: `s${thread}` }, { placement: { thread } }));
    const n = 10_000;
    await Promise.all(senders.map((s) => s.ask('blast', { target: checker, n })));
    // Each sender's tells were accepted before its reply, and a later ask from main may still
    // overtake them (no transitive order), so wait until all have arrived.
    let report = await checker.ask('report');
    while (Object.values(report.counts).reduce((a, b) => a + b, 0) < 4 * n) {
      await new Promise((resolve) => setImmediate(resolve));
      report = await checker.ask('report');
    }
    expect(report.violations).toBe(0);
    expect(report.counts).toEqual({ s1: n, s2: n, s3: n, s4: n });
  });

  it('O1: keeps order from the main thread across a full ring (spill path)', async () => {
    const system = await systems.start({ threads: 1, ringBytes: 4096 });
    const recorder = system.spawn(Recorder, undefined, { placement: { thread: 1 } });
    for (let i = 0; i < 2000; i++) recorder.tell('record', i);
    const seen = await recorder.ask('seen');
    expect(seen).toEqual(Array.from({ length: 2000 }, (_, i) => i));
    expect(system.stats().threads[0]!.spilled).toBeGreaterThan(0);
  });

  it('O2: keeps order across the large-payload path, and after a restart', async () => {
    const system = await systems.start({ threads: 1, ringBytes: 16_384 });
    const recorder = system.spawn(Recorder, undefined, { placement: { thread: 1 } });
    const big = (i: number) => ({ i, blob: new Uint8Array(64 * 1024).fill(i & 255) });
    for (let i = 0; i < 40; i++) recorder.tell('record', i % 3 === 0 ? big(i) : { i });
    const seen = (await recorder.ask('seen')) as { i: number; blob?: Uint8Array }[];
    expect(seen.map((m) => m.i)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    for (const m of seen) if (m.blob) expect(m.blob.every((b) => b === (m.i & 255))).toBe(true);

    const counter = system.spawn(Counter, { start: 0 }, { placement: { thread: 1 } });
    for (let i = 1; i <= 5; i++) counter.tell('record', i);
    counter.tell('fail', 'on purpose');
    for (let i = 6; i <= 10; i++) counter.tell('record', i);
    // After the restart the state is fresh: only what followed the failure is there, in order.
    expect(await counter.ask('log')).toEqual([6, 7, 8, 9, 10]);
  });

  it('O3: tell and ask share one FIFO per sender', async () => {
    const system = await systems.start({ threads: 2 });
    const counter = system.spawn(Counter, { start: 0 });
    for (let i = 0; i < 100; i++) {
      counter.tell('add', 1);
      expect(await counter.ask('get')).toBe(i + 1);
    }
  });
});
