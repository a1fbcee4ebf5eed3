// A clock that moves only when told to: timers fire in deadline order inside advance(). Pass it
// to createSystem({ clock }) (or use createTestSystem) and ask timeouts and restart windows on
// the main thread follow it, so tests never sleep.

import type { Clock, TimerHandle } from '../index.js';

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly callback: () => void;
  cancelled: boolean;
}

export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: Timer[] = [];

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const timer: Timer = { at: this.#now + Math.max(0, ms), seq: this.#seq++, callback, cancelled: false };
    this.#timers.push(timer);
    return timer as unknown as TimerHandle;
  }

  clearTimeout(handle: TimerHandle): void {
    (handle as unknown as Timer).cancelled = true;
  }

  /** Timers set and not yet fired or cancelled. */
  get pending(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in deadline order. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      let due: Timer | undefined;
      for (const t of this.#timers) {
        if (t.cancelled || t.at > target) continue;
        if (due === undefined || t.at < due.at || (t.at === due.at && t.seq < due.seq)) due = t;
      }
      if (due === undefined) break;
      this.#now = due.at;
      due.cancelled = true;
      due.callback();
    }
    this.#timers = this.#timers.filter((t) => !t.cancelled);
    this.#now = target;
  }
}
