// A thread's run queue: the work ready for its next pass, first in, first out. A power-of-two
// ring of references that doubles when full, so pushing never fails and never shifts elements.
// One thread only: no shared memory here.

export interface Runnable {
  /** Runs a bounded amount of work. Reschedules itself through ThreadRuntime.schedule if needed. */
  run(): void;
  /** Published while it runs, so a watchdog can name what a stalled thread was doing. */
  readonly key?: number;
}

const INITIAL_CAPACITY = 1024;

export class RunQueue {
  #items: (Runnable | undefined)[];
  #head = 0;
  #tail = 0;
  #mask: number;

  /** `capacity`: a power of two, the room before the first growth. */
  constructor(capacity = INITIAL_CAPACITY) {
    if (capacity < 2 || (capacity & (capacity - 1)) !== 0) throw new RangeError(`run queue capacity must be a power of two >= 2, got ${capacity}`);
    this.#items = new Array(capacity);
    this.#mask = capacity - 1;
  }

  /** Work waiting: what the thread publishes as its ready backlog. */
  get length(): number {
    return (this.#tail - this.#head) & this.#mask;
  }

  get isEmpty(): boolean {
    return this.#head === this.#tail;
  }

  push(work: Runnable): void {
    this.#items[this.#tail] = work;
    this.#tail = (this.#tail + 1) & this.#mask;
    // Head and tail meet only when the ring just filled (an empty ring is checked before a shift).
    if (this.#tail === this.#head) this.#grow();
  }

  /** The oldest work, or undefined when none waits. Its slot is cleared (no stale reference). */
  shift(): Runnable | undefined {
    if (this.#head === this.#tail) return undefined;
    const work = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) & this.#mask;
    return work;
  }

  /** Doubles the ring, oldest first from index 0. Called when it is full (head === tail). */
  #grow(): void {
    const old = this.#items;
    const n = old.length;
    const grown: (Runnable | undefined)[] = new Array(n * 2);
    for (let i = 0; i < n; i++) grown[i] = old[(this.#head + i) & this.#mask];
    this.#items = grown;
    this.#head = 0;
    this.#tail = n;
    this.#mask = n * 2 - 1;
  }
}
