// A single-producer/single-consumer byte ring over a SharedArrayBuffer. One producer thread and
// one consumer thread; roles never swap. Records are 8-byte aligned, never straddle the end (a
// PAD record fills the tail before a wrap), and become visible only when the producer publishes
// its cursor: one Atomics.store per flush batch. A producer that dies mid-write leaves nothing
// torn, since its partial record lies beyond the published cursor.

import {
  PAD_LEN,
  REC_AUX,
  REC_CORR,
  REC_FLAGS,
  REC_HEADER_BYTES,
  REC_KIND,
  REC_LEN,
  REC_PRIORITY,
  REC_SENDER,
  REC_TARGET,
  RING_DATA_OFFSET,
  RING_MESSAGES,
  RING_R,
  RING_W,
  align8,
  isPowerOfTwo,
} from './layout.js';

export function createRingBuffer(capacity: number): SharedArrayBuffer {
  if (!isPowerOfTwo(capacity) || capacity < 1024) throw new RangeError(`ring capacity must be a power of two >= 1024, got ${capacity}`);
  return new SharedArrayBuffer(RING_DATA_OFFSET + capacity);
}

/** The most payload bytes one record can carry in a ring of this capacity. */
export function maxRecordPayload(capacity: number): number {
  return (capacity >>> 2) - REC_HEADER_BYTES;
}

/** Bytes published into the ring and not yet taken by its consumer (records and padding). */
/** The user messages written into `ring` so far, as its producer last published them. */
export function messagesWritten(ring: SharedArrayBuffer): number {
  return new Float64Array(ring, 0, 2)[RING_MESSAGES]!;
}

export function unreadBytes(ring: SharedArrayBuffer): number {
  const cursors = new Int32Array(ring, 0, RING_DATA_OFFSET >> 2);
  // Atomics.load both cursors: each is written by another thread (the producer, the consumer).
  return (Atomics.load(cursors, RING_W) - Atomics.load(cursors, RING_R)) | 0;
}

/** Header fields of one record, as the consumer sees them. */
export interface RecordHeader {
  kind: number;
  priority: number;
  flags: number;
  target: number;
  sender: number;
  corr: number;
  aux: number;
  /** A user message's custody id in its reader's custody log (0: none; see custody-log.ts). */
  custody: number;
}

// tryWrite and RecordReader.read move kind, priority and flags as one 32-bit word.
if ((REC_KIND & 3) !== 0 || REC_PRIORITY !== REC_KIND + 1 || REC_FLAGS !== REC_KIND + 2) throw new Error('record header layout: kind, priority and flags must share one word');

/** Payloads up to this size go a word at a time when they can; longer ones by memcpy (set). */
const WORD_COPY_MAX = 256;

/**
 * Copies a record's payload to byte `at` (8-aligned) of the ring. With `words`, a word view of
 * `payload` from its byte 0 (an encoder's own buffer), a small aligned payload goes a word at a
 * time: byte stores cost about a nanosecond each, and this is once per message. The last word
 * may carry up to 3 bytes past the payload, into the record's own padding.
 */
function copyPayload(payload: Uint8Array, start: number, end: number, words: Int32Array | null, u8: Uint8Array, i32: Int32Array, at: number): void {
  const len = end - start;
  if (words !== null && (start & 3) === 0 && len <= WORD_COPY_MAX) {
    const n = (len + 3) >> 2;
    const first = start >> 2;
    if (first + n <= words.length) {
      const to = at >> 2;
      for (let k = 0; k < n; k++) i32[to + k] = words[first + k]!;
      return;
    }
  }
  if (len <= 64) for (let k = 0; k < len; k++) u8[at + k] = payload[start + k]!;
  else u8.set(payload.subarray(start, end), at);
}

export class RingProducer {
  readonly capacity: number;
  readonly #ctl: Int32Array;
  readonly #u8: Uint8Array;
  readonly #i32: Int32Array;
  readonly #f64: Float64Array;
  readonly #mask: number;
  #w: number; // local write cursor, published by publish()
  #published: number;
  #cachedR: number; // last read cursor seen; reloaded only when the ring looks full
  readonly #header: Float64Array;

  constructor(sab: SharedArrayBuffer) {
    this.#header = new Float64Array(sab, 0, 2);
    this.capacity = sab.byteLength - RING_DATA_OFFSET;
    this.#ctl = new Int32Array(sab, 0, RING_DATA_OFFSET >> 2);
    this.#u8 = new Uint8Array(sab, RING_DATA_OFFSET);
    this.#i32 = new Int32Array(sab, RING_DATA_OFFSET);
    this.#f64 = new Float64Array(sab, RING_DATA_OFFSET);
    this.#mask = this.capacity - 1;
    // Atomics.load: we may be a replacement producer picking up a ring mid-stream.
    this.#w = Atomics.load(this.#ctl, RING_W);
    this.#published = this.#w;
    this.#cachedR = Atomics.load(this.#ctl, RING_R);
  }

