// A clock that moves only when told to: timers fire in deadline order inside advance().

import type { Clock } from 'troupe';

interface Timer {
  at: number;
  seq: number;
  callback: () => void;
  cancelled: boolean;
}

export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: Timer[] = [];

  constructor(start = 1_000_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): object {
    const timer: Timer = { at: this.#now + ms, seq: this.#seq++, callback, cancelled: false };
    this.#timers.push(timer);
    return timer;
  }

  clearTimeout(handle: object): void {
    (handle as Timer).cancelled = true;
  }

  get pending(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }

  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      const due = this.#timers
        .filter((t) => !t.cancelled && t.at <= target)
        .sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (due === undefined) break;
      this.#now = due.at;
      due.cancelled = true;
      due.callback();
    }
    this.#timers = this.#timers.filter((t) => !t.cancelled);
    this.#now = target;
  }
}
