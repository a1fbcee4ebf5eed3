// Which names are gone, in shared memory: one byte per sequence number a thread hands out, in a
// table per thread (a growable SharedArrayBuffer that its owner grows before it hands a number
// out). Any thread may mark a name gone, and any thread reads it with one load: so a call to a
// name that is gone can fail at once, wherever the name lived, with no round trip. A name that
// was never marked reads as live. Nothing here knows what the names are.

const INITIAL_BYTES = 64 * 1024;
const MAX_BYTES = 1 << 30;
const GONE = 1;

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
