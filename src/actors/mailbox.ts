// An actor's mailbox: four priority lanes (0..3), FIFO within each, highest lane first. Lane 0
// is always there; the others are created on first use, so an actor that never sees a priority
// pays nothing for them.

import { Queue } from '../runtime/queue.js';
import type { Envelope } from './envelope.js';

export const MAX_PRIORITY = 3;

export class Mailbox {
  readonly #normal = new Queue<Envelope>();
  /** Lanes 1..3 at index 0..2, once a prioritised message arrived. */
  #high: Queue<Envelope>[] | null = null;
  #highCount = 0;

  get length(): number {
    return this.#normal.length + this.#highCount;
  }

  push(env: Envelope): void {
    if (env.priority === 0) {
      this.#normal.push(env);
      return;
    }
    const lanes = (this.#high ??= [new Queue<Envelope>(), new Queue<Envelope>(), new Queue<Envelope>()]);
    lanes[env.priority - 1]!.push(env);
    this.#highCount++;
  }

  shift(): Envelope | undefined {
    if (this.#highCount > 0) {
      const lanes = this.#high!;
      for (let lane = MAX_PRIORITY - 1; lane >= 0; lane--) {
        if (lanes[lane]!.length > 0) {
          this.#highCount--;
          return lanes[lane]!.shift();
        }
      }
    }
    return this.#normal.shift();
  }

  /** Removes and returns everything, highest lane first, FIFO within a lane. */
  drain(): Envelope[] {
    const out: Envelope[] = [];
    for (let env = this.shift(); env !== undefined; env = this.shift()) out.push(env);
    return out;
  }
}
