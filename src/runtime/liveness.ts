// Which names are gone, in shared memory: one byte per sequence number a thread hands out, in a
// table per thread (a growable SharedArrayBuffer that its owner grows before it hands a number
// out). Any thread may mark a name gone, and any thread reads it with one load: so a call to a
// name that is gone can fail at once, wherever the name lived, with no round trip. A name that
// was never marked reads as live. A name may also be marked as living now on another thread
// slot (it moved): the same load that says "gone" says where, so following a move costs a sender
// nothing it did not pay already. Nothing here knows what the names are.

const INITIAL_BYTES = 64 * 1024;
const MAX_BYTES = 1 << 30;
const GONE = 1;
/** A byte of 2 + slot: the name lives on that thread slot now. */
const AT = 2;
/**
 * A byte of MOVING + slot: the name is on its way to that slot. Senders send there all the same;
 * but whether it will live there is not settled (the move may yet be undone), so a thread that
 * sees that slot die waits for the byte to settle before it concludes the name died with it.
 */
const MOVING = 130;
/** The highest thread slot a byte can name (moving or settled). */
export const MAX_LOCATED_SLOT = 255 - MOVING;

/** What a byte from byteOf() says: a thread slot the name moved (or is moving) to, -1 (live where it started) or -2 (gone). */
export function locationIn(byte: number): number {
  if (byte < AT) return byte === GONE ? -2 : -1;
  return byte < MOVING ? byte - AT : byte - MOVING;
}

/** True while the byte says the name is on its way to a slot, not settled there. */
export function inTransitIn(byte: number): boolean {
  return byte >= MOVING;
}

export function createLivenessTables(threadCount: number): SharedArrayBuffer[] {
  return Array.from({ length: threadCount }, () => new SharedArrayBuffer(INITIAL_BYTES, { maxByteLength: MAX_BYTES }));
}

export class Liveness {
  readonly #tables: readonly SharedArrayBuffer[];
  readonly #self: number;
  /** Fixed-length views (V8 reads them faster than length-tracking ones), made again as a table grows. */
  readonly #views: Uint8Array[];

  constructor(tables: readonly SharedArrayBuffer[], self: number) {
    this.#tables = tables;
    this.#self = self;
    this.#views = tables.map((t) => new Uint8Array(t, 0, t.byteLength));
  }

  /** This thread is about to hand out `seq`: its table covers it from now on. */
  reserve(seq: number): void {
    if (seq < this.#views[this.#self]!.length) return;
    const table = this.#tables[this.#self]!;
    let size = table.byteLength;
    while (size <= seq) size *= 2;
    if (size > table.maxByteLength) throw new RangeError(`more than ${table.maxByteLength} names handed out by thread ${this.#self}`);
    table.grow(size);
    this.#views[this.#self] = new Uint8Array(table, 0, size);
  }

  /** Name `seq` of thread `thread` is gone, for every thread. */
  markGone(thread: number, seq: number): void {
    const view = this.#view(thread, seq);
    if (view !== null) view[seq] = GONE;
  }

  /**
   * Where name `seq` of thread `thread` lives now, if it moved: its thread slot; -1 if it never
   * moved; -2 once it is gone. One load.
   */
  locationOf(thread: number, seq: number): number {
    return locationIn(this.byteOf(thread, seq));
  }

  /** The raw byte: 0 while the name is live where it started; else what locationIn() reads. One load. */
  byteOf(thread: number, seq: number): number {
    const view = this.#views[thread]!;
    return seq < view.length ? view[seq]! : (this.#view(thread, seq)?.[seq] ?? 0);
  }

  /**
   * Name `seq` of thread `thread` lives on slot `slot` from now on, for every thread
   * (0..MAX_LOCATED_SLOT); `settled` false: it is on its way there (see MOVING).
   */
  moveTo(thread: number, seq: number, slot: number, settled = true): void {
    if (!Number.isInteger(slot) || slot < 0 || slot > MAX_LOCATED_SLOT) throw new RangeError(`a liveness byte names thread slots 0 to ${MAX_LOCATED_SLOT}, not ${slot}`);
    const view = this.#view(thread, seq);
    // Atomics.store: a thread that reads the new place also sees what was written before it.
    if (view !== null && view[seq] !== GONE) Atomics.store(view, seq, (settled ? AT : MOVING) + slot);
  }

  /** True once name `seq` of thread `thread` was marked gone. One load. */
  isGone(thread: number, seq: number): boolean {
    const view = this.#views[thread]!;
    if (seq < view.length) return view[seq] === GONE;
    return this.#view(thread, seq)?.[seq] === GONE;
  }

  /** A view that covers `seq`, made again if the table grew since; null if it does not reach. */
  #view(thread: number, seq: number): Uint8Array | null {
    let view = this.#views[thread]!;
    if (seq < view.length) return view;
    const table = this.#tables[thread]!;
    if (seq >= table.byteLength) return null;
    view = new Uint8Array(table, 0, table.byteLength);
    this.#views[thread] = view;
    return view;
  }
}