  /** User messages written so far (a replacement producer goes on from its predecessor's count). */
  get messages(): number {
    return this.#header[RING_MESSAGES]!;
  }
  /** Published for readers of the traffic between threads (a plain store: a count, read now and then). */
  set messages(n: number) {
    this.#header[RING_MESSAGES] = n;
  }

  /**
   * Writes one record; returns false (writing nothing) when it does not fit now.
   * The record becomes visible to the consumer at the next publish().
   */
  tryWrite(
    kind: number,
    priority: number,
    flags: number,
    target: number,
    sender: number,
    corr: number,
    aux: number,
    payload: Uint8Array,
    payloadStart = 0,
    payloadEnd = payload.length,
    /** A word view of `payload` from its byte 0 (see copyPayload), or null. */
    words: Int32Array | null = null,
  ): boolean {
    const len = payloadEnd - payloadStart;
    const size = align8(REC_HEADER_BYTES + len);
    const cap = this.capacity;
    let pos = this.#w & this.#mask;
    const tail = cap - pos;
    const need = size <= tail ? size : tail + size; // a PAD fills the tail before a wrap
    if (((this.#w - this.#cachedR) | 0) + need > cap) {
      // Atomics.load: acquire the consumer's progress; only on the looks-full path.
      this.#cachedR = Atomics.load(this.#ctl, RING_R);
      if (((this.#w - this.#cachedR) | 0) + need > cap) return false;
    }
    if (size > tail) {
      this.#i32[pos >> 2] = PAD_LEN;
      this.#w = (this.#w + tail) | 0;
      pos = 0;
    }
    const i = pos >> 2;
    const i32 = this.#i32;
    i32[i + (REC_LEN >> 2)] = len;
    // kind, priority and flags share one little-endian word (REC_KIND, REC_PRIORITY, REC_FLAGS).
    i32[(pos + REC_KIND) >> 2] = (kind & 0xff) | ((priority & 0xff) << 8) | (flags << 16);
    this.#f64[(pos + REC_TARGET) >> 3] = target;
    this.#f64[(pos + REC_SENDER) >> 3] = sender;
    i32[(pos + REC_CORR) >> 2] = corr;
    i32[(pos + REC_AUX) >> 2] = aux;
    if (len > 0) copyPayload(payload, payloadStart, payloadEnd, words, this.#u8, i32, pos + REC_HEADER_BYTES);
    this.#w = (this.#w + size) | 0;
    return true;
  }

  /**
   * Visits every record written and not yet consumed (published or not), oldest first. A visitor
   * that returns a kind (>= 0) rewrites the record's kind to it, keeping the old kind in its
   * flags: only once the consumer has died and before a replacement reads.
   */
  forEachUnconsumed(visit: (kind: number, flags: number, aux: number, corr: number) => number | void): void {
    let r = Atomics.load(this.#ctl, RING_R);
    const u8 = this.#u8;
    while (r !== this.#w) {
      const pos = r & this.#mask;
      const len = this.#i32[pos >> 2]!;
      if (len === PAD_LEN) {
        r = (r + (this.capacity - pos)) | 0;
        continue;
      }
      const kind = u8[pos + REC_KIND]!;
      const now = visit(kind, u8[pos + REC_FLAGS]! | (u8[pos + REC_FLAGS + 1]! << 8), this.#i32[(pos + REC_AUX) >> 2]!, this.#i32[(pos + REC_CORR) >> 2]!);
      if (typeof now === 'number' && now >= 0 && now !== kind) {
        u8[pos + REC_FLAGS] = kind;
        u8[pos + REC_FLAGS + 1] = 0;
        u8[pos + REC_KIND] = now;
      }
      r = (r + align8(REC_HEADER_BYTES + len)) | 0;
    }
  }

  /** The reader's cursor now (it moves as the reader takes records). */
  readCursor(): number {
    // Atomics.load: written by the consumer's thread.
    return Atomics.load(this.#ctl, RING_R);
  }

  /** Makes every record written so far visible. Returns true if anything new was published. */
  publish(): boolean {
    if (this.#w === this.#published) return false;
    // Atomics.store: release the record bytes written above before the consumer may read them.
    Atomics.store(this.#ctl, RING_W, this.#w);
    this.#published = this.#w;
    return true;
  }
}

/**
 * The consumer side. poll() copies every published record into a private buffer (decoding
 * straight from shared memory is ~27x slower with msgpackr), releases the ring space at once,
 * then hands each record to the visitor.
 */
export class RingConsumer {
  readonly capacity: number;
  readonly #ctl: Int32Array;
  readonly #u8: Uint8Array;
  readonly #mask: number;
  #r: number;

  constructor(sab: SharedArrayBuffer) {
    this.capacity = sab.byteLength - RING_DATA_OFFSET;
    this.#ctl = new Int32Array(sab, 0, RING_DATA_OFFSET >> 2);
    this.#u8 = new Uint8Array(sab, RING_DATA_OFFSET);
    this.#mask = this.capacity - 1;
    this.#r = Atomics.load(this.#ctl, RING_R);
  }

  /** True when the producer has published records this consumer has not read. One atomic load. */
  hasData(): boolean {
    return Atomics.load(this.#ctl, RING_W) !== this.#r;
  }

  /**
   * Copies up to `maxBytes` of published records into `scratch` (at offset 0), releases them in
   * the ring, and returns the number of bytes copied. Records in scratch are contiguous, PAD
   * records removed. scratch must hold at least `capacity` bytes. With `hold`, the space stays
   * taken until release(): the caller first keeps a copy that outlives this thread.
   */
  take(scratch: Uint8Array, maxBytes: number, hold = false): number {
    // Atomics.load: acquire the records the producer published.
    const w = Atomics.load(this.#ctl, RING_W);
    let r = this.#r;
    if (w === r) return 0;
    const u8 = this.#u8;
    const cap = this.capacity;
    let copied = 0;
    while (r !== w && copied < maxBytes) {
      const pos = r & this.#mask;
      const lenAtPos = u8[pos]! | (u8[pos + 1]! << 8) | (u8[pos + 2]! << 16) | (u8[pos + 3]! << 24);
      if (lenAtPos === PAD_LEN) {
        r = (r + (cap - pos)) | 0;
        continue;
      }
      // Copy the run of records up to w or the end of the data area, whichever is first; stop at
      // a record boundary so a PAD is never copied.
      const avail = (w - r) | 0;
      let end = pos;
      const limit = Math.min(pos + avail, cap, pos + (maxBytes - copied));
      while (end < limit) {
        const len = u8[end]! | (u8[end + 1]! << 8) | (u8[end + 2]! << 16) | (u8[end + 3]! << 24);
        if (len === PAD_LEN) break;
        const size = align8(REC_HEADER_BYTES + len);
        if (end + size > limit && end > pos) break;
        end += size;
      }
      scratch.set(u8.subarray(pos, end), copied);
      copied += end - pos;
      r = (r + (end - pos)) | 0;
    }
    this.#r = r;
    if (!hold) this.release();
    return copied;
  }

  /** Gives the producer back the space of every record taken so far. */
  release(): void {
    // Atomics.store: release the space; the producer may now overwrite it.
    Atomics.store(this.#ctl, RING_R, this.#r);
  }
}

/** Reads record headers from a private buffer filled by RingConsumer.take(). */
export class RecordReader {
  readonly u8: Uint8Array;
  /** The scratch buffer as words, from its byte 0 (payloads start 8-aligned). */
  readonly words: Int32Array;
  readonly #i32: Int32Array;
  readonly #f64: Float64Array;

  constructor(scratch: Uint8Array) {
    this.u8 = scratch;
    this.#i32 = new Int32Array(scratch.buffer, scratch.byteOffset, scratch.byteLength >> 2);
    this.words = this.#i32;
    this.#f64 = new Float64Array(scratch.buffer, scratch.byteOffset, scratch.byteLength >> 3);
  }

  /** Fills `out` with the header at `pos` and returns the offset of the next record. */
  read(pos: number, out: RecordHeader): number {
    const len = this.#i32[pos >> 2]!;
    const word = this.#i32[(pos + REC_KIND) >> 2]!; // kind, priority, flags: see tryWrite
    out.kind = word & 0xff;
    out.priority = (word >> 8) & 0xff;
    out.flags = word >>> 16;
    out.target = small(this.#f64[(pos + REC_TARGET) >> 3]!);
    out.sender = small(this.#f64[(pos + REC_SENDER) >> 3]!);
    out.corr = this.#i32[(pos + REC_CORR) >> 2]!;
    out.aux = this.#i32[(pos + REC_AUX) >> 2]!;
    return pos + align8(REC_HEADER_BYTES + len);
  }

  payloadLength(pos: number): number {
    return this.#i32[pos >> 2]!;
  }
}

/**
 * A key read from a Float64 slot, as a small integer where it is one: a double kept as is would
 * be a heap number wherever it is stored (an actor's key, a Map key), 16 bytes and a hash each.
 */
function small(value: number): number {
  const int = value | 0;
  return int === value ? int : value;
}
