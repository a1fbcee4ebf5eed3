// The spawn records a thread keeps of the actors it placed on one other thread, by key. Keys grow
// with every spawn, so the table is two arrays in key order (a key is found by binary search) and
// a spawn costs two slots, not a hash-map entry: the spawner of 100k actors keeps ~16 bytes each.
// A stopped actor's slot is emptied and the arrays are compacted once half of them are empty.

export class SpawnTable<E> {
  #keys: number[] = [];
  #entries: (E | undefined)[] = [];
  #live = 0;

  get size(): number {
    return this.#live;
  }

  add(key: number, entry: E): void {
    const keys = this.#keys;
    if (keys.length > 0 && key <= keys[keys.length - 1]!) {
      // Not the newest (never the case for spawns): put it in its place.
      const at = this.#find(key);
      if (at >= 0) {
        if (this.#entries[at] === undefined) this.#live++;
        this.#entries[at] = entry;
        return;
      }
      const insert = -at - 1;
      keys.splice(insert, 0, key);
      this.#entries.splice(insert, 0, entry);
      this.#live++;
      return;
    }
    keys.push(key);
    this.#entries.push(entry);
    this.#live++;
  }

  get(key: number): E | undefined {
    const at = this.#find(key);
    return at < 0 ? undefined : this.#entries[at];
  }

  /** Replaces the entry of a key that is here. */
  set(key: number, entry: E): void {
    const at = this.#find(key);
    if (at >= 0 && this.#entries[at] !== undefined) this.#entries[at] = entry;
  }

  delete(key: number): boolean {
    const at = this.#find(key);
    if (at < 0 || this.#entries[at] === undefined) return false;
    this.#entries[at] = undefined;
    if (--this.#live * 2 < this.#keys.length && this.#keys.length > 64) this.#compact();
    return true;
  }

  /** Live keys and entries, oldest first. */
  *[Symbol.iterator](): IterableIterator<[number, E]> {
    const keys = this.#keys;
    const entries = this.#entries;
    for (let i = 0; i < keys.length; i++) {
      const entry = entries[i];
      if (entry !== undefined) yield [keys[i]!, entry];
    }
  }

  keys(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.#keys.length; i++) if (this.#entries[i] !== undefined) out.push(this.#keys[i]!);
    return out;
  }

  /** The index of `key`, or -(insertion point) - 1. */
  #find(key: number): number {
    const keys = this.#keys;
    let lo = 0;
    let hi = keys.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const k = keys[mid]!;
      if (k < key) lo = mid + 1;
      else if (k > key) hi = mid - 1;
      else return mid;
    }
    return -lo - 1;
  }

  #compact(): void {
    const keys: number[] = [];
    const entries: E[] = [];
    for (let i = 0; i < this.#keys.length; i++) {
      const entry = this.#entries[i];
      if (entry === undefined) continue;
      keys.push(this.#keys[i]!);
      entries.push(entry);
    }
    this.#keys = keys;
    this.#entries = entries;
  }
}
