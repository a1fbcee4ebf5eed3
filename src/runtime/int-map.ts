// A hash map from positive integer keys (up to 2^53) to objects: open addressing with linear
// probing over one array of [key, value] pairs (a probe reads one cache line), deletion by
// shifting back (no tombstones). A thread's actors come and go by the million (skynet); a Map churned that hard
// spends its time rehashing and allocating tables, where this moves two slots.

const EMPTY = 0;
const MIN_CAPACITY = 64;

export class IntMap<V> {
  /** Key at 2i, value at 2i + 1; a key of 0 marks an empty slot. */
  #slots: unknown[] = new Array<unknown>(2 * MIN_CAPACITY).fill(EMPTY);
  #mask = MIN_CAPACITY - 1;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** The slot where `key` starts its probe (Fibonacci hashing: keys that count up scatter). */
  #home(key: number): number {
    const lo = key | 0; // the low 32 bits
    const hi = key > 0x7fffffff ? (key / 4294967296) | 0 : 0;
    return (Math.imul(lo ^ (lo >>> 10) ^ hi, 0x9e3779b1) >>> 0) & this.#mask;
  }

  get(key: number): V | undefined {
    const slots = this.#slots;
    const mask = this.#mask;
    for (let i = this.#home(key); ; i = (i + 1) & mask) {
      const k = slots[2 * i];
      if (k === EMPTY) return undefined;
      if (k === key) return slots[2 * i + 1] as V;
    }
  }

  has(key: number): boolean {
    return this.get(key) !== undefined;
  }

  /** `key` > 0. */
  set(key: number, value: V): this {
    if (!(key > 0)) throw new RangeError(`IntMap keys are positive integers, got ${key}`);
    const slots = this.#slots;
    const mask = this.#mask;
    for (let i = this.#home(key); ; i = (i + 1) & mask) {
      const k = slots[2 * i];
      if (k === key) {
        slots[2 * i + 1] = value;
        return this;
      }
      if (k === EMPTY) {
        slots[2 * i] = key;
        slots[2 * i + 1] = value;
        if (++this.#size * 4 > (mask + 1) * 3) this.#resize((mask + 1) * 2);
        return this;
      }
    }
  }

  delete(key: number): boolean {
    const slots = this.#slots;
    const mask = this.#mask;
    let i = this.#home(key);
    for (; ; i = (i + 1) & mask) {
      const k = slots[2 * i];
      if (k === EMPTY) return false;
      if (k === key) break;
    }
    // Shift back every entry after it in the run that may move into the gap.
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const k = slots[2 * j] as number;
      if (k === EMPTY) break;
      const home = this.#home(k);
      // The entry at j may fill the gap at i unless its home lies cyclically in (i, j].
      if (i <= j ? home > i && home <= j : home > i || home <= j) continue;
      slots[2 * i] = k;
      slots[2 * i + 1] = slots[2 * j + 1];
      i = j;
    }
    slots[2 * i] = EMPTY;
    slots[2 * i + 1] = undefined;
    this.#size--;
    if (this.#size * 8 < mask + 1 && mask + 1 > MIN_CAPACITY) this.#resize((mask + 1) / 2);
    return true;
  }

  /** The values, in key order (for the spawner's keys: the order they were spawned in). */
  values(): V[] {
    const slots = this.#slots;
    const order: number[] = [];
    for (let i = 0; i <= this.#mask; i++) if (slots[2 * i] !== EMPTY) order.push(i);
    order.sort((a, b) => (slots[2 * a] as number) - (slots[2 * b] as number));
    return order.map((i) => slots[2 * i + 1] as V);
  }

  #resize(capacity: number): void {
    const old = this.#slots;
    const slots = (this.#slots = new Array<unknown>(2 * capacity).fill(EMPTY));
    this.#mask = capacity - 1;
    for (let i = 0; i < old.length; i += 2) {
      const k = old[i] as number;
      if (k === EMPTY) continue;
      for (let j = this.#home(k); ; j = (j + 1) & this.#mask) {
        if (slots[2 * j] === EMPTY) {
          slots[2 * j] = k;
          slots[2 * j + 1] = old[i + 1];
          break;
        }
      }
    }
  }
}
