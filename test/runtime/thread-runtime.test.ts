import { afterEach, describe, expect, it } from 'vitest';
import { ControlBlock } from '../../src/runtime/control-block.js';
import { RecordKind, ThreadState } from '../../src/runtime/layout.js';
import type { RecordHeader } from '../../src/runtime/ring-buffer.js';
import { ThreadRuntime, type InboundSink, type OutboundHeader, type RuntimeTuning } from '../../src/runtime/thread-runtime.js';
import { createTopology } from '../../src/runtime/topology.js';

const TUNING: RuntimeTuning = { sliceMs: 2, spinMicros: 0, spillHighWaterBytes: 1 << 20, spillStallMs: 1000, maxMessageBytes: 1 << 20 };

interface Got {
  readonly from: number;
  readonly header: RecordHeader;
  readonly payload: unknown;
  readonly tag: string;
}

/** An InboundSink that keeps what arrives; until(n) resolves once n records have. */
class Collect implements InboundSink {
  actorCount = 0;
  readonly got: Got[] = [];
  #waiting: { n: number; resolve: () => void }[] = [];

  onRecord(from: number, header: RecordHeader, payload: unknown, tag: string): void {
    this.got.push({ from, header: { ...header }, payload, tag });
    this.#waiting = this.#waiting.filter((w) => (this.got.length >= w.n ? (w.resolve(), false) : true));
  }

  onDecodeFailure(_from: number, _header: RecordHeader, error: Error): void {
    throw error;
  }

  onRecovered(): void {
    throw new Error('not a replacement');
  }

  until(n: number): Promise<void> {
    return this.got.length >= n ? Promise.resolve() : new Promise((resolve) => this.#waiting.push({ n, resolve }));
  }
}

const running: ThreadRuntime[] = [];

/** ThreadRuntimes for every thread of one topology, all on this JS thread, each started with its own sink. */
function runtimes(threads: number): { rts: ThreadRuntime[]; sinks: Collect[]; ctl: ControlBlock } {
  const topology = createTopology(threads, 1024);
  const rts: ThreadRuntime[] = [];
  const sinks: Collect[] = [];
  for (let t = 0; t < threads; t++) {
    const rt = new ThreadRuntime(topology.wiringFor(t), TUNING);
    const sink = new Collect();
    rt.start(sink);
    rts.push(rt);
    sinks.push(sink);
    running.push(rt);
  }
  return { rts, sinks, ctl: new ControlBlock(topology.ctl) };
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((rt) => rt.close()));
});

describe('ThreadRuntime sends', () => {
  it('delivers header-object writes and control records in order, with their fields', async () => {
    const { rts, sinks } = runtimes(2);
    const h: OutboundHeader = { kind: RecordKind.Ask, priority: 2, target: 33, sender: 44, corr: 7 };
    rts[0]!.write(1, h, { n: 1 }, 'q');
    Object.assign(h, { kind: RecordKind.Tell, priority: 1, target: 11, sender: 22, corr: 0 });
    rts[0]!.write(1, h, { n: 2 }, 't');
    rts[0]!.sendControl(1, ['notice', 3]);
    await sinks[1]!.until(3);
    expect(sinks[1]!.got.map(({ from, header, payload, tag }) => [from, header.kind, header.priority, header.target, header.sender, header.corr, payload, tag])).toEqual([
      [0, RecordKind.Ask, 2, 33, 44, 7, { n: 1 }, 'q'],
      [0, RecordKind.Tell, 1, 11, 22, 0, { n: 2 }, 't'],
      [0, RecordKind.Control, 0, 0, 0, 0, ['notice', 3], ''],
    ]);
  });

  it('reads a reused header object at each write and keeps nothing of it', async () => {
    const { rts, sinks } = runtimes(2);
    const h: OutboundHeader = { kind: RecordKind.Tell, priority: 0, target: 0, sender: 5, corr: 0 };
    for (let i = 1; i <= 50; i++) {
      h.target = i;
      h.corr = i % 2 === 0 ? i : 0;
      h.kind = i % 2 === 0 ? RecordKind.Ask : RecordKind.Tell;
      rts[0]!.write(1, h, i);
    }
    h.target = -1;
    await sinks[1]!.until(50);
    expect(sinks[1]!.got.map((g) => [g.header.kind, g.header.target, g.header.corr, g.payload])).toEqual(
      Array.from({ length: 50 }, (_, k) => [(k + 1) % 2 === 0 ? RecordKind.Ask : RecordKind.Tell, k + 1, (k + 1) % 2 === 0 ? k + 1 : 0, k + 1]),
    );
  });

  it('refuses a thread it has no ring to, in every form', () => {
    const { rts } = runtimes(2);
    const h: OutboundHeader = { kind: RecordKind.Tell, priority: 0, target: 0, sender: 0, corr: 0 };
    expect(() => rts[0]!.write(0, h, 1)).toThrow(/no ring from thread 0 to 0/);
    expect(() => rts[0]!.write(5, h, 1)).toThrow(RangeError);
    expect(() => rts[1]!.sendControl(1, 1)).toThrow(/no ring from thread 1 to 1/);
  });

  it('refuses to write to a thread it abandoned', () => {
    const { rts } = runtimes(2);
    rts[0]!.abandon(1);
    expect(() => rts[0]!.sendControl(1, 1)).toThrow(/thread 1 is gone/);
  });
});

