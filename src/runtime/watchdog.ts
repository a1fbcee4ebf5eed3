// The stall watchdog: a worker thread that is neither parked nor moving its heartbeat for the
// stall limit (a handler stuck in a loop) is reported, with the key of the actor it was running.
// Whoever is told ends the thread, and its death is handled as any other. Runs on main; reads
// only the control block, so a stuck thread cannot keep it from looking.

import { everyUnref } from './clock.js';
import type { ControlBlock } from './control-block.js';

export interface WatchdogOptions {
  readonly control: ControlBlock;
  /** Milliseconds without progress that make a stall. */
  readonly limitMs: number;
  /** The worker threads to watch, as of now (the list grows as dedicated threads start). */
  readonly threads: () => Iterable<number>;
  /**
   * False for a thread not to be judged now: not started, dead, between a death and its
   * replacement, or already reported (its end under way). What was seen of it is dropped, so a
   * replacement starts with a clean slate.
   */
  readonly isUp: (thread: number) => boolean;
  /**
   * A stall: `running` is the key of the actor whose work the thread was running (0: none),
   * `stalledMs` how long it has made no progress. Called at every check until isUp turns false.
   */
  readonly onStall: (thread: number, running: number, stalledMs: number) => void;
  /** Monotonic milliseconds. performance.now by default: a stall is real time, never a user's clock. */
  readonly now?: () => number;
  /** Calls `check` every `periodMs` until the returned function is called. An unref'd setInterval by default. */
  readonly every?: (check: () => void, periodMs: number) => () => void;
}

/** What a thread was last seen doing: its heartbeat, and since when it counts as not moving. */
interface Sighting {
  beat: number;
  since: number;
}

export class Watchdog {
  /** How often it looks: a quarter of the limit, at least 10 ms. */
  readonly periodMs: number;
  readonly #control: ControlBlock;
  readonly #limitMs: number;
  readonly #threads: () => Iterable<number>;
  readonly #isUp: (thread: number) => boolean;
  readonly #onStall: (thread: number, running: number, stalledMs: number) => void;
  readonly #now: () => number;
  readonly #every: (check: () => void, periodMs: number) => () => void;
  readonly #seen = new Map<number, Sighting>();
  #cancel: (() => void) | null = null;

  constructor(options: WatchdogOptions) {
    this.#control = options.control;
    this.#limitMs = options.limitMs;
    this.#threads = options.threads;
    this.#isUp = options.isUp;
    this.#onStall = options.onStall;
    this.#now = options.now ?? (() => performance.now());
    this.#every = options.every ?? everyUnref;
    this.periodMs = Math.max(10, options.limitMs / 4);
  }

  /** Starts looking every periodMs. Idempotent. */
  start(): void {
    this.#cancel ??= this.#every(() => this.check(), this.periodMs);
  }

  stop(): void {
    this.#cancel?.();
    this.#cancel = null;
  }

  /** Forgets what was seen of `thread`: its next sighting is a first one, with its grace. */
  forget(thread: number): void {
    this.#seen.delete(thread);
  }

  /** One look at every thread: what start() runs each period. */
  check(): void {
    const now = this.#now();
    const ctl = this.#control;
    for (const thread of this.#threads()) {
      if (!this.#isUp(thread)) {
        this.#seen.delete(thread);
        continue;
      }
      const beat = ctl.heartbeat(thread);
      const last = this.#seen.get(thread);
      if (last === undefined) {
        // First sight (a start or a replacement, which may still be importing actor modules,
        // its event loop busy): the limit runs from one limit later.
        this.#seen.set(thread, { beat, since: now + this.#limitMs });
        continue;
      }
      if (ctl.parked(thread) || last.beat !== beat) {
        last.beat = beat;
        last.since = now;
        continue;
      }
      if (now - last.since < this.#limitMs) continue;
      this.#onStall(thread, ctl.running(thread), now - last.since);
    }
  }
}
