// One thread's engine: a writer per outbound ring (outbound.ts), a reader per inbound ring
// (inbound.ts), its run queue of ready work (run-queue.ts), and the turn loop here that drains,
// runs, flushes, and parks the thread when there is nothing to do.
// The actor model above plugs in through InboundSink and Runnable; this file knows no actors.

import type { MessagePort } from 'node:worker_threads';
import { ControlBlock } from './control-block.js';
import { CustodyLog } from './custody-log.js';
import { ReaderGroup, type InboundSink, type StreamJoin } from './inbound.js';
import { RecordKind, STAT_BUSY_NS, STAT_CUSTODY_BYTES, STAT_FIELDS, STAT_LONGEST_TURN_MS, STAT_SINCE, STAT_SPILL_BYTES, ThreadState } from './layout.js';
import { Outbound, type OutboundHeader } from './outbound.js';
import { RunQueue, type Runnable } from './run-queue.js';
import type { ThreadWiring } from './topology.js';
import type { Bell } from './wake.js';
import { WriterGroup } from './writer-group.js';

export type { InboundSink, StreamJoin } from './inbound.js';
export type { OutboundHeader } from './outbound.js';
export type { Runnable } from './run-queue.js';

export interface RuntimeTuning {
  /** Longest a turn runs before yielding to the event loop. */
  readonly sliceMs: number;
  /** How long a thread that just saw traffic polls its rings before it parks. */
  readonly spinMicros: number;
  /** Sender-side spill above which send waits, and tell refuses once the reader stalls (flow control). */
  readonly spillHighWaterBytes: number;
  /** How long a reader may take nothing from its ring, its spill past the mark, before tells to it are refused. */
  readonly spillStallMs: number;
  /** Largest encoded message accepted at all. */
  readonly maxMessageBytes: number;
}

/** Event-loop turns an idle thread takes before it parks. */
const IDLE_YIELDS = 2;
/**
 * While runs are timed (timeRuns): a timed run costs about 0.1 µs more than another (two clock
 * reads, the report), so where timed runs average `ms` (#runMs) the next one timed comes about
 * TIMED_BUDGET_MS / ms runs later on average (at most MAX_STRIDE: a long run among short ones is
 * timed as one of them, and scaled by up to 1.5 MAX_STRIDE): timing costs 1-2% of the thread's
 * time however short its runs. Where runs average the budget or more, every one is timed.
 */
const TIMED_BUDGET_MS = 0.01;
const MAX_STRIDE = 64;
const performanceNow = (): number => performance.now();

export class ThreadRuntime {
  readonly self: number;
  readonly threadCount: number;
  /**
   * This thread's counters (layout.ts STAT_*), in ordinary memory: incremented on the hot path,
   * copied to shared memory once per flush and per pass, always before the rings are published,
   * so a reader never sees a message handled before it was counted as sent.
   */
  readonly counters = new Float64Array(STAT_FIELDS);
  /**
   * This thread's histograms (layout.ts HIST_*, histogram.ts), in shared memory: written in place,
   * never copied (a replacement thread carries on in the same slots).
   */
  readonly histograms: Float64Array;
  readonly #shared: Float64Array;
  /** One Float64 in this thread's control block: the key of the actor running now. */
  readonly #current: Float64Array;
  /**
   * Two numbers the layer above writes to say what it is doing (plain stores, in shared memory):
   * should the thread die, its replacement finds them here as they were (CTL_F64_MARK).
   */
  readonly mark: Float64Array;
  readonly #ctl: ControlBlock;
  readonly #bell: Bell;
  readonly #writers: WriterGroup;
  readonly #out: (Outbound | null)[];
  readonly #readers: ReaderGroup;
  /** What this thread took from its rings and is not done with, in memory that outlives it (null on the main thread). */
  readonly custody: CustodyLog | null;
  readonly #recovering: boolean;
  readonly #tuning: RuntimeTuning;
  readonly #runq = new RunQueue();
  /** Work the running work created, next to run (scheduleSoon), newest run's on top. */
  readonly #soon: Runnable[] = [];
  #soonInARow = 0;
  /** True while #runReady runs work (a schedule now is from inside a run). */
  #running = false;
  #parked = false;
  #closed = false;
  #loop: Promise<void> | null = null;
  #sawTraffic = false;
  #idleYields = 0;
  /** Main's watch bits as this worker last saw them. */
  #watchBits = 0;

