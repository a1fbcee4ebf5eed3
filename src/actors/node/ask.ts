// Pending replies of one thread: correlation id -> promise callbacks. Timeouts live in one
// min-heap of deadlines with a single armed timer (a timer per ask costs more than the ask), so
// asks with equal timeouts never re-arm it. A reply that finds no pending entry (timed out, or a
// second reply) is a late reply. Asks of a ref are timed, from open to settling, into the
// thread's ask histograms; a timed ask's start is the clock reading its deadline needs anyway.

import { invalid } from '../../validate.js';
import { AskTimeoutError } from '../../errors.js';
import type { Clock, TimerHandle } from '../../runtime/clock.js';
import { observe } from '../../runtime/histogram.js';
import { HIST_ASK_ERROR, HIST_ASK_OK, HIST_ASK_TIMEOUT } from '../../runtime/layout.js';
import { CorrTable } from './corr-table.js';

/** What an ask is about, for its timeout's message: made only if it times out. */
export type AskSubject = (() => string) | { describe(): string };

interface Pending {
  readonly corr: number;
  /** The thread whose actor is to answer (-1: not known). */
  readonly thread: number;
  readonly deadline: number;
  /** When it was opened, by the clock, if it is timed into the histograms (an ask of a ref); else -1. */
  readonly start: number;
  readonly timeoutMs: number;
  /** With `type`, the ref asked (`"type" to Name id`); else a function that says what it is. */
  readonly about: AskSubject;
  readonly type: string;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  /** What a reply is turned into before it resolves the promise (null: the reply itself). */
  readonly map: ((value: unknown) => unknown) | null;
  settled: boolean;
}

function describe(entry: Pending): string {
  const about = entry.about;
  return typeof about === 'function' ? about() : `${JSON.stringify(entry.type)} to ${about.describe()}`;
}

export class AskTable {
  readonly #pending = new CorrTable<Pending>();
  readonly #clock: Clock;
  /** The thread's histograms (runtime/histogram.ts), or null: nothing is timed. */
  readonly #histograms: Float64Array | null;
  /** Min-heap by deadline; settled entries are dropped lazily when they reach the top. */
  readonly #heap: Pending[] = [];
  #timer: TimerHandle | null = null;
  #armedFor = Number.POSITIVE_INFINITY;
  #next = 0;

  constructor(clock: Clock, histograms: Float64Array | null = null) {
    this.#clock = clock;
    this.#histograms = histograms;
  }

  get size(): number {
    return this.#pending.size;
  }

  /** The correlation id the next open() will give. */
  get nextCorr(): number {
    return (this.#next % 0x7ffffffe) + 1;
  }

  /**
   * Registers a reply slot; returns its correlation id (never 0) and the promise. 0 ms: no
   * timeout. `about` (with `type`, an ask of that type to the ref `about`) names it in a timeout;
   * an ask of a ref is timed into the histograms, the runtime's own (`about` a function) are not.
   * `map` turns the reply into what the promise resolves with (a send's receipt into its result,
   * without a promise more).
   */
  open<T>(timeoutMs: number, about: AskSubject, thread = -1, type = '', map: ((value: unknown) => T) | null = null): { corr: number; promise: Promise<T> } {
    this.#next = (this.#next % 0x7ffffffe) + 1;
    const corr = this.#next;
    const timed = timeoutMs > 0 && Number.isFinite(timeoutMs);
    const measured = this.#histograms !== null && typeof about !== 'function';
    const now = timed || measured ? this.#clock.now() : 0;
    let resolve!: (value: unknown) => void;
    let reject!: (error: Error) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res as (value: unknown) => void;
      reject = rej;
    });
    const entry: Pending = {
      corr,
      thread,
      deadline: timed ? now + timeoutMs : Number.POSITIVE_INFINITY,
      start: measured ? now : -1,
      timeoutMs,
      about,
      type,
      resolve,
      reject,
      map,
      settled: false,
    };
    this.#pending.add(entry);
    if (timed) {
      this.#push(entry);
      if (entry.deadline < this.#armedFor) this.#arm(entry.deadline);
    }
    return { corr, promise };
  }

