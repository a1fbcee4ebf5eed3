// Pending replies of one thread: correlation id -> promise callbacks, with a timeout each.
// A reply that finds no pending entry (timed out, or a second reply) is a late reply.

import { AskTimeoutError } from '../errors.js';
import type { Clock, TimerHandle } from '../runtime/clock.js';

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: TimerHandle | null;
}

export class AskTable {
  readonly #pending = new Map<number, Pending>();
  readonly #clock: Clock;
  #next = 0;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  get size(): number {
    return this.#pending.size;
  }

  /** Registers a reply slot; returns its correlation id (never 0) and the promise. */
  open<T>(timeoutMs: number, describe: () => string): { corr: number; promise: Promise<T> } {
    this.#next = (this.#next % 0x7ffffffe) + 1;
    const corr = this.#next;
    let entry!: Pending;
    const promise = new Promise<T>((resolve, reject) => {
      entry = { resolve: resolve as (value: unknown) => void, reject, timer: null };
    });
    if (timeoutMs > 0 && Number.isFinite(timeoutMs)) {
      entry.timer = this.#clock.setTimeout(() => {
        if (this.#pending.get(corr) !== entry) return;
        this.#pending.delete(corr);
        entry.reject(new AskTimeoutError(`ask ${describe()} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
    }
    this.#pending.set(corr, entry);
    return { corr, promise };
  }

  /** False when nothing waits for this id any more (a late reply). */
  resolve(corr: number, value: unknown): boolean {
    const entry = this.#take(corr);
    if (entry === undefined) return false;
    entry.resolve(value);
    return true;
  }

  reject(corr: number, error: Error): boolean {
    const entry = this.#take(corr);
    if (entry === undefined) return false;
    entry.reject(error);
    return true;
  }

  rejectAll(error: () => Error): void {
    for (const corr of [...this.#pending.keys()]) this.reject(corr, error());
  }

  #take(corr: number): Pending | undefined {
    const entry = this.#pending.get(corr);
    if (entry === undefined) return undefined;
    this.#pending.delete(corr);
    if (entry.timer !== null) this.#clock.clearTimeout(entry.timer);
    return entry;
  }
}
