// An actor's timers: messages it sends itself later (once) or repeatedly (every), by key. Starting
// a timer under a key that is in use replaces it. All of an actor's timers are cancelled when it
// stops or restarts, so a timer never reaches a later incarnation. Time comes from the node's
// Clock (a ManualClock in tests on the main thread).

import type { Clock, TimerHandle } from '../../runtime/clock.js';
import { validateNumber, validateString } from '../../validate.js';

export interface Timers {
  /** Sends `type`/`payload` to this actor once, after `ms`. Returns the key. */
  once(ms: number, type: string, payload?: unknown, key?: string): string;
  /** Sends `type`/`payload` to this actor every `ms` until cancelled. Returns the key. */
  every(ms: number, type: string, payload?: unknown, key?: string): string;
  /** Cancels the timer under `key`; false if there was none. */
  cancel(key: string): boolean;
  /** Whether a timer runs under `key`. */
  isActive(key: string): boolean;
}

interface Entry {
  handle: TimerHandle;
  readonly repeat: boolean;
  /** When it fires next (clock time), its period, and what it sends: what a move carries. */
  due: number;
  readonly ms: number;
  readonly type: string;
  readonly payload: unknown;
}

/** A running timer as data: key, ms until it fires next, its period (0: once), type, payload. */
export type TimerData = [key: string, dueInMs: number, everyMs: number, type: string, payload: unknown];

export class ActorTimers implements Timers {
  readonly #clock: Clock;
  readonly #deliver: (type: string, payload: unknown) => void;
  readonly #entries = new Map<string, Entry>();
  #next = 0;

  constructor(clock: Clock, deliver: (type: string, payload: unknown) => void) {
    this.#clock = clock;
    this.#deliver = deliver;
  }

  once(ms: number, type: string, payload?: unknown, key?: string): string {
    return this.#start(ms, type, payload, key, false);
  }

  every(ms: number, type: string, payload?: unknown, key?: string): string {
    return this.#start(ms, type, payload, key, true);
  }

  cancel(key: string): boolean {
    const entry = this.#entries.get(key);
    if (entry === undefined) return false;
    this.#clock.clearTimeout(entry.handle);
    this.#entries.delete(key);
    return true;
  }

  isActive(key: string): boolean {
    return this.#entries.has(key);
  }

  cancelAll(): void {
    for (const entry of this.#entries.values()) this.#clock.clearTimeout(entry.handle);
    this.#entries.clear();
  }

  /** The running timers as data, and the number the next unnamed one takes (an actor that moves takes them along). */
  export(): { timers: TimerData[]; next: number } {
    const now = this.#clock.now();
    const timers: TimerData[] = [];
    for (const [key, e] of this.#entries) timers.push([key, Math.max(0, e.due - now), e.repeat ? e.ms : 0, e.type, e.payload]);
    return { timers, next: this.#next };
  }

  /** Starts again timers that export() gave (on the thread the actor moved to). */
  resume(timers: readonly TimerData[], next: number): void {
    this.#next = Math.max(this.#next, next);
    for (const [key, dueIn, every, type, payload] of timers) this.#arm(key, dueIn, every > 0 ? every : dueIn, type, payload, every > 0);
  }

  #start(ms: number, type: string, payload: unknown, key: string | undefined, repeat: boolean): string {
    validateNumber(ms, repeat ? 'timers.every(ms)' : 'timers.once(ms)', repeat ? 1 : 0, 2 ** 31 - 1);
    validateString(type, 'timers(type)');
    const k = key === undefined ? `timer-${++this.#next}` : validateString(key, 'timers(key)');
    this.#arm(k, ms, ms, type, payload, repeat);
    return k;
  }

  /** Fires first after `first` ms, then (repeating) every `ms`. */
  #arm(k: string, first: number, ms: number, type: string, payload: unknown, repeat: boolean): void {
    this.cancel(k);
    const clock = this.#clock;
    const entry: Entry = { handle: null as unknown as TimerHandle, repeat, due: clock.now() + first, ms, type, payload };
    const fire = (): void => {
      if (this.#entries.get(k) !== entry) return;
      if (repeat) {
        entry.due = clock.now() + ms;
        entry.handle = clock.setTimeout(fire, ms);
      } else this.#entries.delete(k);
      this.#deliver(type, payload);
    };
    entry.handle = clock.setTimeout(fire, first);
    this.#entries.set(k, entry);
  }
}
