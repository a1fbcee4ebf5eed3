// Fences: a promise that resolves once every live thread has taken everything this thread sent it
// before. A fence record goes to each live thread behind what this thread already sent there
// (rings are ordered per pair of threads, and a control record flushes the spawns batched ahead
// of it, records.ts); each answers once it reads it. A move waits for one before the actor leaves
// (moves.ts); inspect() waits for one, so that it lists what was spawned before it was called.
// The fences asked for in one turn share one round of records.

import type { NodeCore } from './node-core.js';

/** What fences need of the host: the core, and which threads can answer. */
export type FenceHost = NodeCore & {
  /** A thread that is running or starting (a dedicated slot not yet used is not). */
  isLive(thread: number): boolean;
};

export class Fences {
  readonly #host: FenceHost;
  #seq = 0;
  /** Rounds sent, by id: answers still to come, and what waits for them. */
  readonly #rounds = new Map<number, { left: number; waiting: (() => void)[] }>();
  /** Fences asked for this turn: one round goes out for all of them, after the last. */
  #batch: (() => void)[] | null = null;

  constructor(host: FenceHost) {
    this.#host = host;
  }

  /** Resolves once every live thread has answered a fence sent after everything this thread sent so far. */
  fence(): Promise<void> {
    return new Promise((resolve) => this.#enqueue([resolve]));
  }

  /** A fence from another thread: everything before it in that thread's ring has been taken. */
  onFence(from: number, id: number): void {
    this.#host.control(from, ['fenced', id]);
  }

  onFenced(id: number): void {
    const round = this.#rounds.get(id);
    if (round === undefined || --round.left > 0) return;
    this.#rounds.delete(id);
    for (const resolve of round.waiting) resolve();
  }

  /**
   * Thread `thread` died: its answers will not come. Each round counted it, and a round is
   * complete once every live thread answered: rather than track who answered, rounds still
   * open are sent again to the live threads.
   */
  threadGone(): void {
    const rounds = [...this.#rounds.values()];
    this.#rounds.clear();
    for (const round of rounds) this.#enqueue(round.waiting);
  }

  #enqueue(waiting: (() => void)[]): void {
    if (waiting.length === 0) return;
    if (this.#batch === null) {
      this.#batch = [];
      queueMicrotask(() => this.#send());
    }
    this.#batch.push(...waiting);
  }

  #send(): void {
    const host = this.#host;
    const waiting = this.#batch!;
    this.#batch = null;
    const id = ++this.#seq;
    let left = 0;
    for (let t = 0; t < host.threadCount; t++) {
      if (t === host.self || host.isDead(t) || !host.isLive(t)) continue;
      host.control(t, ['fence', id]);
      left++;
    }
    host.runtime.publishSoon();
    if (left === 0) for (const resolve of waiting) resolve();
    else this.#rounds.set(id, { left, waiting });
  }
}
