// An actor's mailbox: four priority lanes (0..3), FIFO within each, highest lane first. Lane 0
// is a ring kept inline (the hot path is one array store and two field updates); lanes 1..3 are
// created on first use, so an actor that never sees a priority pays nothing for them.

import { Queue } from '../runtime/queue.js';
import type { Envelope } from './envelope.js';

export const MAX_PRIORITY = 3;

export class Mailbox {
  /** Messages in all lanes. */
  #length = 0;
  #items: (Envelope | undefined)[] = new Array(8);
  #head = 0;
  /** Messages in lane 0. */
  #size = 0;
  /** Lanes 1..3 at index 0..2, once a prioritised message arrived. */
  #high: Queue<Envelope>[] | null = null;

  get length(): number {
    return this.#length;
  }

  push(env: Envelope): void {
    this.#length++;
    if (env.priority === 0) {
      const items = this.#items;
      if (this.#size === items.length) {
        this.#grow();
        this.#items[this.#size++] = env;
        return;
      }
      items[(this.#head + this.#size) & (items.length - 1)] = env;
      this.#size++;
      return;
    }
    const lanes = (this.#high ??= [new Queue<Envelope>(), new Queue<Envelope>(), new Queue<Envelope>()]);
    lanes[env.priority - 1]!.push(env);
  }

  shift(): Envelope | undefined {
    if (this.#length === 0) return undefined;
    this.#length--;
    if (this.#length >= this.#size) {
      // Some message waits in a higher lane: take the highest.
      const lanes = this.#high!;
      for (let lane = MAX_PRIORITY - 1; lane >= 0; lane--) if (lanes[lane]!.length > 0) return lanes[lane]!.shift();
    }
    const items = this.#items;
    const env = items[this.#head];
    items[this.#head] = undefined;
    this.#head = (this.#head + 1) & (items.length - 1);
    this.#size--;
    return env;
  }

  /** Removes and returns everything, highest lane first, FIFO within a lane. */
  drain(): Envelope[] {
    const out: Envelope[] = [];
    for (let env = this.shift(); env !== undefined; env = this.shift()) out.push(env);
    return out;
  }

  #grow(): void {
    const old = this.#items;
    const grown: (Envelope | undefined)[] = new Array(old.length * 2);
    for (let i = 0; i < this.#size; i++) grown[i] = old[(this.#head + i) & (old.length - 1)];
    this.#items = grown;
    this.#head = 0;
  }
}