  /** False when nothing waits for this id any more (a late reply). */
  resolve(corr: number, value: unknown): boolean {
    const entry = this.#take(corr);
    if (entry === undefined) return false;
    if (entry.start >= 0) this.#measure(entry, HIST_ASK_OK, this.#clock.now());
    entry.resolve(entry.map === null ? value : entry.map(value));
    return true;
  }

  /** Ask `corr` rejects with the signal's reason should `signal` abort before it settles (an answer after is a late reply). */
  abortWith(corr: number, promise: Promise<unknown>, signal: AbortSignal | undefined): void {
    if (signal === undefined) return;
    const abort = (): void => void this.reject(corr, signal.reason as Error);
    signal.addEventListener('abort', abort, { once: true });
    const done = (): void => signal.removeEventListener('abort', abort);
    promise.then(done, done);
  }

  reject(corr: number, error: Error): boolean {
    const entry = this.#take(corr);
    if (entry === undefined) return false;
    if (entry.start >= 0) this.#measure(entry, HIST_ASK_ERROR, this.#clock.now());
    entry.reject(error);
    return true;
  }

  /** Rejects every ask waiting on an actor of `thread` (it died). */
  rejectThread(thread: number, error: (describe: string) => Error): void {
    for (const entry of this.#pending.entries()) if (entry.thread === thread) this.reject(entry.corr, error(describe(entry)));
  }

  rejectAll(error: () => Error): void {
    for (const entry of this.#pending.entries()) this.reject(entry.corr, error());
    this.#heap.length = 0;
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
    this.#armedFor = Number.POSITIVE_INFINITY;
  }

  #take(corr: number): Pending | undefined {
    const entry = this.#pending.delete(corr);
    if (entry === undefined) return undefined;
    entry.settled = true;
    if (this.#pending.size === 0 && this.#heap.length > 0) {
      // Nothing waits any more: drop the settled deadlines and the armed timer with them.
      this.#heap.length = 0;
      if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
      this.#timer = null;
      this.#armedFor = Number.POSITIVE_INFINITY;
    }
    return entry;
  }

  /** Counts how long `entry` took, in histogram `n`. */
  #measure(entry: Pending, n: number, now: number): void {
    observe(this.#histograms!, n, now - entry.start);
  }

  #arm(deadline: number): void {
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    this.#armedFor = deadline;
    this.#timer = this.#clock.setTimeout(this.#expire, Math.max(0, deadline - this.#clock.now()));
  }

  readonly #expire = (): void => {
    this.#timer = null;
    this.#armedFor = Number.POSITIVE_INFINITY;
    const now = this.#clock.now();
    const heap = this.#heap;
    while (heap.length > 0) {
      const top = heap[0]!;
      if (!top.settled && top.deadline > now) {
        this.#arm(top.deadline);
        return;
      }
      this.#pop();
      if (top.settled) continue;
      this.#pending.delete(top.corr);
      top.settled = true;
      if (top.start >= 0) this.#measure(top, HIST_ASK_TIMEOUT, now);
      top.reject(new AskTimeoutError(`ask ${describe(top)} timed out after ${top.timeoutMs} ms`));
    }
  };

  #push(entry: Pending): void {
    const heap = this.#heap;
    let i = heap.length;
    heap.push(entry);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.deadline <= entry.deadline) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = entry;
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    let i = 0;
    const n = heap.length;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && heap[right]!.deadline < heap[left]!.deadline ? right : left;
      if (heap[child]!.deadline >= last.deadline) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
  }
}

/** The `signal` option of an ask or send, checked: undefined without one; InvalidArgumentError if it is not an AbortSignal. */
export function checkSignal(signal: unknown): AbortSignal | undefined {
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalid('options.signal', 'an AbortSignal', signal);
  return signal;
}
