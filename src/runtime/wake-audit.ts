// The wake-up audit: wake.ts argues that no wake-up is lost; this checks it while the system runs.
// A thread asleep on its bell while records wait unread in its rings, seen so at two looks a
// period apart with its bell not rung between them, missed a wake-up: a producer publishes and
// rings within microseconds, never a whole period apart. Such a thread is rung, and reported: a
// missed wake-up is a bug in the runtime, and the audit turns what would be a hang (every thread
// asleep, a message waiting forever) into a delay of a period or two that is counted and told.
// Runs on main; reads only the control block and the rings' cursors, so it costs a few atomic
// loads per thread and period, whatever the traffic.

import { everyUnref } from './clock.js';
import type { ControlBlock } from './control-block.js';

export interface WakeAuditOptions {
  readonly control: ControlBlock;
  /** Bytes published into `thread`'s rings and not yet read by it. */
  readonly unread: (thread: number) => number;
  /** The threads to look at, main included. */
  readonly threads: () => Iterable<number>;
  /** False for a thread not to be judged now (not started, dead, being replaced). */
  readonly isUp: (thread: number) => boolean;
  /** A missed wake-up, found and rung: `bytes` waited in its rings for at least a period. */
  readonly onLate: (thread: number, bytes: number) => void;
  /** Milliseconds between looks. */
  readonly periodMs?: number;
  /** Calls `look` every `periodMs` until the returned function is called. An unref'd setInterval by default. */
  readonly every?: (look: () => void, periodMs: number) => () => void;
}

/** Between looks: long enough that no producer is ever that slow to ring, short enough that a miss costs little. */
export const WAKE_AUDIT_PERIOD_MS = 100;

export class WakeAudit {
  readonly #options: WakeAuditOptions;
  /** The bell's ring count of each thread found asleep with records waiting at the last look. */
  readonly #suspect = new Map<number, number>();
  #cancel: (() => void) | null = null;

  constructor(options: WakeAuditOptions) {
    this.#options = options;
  }

  start(): void {
    const every = this.#options.every ?? everyUnref;
    this.#cancel ??= every(() => this.look(), this.#options.periodMs ?? WAKE_AUDIT_PERIOD_MS);
  }

  stop(): void {
    this.#cancel?.();
    this.#cancel = null;
    this.#suspect.clear();
  }

  /** One look at every thread (what start() runs each period). */
  look(): void {
    const { control, unread, isUp, onLate } = this.#options;
    for (const thread of this.#options.threads()) {
      const was = this.#suspect.get(thread);
      this.#suspect.delete(thread);
      if (!isUp(thread) || !control.parked(thread)) continue;
      const bytes = unread(thread);
      if (bytes === 0) continue;
      const bell = control.bell(thread);
      const rings = bell.rings();
      if (was !== rings) {
        // First seen so, or rung since (it woke and slept again): a period to ring it in.
        this.#suspect.set(thread, rings);
        continue;
      }
      bell.ring();
      onLate(thread, bytes);
    }
  }
}
