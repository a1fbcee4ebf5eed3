// One thread's entity reminders: a timer for each reminder of the keys that live here, set again
// at start for those stored (one that fell due while the process was down fires at once). What a
// handler sets or cancels waits for its commit (entities.ts); a reminder that fires is a message
// to its entity, stored before the reminder moves on to its next due time or is gone, so it comes
// at least once.

import type { TimerHandle } from '../../runtime/clock.js';
import { invalid, validateNumber, validateObject, validateKeys, validateString } from '../../validate.js';
import { MAX_NAME_BYTES, byteLength } from './entity-ids.js';
import type { ReminderOptions } from '../types.js';
import type { EntityHost } from './entity-host.js';
import type { ReminderChange } from './entity-store.js';

/** Timers reach this far at most; a reminder due later is looked at again then. */
const LONGEST_TIMER_MS = 2 ** 31 - 1;

/** A change from ctx.remind(name, when), checked; `now` in epoch ms. */
export function reminderChange(name: string, when: ReminderOptions, now: number): ReminderChange {
  validateString(name, 'ctx.remind(name)');
  if (name === '' || byteLength(name) > MAX_NAME_BYTES) throw invalid('ctx.remind(name)', `a name of 1 to ${MAX_NAME_BYTES} bytes (UTF-8)`, name);
  validateObject(when, 'ctx.remind(when)');
  validateKeys(when, 'ctx.remind(when)', ['at', 'afterMs', 'everyMs']);
  if ((when.at === undefined) === (when.afterMs === undefined)) throw invalid('ctx.remind(when)', 'one of at or afterMs', when);
  // Whole epoch milliseconds, rounded up: a reminder is never delivered before its due time by Date.now().
  const due = Math.ceil(when.at !== undefined ? validateNumber(when.at, 'ctx.remind(when).at', 0, Number.MAX_SAFE_INTEGER) : now + validateNumber(when.afterMs, 'ctx.remind(when).afterMs', 0, Number.MAX_SAFE_INTEGER));
  const everyMs = when.everyMs === undefined ? 0 : validateNumber(when.everyMs, 'ctx.remind(when).everyMs', 1, Number.MAX_SAFE_INTEGER);
  return [name, { due, everyMs }];
}

export class Reminders {
  readonly #host: EntityHost;
  readonly #fire: (id: string, name: string, due: number, everyMs: number) => void;
  readonly #timers = new Map<string, TimerHandle>();

  constructor(host: EntityHost, fire: (id: string, name: string, due: number, everyMs: number) => void) {
    this.#host = host;
    this.#fire = fire;
  }

  /**
   * How often each reminder (and each key, for a deletion) was set or cancelled by a commit: a
   * reminder that fires compares it before and after its message is stored, and steps aside if a
   * handler changed it meanwhile.
   */
  readonly #versions = new Map<string, number>();

  version(id: string, name: string): string {
    return `${this.#versions.get(id) ?? 0}.${this.#versions.get(`${id}\u0000${name}`) ?? 0}`;
  }

  #bump(key: string): void {
    this.#versions.set(key, (this.#versions.get(key) ?? 0) + 1);
  }

  /** What a commit set or cancelled for `id`, now in effect. */
  apply(id: string, changes: readonly ReminderChange[]): void {
    for (const [name, set] of changes) {
      this.#bump(`${id}\u0000${name}`);
      if (set === null) this.cancel(id, name);
      else this.schedule(id, name, set.due, set.everyMs);
    }
  }

  schedule(id: string, name: string, due: number, everyMs: number): void {
    this.cancel(id, name);
    const clock = this.#host.clock;
    const key = `${id}\u0000${name}`;
    const wait = Math.max(0, Math.ceil(due - clock.now()) + 1); // timers may fire a little early: never before due
    const timer = clock.setTimeout(() => {
      this.#timers.delete(key);
      if (wait > LONGEST_TIMER_MS) this.schedule(id, name, due, everyMs);
      else this.#fire(id, name, due, everyMs);
    }, Math.min(wait, LONGEST_TIMER_MS));
    this.#timers.set(key, timer);
  }

  cancel(id: string, name: string): void {
    const key = `${id}\u0000${name}`;
    const timer = this.#timers.get(key);
    if (timer === undefined) return;
    this.#host.clock.clearTimeout(timer);
    this.#timers.delete(key);
  }

  /** Every reminder of `id` (its entity was deleted). */
  cancelAll(id: string): void {
    this.#bump(id);
    for (const [key, timer] of this.#timers) {
      if (!key.startsWith(`${id}\u0000`)) continue;
      this.#host.clock.clearTimeout(timer);
      this.#timers.delete(key);
    }
  }

  /** Every reminder of the keys `which` picks (their shard left this node). */
  cancelWhere(which: (id: string) => boolean): void {
    for (const key of [...this.#timers.keys()]) {
      const id = key.slice(0, key.lastIndexOf('\u0000'));
      if (which(id)) this.cancelAll(id);
    }
  }

  close(): void {
    for (const timer of this.#timers.values()) this.#host.clock.clearTimeout(timer);
    this.#timers.clear();
  }
}