/** Resolves once `test` holds, looking after each turn of the event loop (at most `turns`). */
async function eventually(test: () => boolean, turns = 10_000): Promise<void> {
  for (let i = 0; i < turns && !test(); i++) await new Promise((resolve) => setImmediate(resolve));
  expect(test()).toBe(true);
}

describe('ThreadRuntime turn loop', () => {
  it('runs scheduled work in order', async () => {
    const { rts } = runtimes(1);
    const ran: string[] = [];
    const done = new Promise<void>((resolve) => {
      for (const name of ['a', 'b', 'c']) rts[0]!.schedule({ run: () => ran.push(name) });
      rts[0]!.schedule({ run: resolve });
    });
    await done;
    expect(ran).toEqual(['a', 'b', 'c']);
  });

  it('times short runs rarely while asked (about one per 10 µs of them), each standing for the runs since the last', async () => {
    const { rts } = runtimes(1);
    const rt = rts[0]!;
    const reports = new Map<number, { n: number; ms: number }>();
    // A clock that moves only when a run says it took time: what is measured is the sampling.
    let clock = 0;
    rt.timeRuns((key, ms) => {
      const r = reports.get(key) ?? { n: 0, ms: 0 };
      reports.set(key, { n: r.n + 1, ms: r.ms + ms });
    }, () => clock);
    // Key 1: 16,000 short runs (0.5 µs each, 8 ms in all); key 2: 20 long ones (1 ms), among
    // them; key 3: 25,600 runs too short for the clock, timed about one in 64.
    const done = new Promise<void>((resolve) => {
      for (let i = 0; i < 16_000; i++) {
        rt.schedule({ key: 1, run: () => void (clock += 0.0005) });
        if (i % 800 === 0) rt.schedule({ key: 2, run: () => void (clock += 1) });
      }
      for (let i = 0; i < 25_600; i++) rt.schedule({ key: 3, run: () => undefined });
      rt.schedule({ run: resolve });
    });
    await done;
    rt.timeRuns(null);
    const short = reports.get(1)!;
    const long = reports.get(2) ?? { n: 0, ms: 0 }; // timed only where a draw falls on one
    const instant = reports.get(3)!;
    // One in about 20 of the short runs was timed (10 µs of them), not 16,000; their time
    // scaled up is about theirs.
    expect(short.n).toBeGreaterThan(500);
    expect(short.n).toBeLessThan(1_200);
    expect(short.ms).toBeGreaterThan(8 * 0.7);
    expect(short.ms).toBeLessThan(8 * 1.3);
    expect(instant.n).toBeGreaterThan(250);
    expect(instant.n).toBeLessThan(600);
    expect(instant.ms).toBe(0);
    // A long run among short ones is timed as one of them (scaled by their stride): at most 31
    // times its own time. The next test has runs that are all long.
    expect(long.ms).toBeLessThan(20 * 31);
  });

  it('times every run once runs are long', async () => {
    const { rts } = runtimes(1);
    const rt = rts[0]!;
    let timed = 0;
    let ms = 0;
    let clock = 0;
    rt.timeRuns((key, t) => {
      if (key !== 3) return; // the run that resolves below, timed too as it follows a long one
      timed++;
      ms += t;
    }, () => clock);
    const done = new Promise<void>((resolve) => {
      for (let i = 0; i < 50; i++) rt.schedule({ key: 3, run: () => void (clock += 0.2) });
      rt.schedule({ run: resolve });
    });
    await done;
    rt.timeRuns(null);
    expect(timed).toBe(50); // the first, and every one after a long one
    expect(ms).toBeCloseTo(10, 6);
  });

  it('times every long run though short ones come between them: the stride follows the thread, not the last run', async () => {
    const { rts } = runtimes(1);
    const rt = rts[0]!;
    const ms = new Map<number, number>();
    let clock = 0;
    rt.timeRuns((key, t) => void ms.set(key, (ms.get(key) ?? 0) + t), () => clock);
    // Long runs of actor 2 (0.2 ms each, 40 ms in all), each followed by an instant one of actor 1
    // (a flush, an idle actor's turn). Set by the last run alone, the stride after each instant
    // run was about 64: the next long run timed stood for 64 of them, or none was, at random.
    const done = new Promise<void>((resolve) => {
      for (let i = 0; i < 200; i++) {
        rt.schedule({ key: 2, run: () => void (clock += 0.2) });
        rt.schedule({ key: 1, run: () => undefined });
      }
      rt.schedule({ run: resolve });
    });
    await done;
    rt.timeRuns(null);
    expect(ms.get(2)).toBeCloseTo(40, 6);
    expect(ms.get(1) ?? 0).toBe(0);
  });

  it('puts work that reschedules itself behind the work already waiting', async () => {
    const { rts } = runtimes(1);
    const rt = rts[0]!;
    const ran: string[] = [];
    let left = 3;
    const looping = {
      run(): void {
        ran.push('loop');
        if (--left > 0) rt.schedule(looping);
      },
    };
    rt.schedule(looping);
    rt.schedule({ run: () => ran.push('b') });
    rt.schedule({ run: () => ran.push('c') });
    await eventually(() => ran.length === 5);
    expect(ran).toEqual(['loop', 'b', 'c', 'loop', 'loop']);
  });

  it('runs what a run created soon next, depth first and each run\'s in its own order, before older work', async () => {
    const { rts } = runtimes(1);
    const rt = rts[0]!;
    const ran: string[] = [];
    // A tree: each node creates its children soon (as a spawn schedules a child's start).
    const node = (name: string, depth: number): { run(): void } => ({
      run(): void {
        ran.push(name);
        if (depth < 2) for (const c of ['1', '2']) rt.scheduleSoon(node(name + c, depth + 1));
      },
    });
    rt.scheduleSoon(node('r', 0)); // outside a run: an ordinary schedule
    rt.schedule({ run: () => ran.push('older') });
    await eventually(() => ran.length === 8);
    expect(ran).toEqual(['r', 'r1', 'r11', 'r12', 'r2', 'r21', 'r22', 'older']);
  });

  it('never lets work created soon starve the queue: the oldest waiting gets a turn every 64 runs', async () => {
    const { rts } = runtimes(1);
    const rt = rts[0]!;
    const ran: string[] = [];
    let chain = 0;
    const link = { run(): void {
      ran.push('link');
      if (++chain < 200) rt.scheduleSoon(link); // an endless-looking chain of starts
    } };
    rt.schedule(link);
    rt.schedule({ run: () => ran.push('waiting') });
    await eventually(() => ran.length === 201);
    const at = ran.indexOf('waiting');
    expect(at).toBeGreaterThan(1);
    expect(at).toBeLessThanOrEqual(66);
  });

  it('publishes the key of the work running, and a heartbeat that moves', async () => {
    const { rts, ctl } = runtimes(1);
    const seen: number[] = [];
    rts[0]!.schedule({ key: 77, run: () => seen.push(ctl.running(0)) });
    rts[0]!.schedule({ run: () => seen.push(ctl.running(0)) });
    await eventually(() => seen.length === 2);
    expect(seen).toEqual([77, 0]);
    expect(ctl.heartbeat(0)).toBeGreaterThan(0);
  });

  it('publishes its hosted actors and ready backlog after a turn', async () => {
    const { rts, sinks, ctl } = runtimes(1);
    sinks[0]!.actorCount = 12;
    rts[0]!.schedule({ run: () => {} });
    await eventually(() => ctl.actors(0) === 12);
    expect(ctl.load(0)).toBe(0);
  });

  it('parks when idle, and work scheduled then wakes it', async () => {
    const { rts, ctl } = runtimes(1);
    await eventually(() => ctl.parked(0));
    let ran = false;
    rts[0]!.schedule({ run: () => (ran = true) });
    await eventually(() => ran);
  });

  it('wakes a parked reader when records are sent to it', async () => {
    const { rts, sinks, ctl } = runtimes(2);
    await eventually(() => ctl.parked(1));
    rts[0]!.write(1, { kind: RecordKind.Tell, priority: 0, target: 0, sender: 0, corr: 0 }, 'wake up');
    await sinks[1]!.until(1);
    expect(sinks[1]!.got[0]!.payload).toBe('wake up');
  });

  it("follows main's watch bits on a worker: a parked one wakes, and sees each change before it takes what was sent after it", async () => {
    const { rts, sinks, ctl } = runtimes(2);
    const seen: number[] = [];
    rts[1]!.onWatchBits = (bits) => seen.push(bits, sinks[1]!.got.length);
    await eventually(() => ctl.parked(1));
    ctl.setWatchBits(0b11);
    await eventually(() => seen.length === 2);
    ctl.setWatchBits(0b01);
    rts[0]!.write(1, { kind: RecordKind.Tell, priority: 0, target: 0, sender: 0, corr: 0 }, 'after');
    rts[0]!.flush();
    await sinks[1]!.until(1);
    // Each change once, with how many records had arrived when it was seen.
    expect(seen).toEqual([0b11, 0, 0b01, 0]);
  });

  it('ends its loop on close(), parked or not, and runs nothing after', async () => {
    const { rts, ctl } = runtimes(1);
    const rt = rts[0]!;
    await eventually(() => ctl.parked(0));
    await rt.close();
    expect(rt.closed).toBe(true);
    expect(ctl.state(0)).toBe(ThreadState.Stopped);
    let ran = false;
    rt.schedule({ run: () => (ran = true) });
    await eventually(() => true, 20);
    expect(ran).toBe(false);
  });
});