  /**
   * `joins`: for a replacement of a thread that died, how to read on in each inbound ring (by the
   * writer's thread); its own writes then begin with a new-writer record on every ring.
   */
  constructor(wiring: ThreadWiring, tuning: RuntimeTuning, joins: readonly (StreamJoin | null)[] | null = null) {
    this.self = wiring.self;
    this.threadCount = wiring.threadCount;
    this.#tuning = tuning;
    const ctl = new ControlBlock(wiring.ctl);
    this.#ctl = ctl;
    this.#shared = ctl.stats(this.self);
    this.histograms = ctl.histograms(this.self);
    this.#current = ctl.runningSlot(this.self);
    this.mark = ctl.markSlots(this.self);
    this.#bell = ctl.bell(this.self);
    this.#writers = new WriterGroup(
      this.counters,
      () => this.flush(),
      () => {
        if (this.#parked) this.#bell.ring(); // the loop must run again to drain the spill
      },
    );
    this.#out = wiring.outbound.map((ring, to) =>
      ring === null ? null : new Outbound(to, ring, ctl.bell(to), wiring.bigOut[to]!, tuning.maxMessageBytes, this.#writers),
    );
    this.custody = wiring.custody === null ? null : new CustodyLog(wiring.custody);
    this.#writers.beforeEarlyPublish = () => this.#publishCounts();
    this.#recovering = joins !== null;
    this.#readers = new ReaderGroup(this.counters, this.#shared, wiring.inbound, wiring.bigIn, joins, this.custody);
    if (joins !== null) {
      // A replacement carries on its predecessor's counts: the system's books stay whole.
      this.counters.set(this.#shared);
      this.counters[STAT_SPILL_BYTES] = 0;
    } else {
      this.counters[STAT_SINCE] = performance.now();
    }
    this.#shared.set(this.counters);
    if (joins !== null) for (const out of this.#out) out?.announceNewWriter();
    ctl.setState(this.self, ThreadState.Running);
  }

  /** Installs the handler for decoded inbound records and starts the turn loop. */
  start(sink: InboundSink): void {
    this.#readers.sink = sink;
    // A replacement first takes up what its predecessor left unfinished, before anything newer.
    if (this.#recovering && this.#loop === null) this.#readers.recoverCustody();
    this.#loop ??= this.#run();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Ends the turn loop after its current pass; wakes it if parked. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#ctl.setState(this.self, ThreadState.Stopped);
    this.#bell.ring(); // wakes the loop if it is parked, so that it sees #closed
    await this.#loop;
  }

  // ---- outbound -------------------------------------------------------------------------------

  /**
   * The thread `to` died: stop writing to it, and return the message tags of the user messages
   * (tells and asks) that were sent to it and will never be read, from the ring and the spill.
   */
  abandon(to: number): { lost: string[]; inRing: number } {
    return this.#out[to]?.abandon() ?? { lost: [], inRing: 0 };
  }

  /**
   * Thread `to` died and a replacement will read its rings on from where it stopped: see
   * Outbound.recover. From now on large payloads go to the replacement's ports.
   */
  recover(to: number, bigOut: MessagePort, bigIn: MessagePort): { join: StreamJoin; lost: string[]; inRing: number; replies: number } {
    const recovered = this.#out[to]!.recover(bigOut);
    this.#readers.of(to)!.expectNewWriter(bigIn);
    return recovered;
  }

  /** Reads everything left in the ring from `from` now (a writer that died: nothing more comes). */
  drainFrom(from: number): void {
    const inbound = this.#readers.of(from);
    if (inbound !== undefined) while (inbound.drain());
  }

  /** True when messages to `to` are spilling past the high-water mark (flow control: send waits). */
  isBacklogged(to: number): boolean {
    if (this.#writers.spilling === 0) return false; // the common case: nothing spills at all
    const out = this.#out[to];
    return out !== null && out !== undefined && out.spillBytes > this.#tuning.spillHighWaterBytes;
  }

  /**
   * True when, besides, thread `to` has taken nothing from its ring for `spillStallMs`: it cannot
   * keep up (a tell is refused). Returns how long it has not read, or 0.
   */
  stalledFor(to: number): number {
    const out = this.#out[to];
    if (out === null || out === undefined || !out.stalled(this.#tuning.spillHighWaterBytes, this.#tuning.spillStallMs)) return 0;
    return out.stalledFor();
  }

  /** Bytes waiting in the spill to thread `to`. */
  spillBytesTo(to: number): number {
    return this.#out[to]?.spillBytes ?? 0;
  }

  /**
   * Encodes and writes one record to thread `to`, its header in an object the caller fills and
   * reuses (read here at once, never kept). Never blocks: a full ring spills to a queue on this
   * side. Throws SerializationError or MessageTooLargeError, and then nothing was sent.
   */
  write(to: number, h: OutboundHeader, payload: unknown, tag = ''): void {
    (this.#out[to] ?? this.#noRing(to)).send(h.kind, h.priority, h.target, h.sender, h.corr, payload, tag);
  }

  /**
   * Publishes this thread's counters and rings at the end of the current synchronous run
   * (coalesced with any flush already queued): for work that completes outside a turn, such as
   * an async handler that settles while its thread is parked, so that others see it done.
   */
  publishSoon(): void {
    this.#writers.queueFlush();
  }

  /** Largest encoded message accepted at all (RuntimeTuning.maxMessageBytes). */
  get maxMessageBytes(): number {
    return this.#tuning.maxMessageBytes;
  }

  /** A Control record for thread `to` (a runtime-level notice for the thread), every header field 0. */
  sendControl(to: number, record: unknown): void {
    (this.#out[to] ?? this.#noRing(to)).send(RecordKind.Control, 0, 0, 0, 0, record, '');
  }

  #noRing(to: number): never {
    throw new RangeError(`no ring from thread ${this.self} to ${to}`);
  }

  /** Called at the start of every flush: the layer above writes what it batched per turn. */
  beforeFlush: (() => void) | null = null;
  /** Called after a pass took records from the rings, before any work runs. */
  afterDrain: (() => void) | null = null;
  /**
   * Worker: called before a pass, ahead of anything it takes from the rings, when main's watch
   * bits (ControlBlock.watchBits) changed since the last pass. One load a pass.
   */
  onWatchBits: ((bits: number) => void) | null = null;

  /** Moves spilled records into rings, publishes every ring written, rings parked consumers. */
  flush(): void {
    this.beforeFlush?.();
    let spilled = 0;
    for (const out of this.#out) spilled += out?.spillBytes ?? 0;
    this.counters[STAT_SPILL_BYTES] = spilled;
    this.#publishCounts(); // counters first: see `counters`
    for (const out of this.#out) if (out !== null && !out.abandoned) out.flush();
  }

  /** The counters, and with them the custody log's done marks (see custody-log.ts), to shared memory. */
  #publishCounts(): void {
    const custody = this.custody;
    if (custody !== null) {
      custody.publish();
      this.counters[STAT_CUSTODY_BYTES] = custody.bytesHeld;
    }
    this.#shared.set(this.counters);
  }

  // ---- run queue ------------------------------------------------------------------------------

  /** Queues work for this thread's next pass. Wakes the thread if it is parked. */
  schedule(work: Runnable): void {
    this.#runq.push(work);
    if (this.#parked) this.#bell.ring();
  }

  /**
   * Work that a running piece of work just created (a child actor's start): it runs next, ahead
   * of the queue, in the order it was scheduled, so a tree of spawns grows depth first (its
   * leaves finish and free their memory while the rest is built, instead of the whole tree
   * existing at once). Outside a run it is plain schedule(). At most SOON_IN_A_ROW such runs
   * go before the queue's oldest gets one.
   */
  scheduleSoon(work: Runnable): void {
    if (!this.#running) {
      this.schedule(work);
      return;
    }
    this.#soon.push(work);
  }

  /** Publishes the hosted actor count and ready backlog, for placement and stats. */
  #publishLoad(): void {
    this.#ctl.publishLoad(this.self, this.#readers.sink!.actorCount, this.#runq.length + this.#soon.length);
  }

  // ---- the turn loop --------------------------------------------------------------------------

  /** The next work: what the last run created first (see scheduleSoon), else the queue's oldest. */
  #next(): Runnable | undefined {
    const soon = this.#soon;
    if (soon.length > 0 && (this.#soonInARow < SOON_IN_A_ROW || this.#runq.isEmpty)) {
      this.#soonInARow++;
      return soon.pop();
    }
    this.#soonInARow = 0;
    return this.#runq.shift();
  }

  /** Runs ready work until the queue is empty or the slice is over; returns how much ran. */
  #runReady(deadline: number): number {
    const current = this.#current;
    const soon = this.#soon;
    let n = 0;
    let check = 1;
    const timed = this.#onSampledRun;
    // The count of the next run timed, a local compared with a local at every run: a field
    // counted down at every run slowed a thread of short runs by a tenth. 0 (never) while untimed.
    let timeAt = timed === null ? 0 : this.#untilTimed;
    this.#running = true;
    try {
      for (let work = this.#next(); work !== undefined; work = this.#next()) {
        current[0] = work.key ?? 0; // a plain store: read only by a watchdog after a stall
        const base = soon.length;
        if (++n === timeAt) {
          this.#timedRun(work, timed!);
          timeAt = n + this.#stride;
        } else work.run();
        // What this run scheduled soon is popped last-first: reversed, it runs in its own order.
        if (soon.length - base > 1) reverseFrom(soon, base);
        // Check the clock after runs 1, 2, 4, ... 64, then every 64: performance.now() costs
        // ~30 ns, and a few long runs (an actor whose handlers take milliseconds) must not keep
        // the thread from its rings for 64 of them.
        if (n === check) {
          if (performance.now() > deadline) return n;
          check += n < 64 ? n : 64;
        }
      }
      return n;
    } finally {
      this.#running = false;
      // Runs left until the next timed, for the next call (unless timing changed meanwhile).
      if (timed !== null && this.#onSampledRun === timed) this.#untilTimed = Math.max(1, timeAt - n);
    }
  }

  #onSampledRun: ((key: number, ms: number) => void) | null = null;
  /** Runs until the next one timed (kept between calls of #runReady), and how many runs that one stands for. */
  #untilTimed = 1;
  #stride = 1;
  #strideSeed = 0x1e3779b9;

  /**
   * While `report` is set, runs are timed and reported (key of the work, milliseconds), not all
   * of them: a clock read costs more than many a run (a handler that forwards a message), and
   * timing one run in 16 still cost a system of such actors about a tenth. Each timed run stands for the runs
   * since the last (its milliseconds are scaled by their number). The number until the next is
   * drawn at random around a mean that the run just timed sets (TIMED_BUDGET_MS): after short
   * runs, about one in MAX_STRIDE at most is timed; after long ones, every one (the clock is cheap next
   * to them), and where runs are long the figure is exact. The draw comes before the run it
   * stands for is known, so the figure stays unbiased. null: stop. `now` reads the clock in
   * milliseconds (injected by tests).
   */
  timeRuns(report: ((key: number, ms: number) => void) | null, now: () => number = performanceNow): void {
    this.#onSampledRun = report;
    this.#runClock = now;
    this.#untilTimed = this.#stride = 1;
    this.#runMs = 0;
  }

  /**
   * The length of a timed run, averaged over the last few (each counts 1/8): the stride follows
   * the thread's runs, not the last one's. Set by the last alone, a short run among long ones (a
   * flush, an idle actor's turn) made the next timed run stand for dozens of long runs of other
   * actors: one CPU-heavy actor read 0.5 ms of CPU a second in one round and 478 in the next.
   */
  #runMs = 0;

  #runClock: () => number = performanceNow;

  #timedRun(work: Runnable, report: (key: number, ms: number) => void): void {
    const start = this.#runClock();
    work.run();
    const ms = this.#runClock() - start;
    report(work.key ?? 0, ms * this.#stride);
    const runMs = (this.#runMs += (ms - this.#runMs) / 8);
    // Small integers throughout (`| 0`): a field that holds a fraction or a number past 2^31 is a
    // boxed number.
    const mean = runMs * MAX_STRIDE <= TIMED_BUDGET_MS ? MAX_STRIDE : Math.floor(TIMED_BUDGET_MS / runMs) | 0;
    if (mean < 2) this.#stride = 1;
    else {
      // xorshift32: a stride from mean / 2 to about mean * 3 / 2, mean about `mean`.
      let x = this.#strideSeed;
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      this.#strideSeed = x | 0;
      this.#stride = ((mean >> 1) + ((x >>> 0) % mean) + 1) | 0;
    }
  }

  #hasWork(): boolean {
    return !this.#runq.isEmpty || this.#soon.length > 0 || this.#writers.spilling > 0 || this.#readers.hasData();
  }

  async #run(): Promise<void> {
    const ctl = this.#ctl;
    const self = this.self;
    const slice = this.#tuning.sliceMs;
    const follows = self !== 0;
    while (!this.#closed) {
      const start = performance.now();
      const deadline = start + slice;
      ctl.beat(self);
      let traffic = false;
      let ran = 0;
      do {
        if (follows) this.#followWatchBits();
        if (this.#readers.drainAll()) {
          traffic = true;
          this.afterDrain?.();
        }
        ran += this.#runReady(deadline);
        this.flush();
        // Microtasks only (~0.14 us): async handlers that settled resume within this slice.
        await null;
      } while (!this.#closed && this.#hasWork() && performance.now() < deadline);
      const took = performance.now() - start;
      this.counters[STAT_BUSY_NS]! += took;
      if (took > this.counters[STAT_LONGEST_TURN_MS]!) this.counters[STAT_LONGEST_TURN_MS] = took;
      this.#publishLoad();
      this.#shared.set(this.counters);
      if (this.#closed) break;
      if (traffic) this.#sawTraffic = true;
      // Idle means passes that found nothing: work that arrived during a yield resets the count.
      if (traffic || ran > 0) this.#idleYields = 0;
      if (this.#hasWork()) {
        this.#idleYields = 0;
        await yieldToEventLoop();
        continue;
      }
      // Publish what the last microtasks sent (an ask made by a continuation, say) before polling:
      // the peer cannot answer what it has not seen, and the queued flush would run only after.
      this.flush();
      if (this.#sawTraffic && this.#spin()) continue;
      // Work often comes from this thread's own event loop (an awaited timer or I/O in a handler):
      // look again after a couple of event-loop turns (~2 us each) before paying for a park and
      // a wake-up through the futex.
      if (this.#idleYields < IDLE_YIELDS) {
        this.#idleYields++;
        await yieldToEventLoop();
        continue;
      }
      this.#idleYields = 0;
      this.#sawTraffic = false;
      await this.#park();
    }
    this.flush();
  }

  #followWatchBits(): void {
    const bits = this.#ctl.watchBits();
    if (bits === this.#watchBits) return;
    this.#watchBits = bits;
    this.onWatchBits?.(bits);
  }

  /** Polls the inbound rings for a few microseconds; true if something arrived. */
  #spin(): boolean {
    const micros = this.#tuning.spinMicros;
    if (micros <= 0) return false;
    const until = performance.now() + micros / 1000;
    const readers = this.#readers;
    do {
      if (readers.hasData()) return true;
    } while (performance.now() < until);
    return false;
  }

  async #park(): Promise<void> {
    const bell = this.#bell.prepareToPark();
    if (this.#closed || this.#hasWork()) {
      this.#bell.cancelPark();
      return;
    }
    this.#parked = true;
    await this.#bell.park(bell);
    this.#parked = false;
  }
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Runs from the soon stack before the queue's oldest gets a turn: depth first, never starving the queue. */
const SOON_IN_A_ROW = 64;

/** Reverses `items` from `from` to its end, in place. */
function reverseFrom(items: unknown[], from: number): void {
  for (let i = from, j = items.length - 1; i < j; i++, j--) {
    const t = items[i];
    items[i] = items[j];
    items[j] = t;
  }
}
