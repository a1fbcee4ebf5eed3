// A view over every thread's control block (layout.ts CTL_*, STAT_*): one region of CTL_BYTES
// per thread in one SharedArrayBuffer. Each field has one writer, named at its setter; any thread
// reads. With wake.ts (the bell words), the only code that knows the control block's offsets.

import {
  CTL_ACTORS,
  CTL_BYTES,
  CTL_DL_WATCHED,
  CTL_F64_BASE,
  CTL_F64_CURRENT,
  CTL_F64_MARK,
  CTL_F64_MIGRATIONS,
  CTL_F64_HISTOGRAMS,
  CTL_HEARTBEAT,
  CTL_I32,
  CTL_LOAD,
  CTL_PARKED,
  CTL_STATE,
  CTL_WATCH_BITS,
  HISTOGRAM_SLOTS,
  HISTOGRAMS,
  STAT_FIELDS,
  type ThreadState,
} from './layout.js';
import { Bell } from './wake.js';

/** Float64 slots in one thread's region. */
const CTL_F64 = CTL_BYTES / 8;

export class ControlBlock {
  readonly threadCount: number;
  readonly #ctl: SharedArrayBuffer;
  readonly #i32: Int32Array;
  readonly #f64: Float64Array;
  readonly #stats: Float64Array[];
  readonly #histograms: Float64Array[];

  constructor(ctl: SharedArrayBuffer) {
    this.threadCount = ctl.byteLength / CTL_BYTES;
    this.#ctl = ctl;
    this.#i32 = new Int32Array(ctl);
    this.#f64 = new Float64Array(ctl);
    this.#stats = [];
    this.#histograms = [];
    for (let t = 0; t < this.threadCount; t++) {
      this.#stats.push(new Float64Array(ctl, t * CTL_BYTES + CTL_F64_BASE * 8, STAT_FIELDS));
      this.#histograms.push(new Float64Array(ctl, t * CTL_BYTES + CTL_F64_HISTOGRAMS * 8, HISTOGRAMS * HISTOGRAM_SLOTS));
    }
  }

  /** The shared memory this views, for a thread's wiring. */
  get buffer(): SharedArrayBuffer {
    return this.#ctl;
  }

  state(thread: number): ThreadState {
    // Atomics.load: another thread sets it (a worker when it starts or stops, main when one dies).
    return Atomics.load(this.#i32, thread * CTL_I32 + CTL_STATE) as ThreadState;
  }

  /** Written by the thread itself (Running, Stopped) and by main (Dead, Unused). */
  setState(thread: number, state: ThreadState): void {
    // Atomics.store: a reader that sees the new state sees everything written before it.
    Atomics.store(this.#i32, thread * CTL_I32 + CTL_STATE, state);
  }

  /** A counter the thread bumps every turn: while it moves, the thread makes progress. */
  heartbeat(thread: number): number {
    // Atomics.load: the watchdog reads another thread's heartbeat.
    return Atomics.load(this.#i32, thread * CTL_I32 + CTL_HEARTBEAT);
  }

  /** Owner only, once a turn. A plain store: the watchdog needs to see it move within a period, not at once. */
  beat(thread: number): void {
    const at = thread * CTL_I32 + CTL_HEARTBEAT;
    this.#i32[at] = (this.#i32[at]! + 1) | 0;
  }

  /** True while the thread sleeps on its bell (wake.ts sets and clears it). */
  parked(thread: number): boolean {
    // Atomics.load: the flag flips under the wake-up handshake on another thread.
    return Atomics.load(this.#i32, thread * CTL_I32 + CTL_PARKED) === 1;
  }

  /** Live actors the thread hosts, as of its last turn. A plain read: an estimate for placement and stats. */
  actors(thread: number): number {
    return this.#i32[thread * CTL_I32 + CTL_ACTORS]!;
  }

  /** The thread's ready backlog (its run queue), as of its last turn. A plain read, as actors(). */
  load(thread: number): number {
    return this.#i32[thread * CTL_I32 + CTL_LOAD]!;
  }

  /** Owner only, once a turn. Plain stores: readers take them as estimates (see actors()). */
  publishLoad(thread: number, actors: number, backlog: number): void {
    this.#i32[thread * CTL_I32 + CTL_ACTORS] = actors;
    this.#i32[thread * CTL_I32 + CTL_LOAD] = backlog;
  }

  /** True while someone on main subscribes to dead letters (a flag in main's block). */
  deadLettersWatched(): boolean {
    // Atomics.load: main sets it; workers read it before they send a dead letter there.
    return Atomics.load(this.#i32, CTL_DL_WATCHED) === 1;
  }

  /** Main only. */
  watchDeadLetters(on: boolean): void {
    // Atomics.store: workers see the change at their next dead letter.
    Atomics.store(this.#i32, CTL_DL_WATCHED, on ? 1 : 0);
  }

  /** Main's watch bits: what main wants its workers to forward to it (the layer above names each bit). */
  watchBits(): number {
    // Atomics.load: main sets them; a worker reads them once a pass.
    return Atomics.load(this.#i32, CTL_WATCH_BITS);
  }

  /**
   * Main only. Rings every other thread's bell: a parked worker runs a pass and sees the change
   * now, not at its next message.
   */
  setWatchBits(bits: number): void {
    // Atomics.store: a worker that sees the new bits sees everything main wrote before them.
    Atomics.store(this.#i32, CTL_WATCH_BITS, bits);
    for (let thread = 1; thread < this.threadCount; thread++) this.bell(thread).ring();
  }

  /**
   * The thread's published counters (layout.ts STAT_*), a view into shared memory: the same
   * view at every call. The owner writes it (ThreadRuntime); others read it as it stands.
   */
  stats(thread: number): Float64Array {
    return this.#stats[thread]!;
  }

  /**
   * The thread's histograms (layout.ts HIST_*, read and written through histogram.ts), a view into
   * shared memory: the same view at every call. The owner writes it in place; others read it.
   */
  histograms(thread: number): Float64Array {
    return this.#histograms[thread]!;
  }

  /**
   * The key of the actor whose work the thread runs now (0: none). A plain read (Atomics has no
   * Float64): the watchdog reads it after the thread stalled, and a stalled thread writes no more.
   */
  running(thread: number): number {
    return this.#f64[thread * CTL_F64 + CTL_F64_CURRENT]!;
  }

  /** The owner's one-slot view of running(), written before each piece of work runs. */
  runningSlot(thread: number): Float64Array {
    return new Float64Array(this.#ctl, thread * CTL_BYTES + CTL_F64_CURRENT * 8, 1);
  }

  /** The owner's two-slot mark (CTL_F64_MARK): what it says it is doing, left for its replacement. */
  markSlots(thread: number): Float64Array {
    return new Float64Array(this.#ctl, thread * CTL_BYTES + CTL_F64_MARK * 8, 2);
  }

  /** The thread's two migration counters (CTL_F64_MIGRATIONS: out, in), owner-written. */
  migrations(thread: number): Float64Array {
    return new Float64Array(this.#ctl, thread * CTL_BYTES + CTL_F64_MIGRATIONS * 8, 2);
  }

  /** The thread's bell: ring it to wake the thread if it is parked (wake.ts). */
  bell(thread: number): Bell {
    return new Bell(this.#i32, thread * CTL_I32);
  }
}
