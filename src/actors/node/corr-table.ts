// Pending asks by correlation id. Ids are handed out in sequence, so an array indexed by the id's
// low bits finds nearly every entry in one step, with no hash-map entry per ask (a hundred
// thousand asks in flight are a hundred thousand less allocations to collect). When a newer id
// wants the slot of an entry that still waits, the array doubles if it is well filled (many
// asks in flight), else that entry moves to a Map beside (a slow ask among many quick ones).

const FIRST = 1024;
/** Past this many slots a slow ask moves aside instead of the array growing. */
const MAX = 1 << 20;

export interface Keyed {
  readonly corr: number;
}

export class CorrTable<E extends Keyed> {
  #slots: (E | undefined)[] = new Array<E | undefined>(FIRST);
  #mask = FIRST - 1;
  readonly #aside = new Map<number, E>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  add(entry: E): void {
    let i = entry.corr & this.#mask;
    const there = this.#slots[i];
    if (there !== undefined) {
      if (this.#slots.length < MAX && this.#size * 4 >= this.#slots.length) {
        this.#grow();
        this.add(entry);
        return;
      }
      this.#aside.set(there.corr, there);
    }
    this.#slots[i] = entry;
    this.#size++;
  }

  get(corr: number): E | undefined {
    const entry = this.#slots[corr & this.#mask];
    if (entry !== undefined && entry.corr === corr) return entry;
    return this.#aside.size === 0 ? undefined : this.#aside.get(corr);
  }

  delete(corr: number): E | undefined {
    const i = corr & this.#mask;
    const entry = this.#slots[i];
    if (entry !== undefined && entry.corr === corr) {
      this.#slots[i] = undefined;
      this.#size--;
      return entry;
    }
    if (this.#aside.size === 0) return undefined;
    const aside = this.#aside.get(corr);
    if (aside !== undefined) {
      this.#aside.delete(corr);
      this.#size--;
    }
    return aside;
  }

  /** Every entry (a copy: the caller may delete as it goes). */
  entries(): E[] {
    const out: E[] = [];
    for (const entry of this.#slots) if (entry !== undefined) out.push(entry);
    for (const entry of this.#aside.values()) out.push(entry);
    return out;
  }

  /** Doubles the array until every entry has a slot of its own (or the array is at its largest). */
  #grow(): void {
    const old = this.#slots;
    let size = old.length * 2;
    for (;;) {
      const slots = new Array<E | undefined>(size);
      const mask = size - 1;
      let clash = false;
      for (const entry of old) {
        if (entry === undefined) continue;
        const i = entry.corr & mask;
        if (slots[i] !== undefined) {
          if (size < MAX) {
            clash = true;
            break;
          }
          this.#aside.set(entry.corr, entry);
          continue;
        }
        slots[i] = entry;
      }
      if (!clash) {
        this.#slots = slots;
        this.#mask = mask;
        return;
      }
      size *= 2;
    }
  }
}
