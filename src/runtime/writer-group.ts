// What every writer of one thread shares (outbound.ts): the thread's counters, the one flush
// that all their records wait for, and how many of them hold spilled records. One thread only.

export class WriterGroup {
  readonly counters: Float64Array;
  /** Writers whose spill holds records: the turn loop must not park while any does. */
  spilling = 0;
  /** Called when a record spills: the owner's turn loop must run to drain it (wake it if parked). */
  readonly onSpill: () => void;
  /**
   * Called before a writer publishes its ring in the middle of a turn (the ring was full): what
   * the thread counted and finished so far is published first, as at a flush.
   */
  beforeEarlyPublish: (() => void) | null = null;
  readonly #flush: () => void;
  #queued = false;
  readonly #task = (): void => {
    this.#queued = false;
    this.#flush();
  };

  constructor(counters: Float64Array, flush: () => void, onSpill: () => void) {
    this.counters = counters;
    this.#flush = flush;
    this.onSpill = onSpill;
  }

  /**
   * A record waits unpublished. Sends made outside a turn (user code on main, timers) are
   * published at the end of the current synchronous run: one atomic store per batch, not per message.
   */
  queueFlush(): void {
    if (this.#queued) return;
    this.#queued = true;
    queueMicrotask(this.#task);
  }
}
