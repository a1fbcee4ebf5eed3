// A writer's overflow queue: records that did not fit in its ring when written, kept on the
// sender's side in order, and moved into the ring as room appears. While it holds anything,
// every later record of that writer queues behind it, so order is kept.
//
// Records are copied, header and payload, into chunks laid out as the ring lays them out (one
// 64 KiB buffer holds hundreds): a burst of a hundred thousand records that outruns its reader
// costs a few hundred buffers, not two objects each for the GC to copy while they wait.

import { REC_HEADER_BYTES, align8, userMessages } from './layout.js';
import type { RingProducer } from './ring-buffer.js';
import type { Bell } from './wake.js';

/** What a spilled record is charged beyond its payload (its header), for flow control. */
const OVERHEAD = 32;
const CHUNK_BYTES = 64 * 1024;

// Header words, in Int32 units from a record's start (Float64 for target and sender).
const W_LEN = 0;
const W_KIND = 1; // kind | priority << 8 | flags << 16
const F_TARGET = 1; // in Float64 units
const F_SENDER = 2;
const W_CORR = 6;
const W_AUX = 7;

class Chunk {
  readonly u8: Uint8Array;
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  /** Bytes written. */
  used = 0;

  constructor(bytes: number) {
    const buffer = new ArrayBuffer(bytes);
    this.u8 = new Uint8Array(buffer);
    this.i32 = new Int32Array(buffer);
    this.f64 = new Float64Array(buffer);
  }
}

export class Spill {
  readonly #chunks: Chunk[] = [];
  /** The first chunk still holding records, and the offset of its first record. */
  #first = 0;
  #at = 0;
  #count = 0;
  #bytes = 0;
  /** One emptied chunk kept for the next burst. */
  #spare: Chunk | null = null;

  get isEmpty(): boolean {
    return this.#count === 0;
  }

  /** Records waiting. */
  get length(): number {
    return this.#count;
  }

  /** Bytes waiting, headers included: what flow control weighs. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Queues a copy of the record with `bytes[start, end)` as its payload (the encoder's buffer is reused by the next message). */
  push(kind: number, priority: number, flags: number, target: number, sender: number, corr: number, aux: number, bytes: Uint8Array, start: number, end: number): void {
    const len = end - start;
    const size = align8(REC_HEADER_BYTES + len);
    let chunk = this.#chunks[this.#chunks.length - 1];
    if (chunk === undefined || chunk.used + size > chunk.u8.length) {
      const spare = this.#spare;
      if (spare !== null && size <= spare.u8.length) {
        this.#spare = null;
        spare.used = 0;
        chunk = spare;
      } else {
        chunk = new Chunk(Math.max(CHUNK_BYTES, size));
      }
      this.#chunks.push(chunk);
    }
    const at = chunk.used;
    const w = at >> 2;
    const i32 = chunk.i32;
    i32[w + W_LEN] = len;
    i32[w + W_KIND] = (kind & 0xff) | ((priority & 0xff) << 8) | ((flags & 0xffff) << 16);
    chunk.f64[(at >> 3) + F_TARGET] = target;
    chunk.f64[(at >> 3) + F_SENDER] = sender;
    i32[w + W_CORR] = corr;
    i32[w + W_AUX] = aux;
    if (len <= 64) for (let k = 0; k < len; k++) chunk.u8[at + REC_HEADER_BYTES + k] = bytes[start + k]!;
    else chunk.u8.set(bytes.subarray(start, end), at + REC_HEADER_BYTES);
    chunk.used = at + size;
    this.#count++;
    this.#bytes += len + OVERHEAD;
  }

  /**
   * Writes waiting records into the ring, oldest first, until one does not fit even after a
   * publish (which rings the reader's `bell`). Returns the user messages moved.
   */
  drainInto(producer: RingProducer, bell: Bell): number {
    let moved = 0;
    while (this.#count > 0) {
      const chunk = this.#chunks[this.#first]!;
      if (this.#at >= chunk.used) {
        this.#nextChunk();
        continue;
      }
      const at = this.#at;
      const w = at >> 2;
      const i32 = chunk.i32;
      const len = i32[w + W_LEN]!;
      const word = i32[w + W_KIND]!;
      const kind = word & 0xff;
      const priority = (word >> 8) & 0xff;
      const flags = word >>> 16;
      const target = chunk.f64[(at >> 3) + F_TARGET]!;
      const sender = chunk.f64[(at >> 3) + F_SENDER]!;
      const corr = i32[w + W_CORR]!;
      const aux = i32[w + W_AUX]!;
      const start = at + REC_HEADER_BYTES;
      if (!producer.tryWrite(kind, priority, flags, target, sender, corr, aux, chunk.u8, start, start + len, i32)) {
        if (producer.publish()) bell.ring();
        if (!producer.tryWrite(kind, priority, flags, target, sender, corr, aux, chunk.u8, start, start + len, i32)) return moved;
      }
      moved += userMessages(kind, flags, corr);
      this.#at = at + align8(REC_HEADER_BYTES + len);
      this.#count--;
      this.#bytes -= len + OVERHEAD;
    }
    this.clear();
    return moved;
  }

  #nextChunk(): void {
    const done = this.#chunks[this.#first]!;
    this.#chunks[this.#first] = undefined as unknown as Chunk;
    if (done.u8.length === CHUNK_BYTES) this.#spare = done;
    this.#first++;
    this.#at = 0;
    if (this.#first >= 64) {
      // A backlog that never drains all the way: drop the emptied slots now and then.
      this.#chunks.splice(0, this.#first);
      this.#first = 0;
    }
  }

  /**
   * Visits every waiting record, oldest first, as RingProducer.forEachUnconsumed does: a visitor
   * that returns a kind (>= 0) rewrites the record's kind to it, keeping the old kind in its flags.
   */
  forEach(visit: (kind: number, flags: number, aux: number, corr: number) => number | void): void {
    let left = this.#count;
    for (let c = this.#first; left > 0 && c < this.#chunks.length; c++) {
      const chunk = this.#chunks[c]!;
      for (let at = c === this.#first ? this.#at : 0; left > 0 && at < chunk.used; left--) {
        const w = at >> 2;
        const word = chunk.i32[w + W_KIND]!;
        const kind = word & 0xff;
        const now = visit(kind, word >>> 16, chunk.i32[w + W_AUX]!, chunk.i32[w + W_CORR]!);
        if (typeof now === 'number' && now >= 0 && now !== kind) chunk.i32[w + W_KIND] = (now & 0xff) | (word & 0xff00) | ((kind & 0xffff) << 16);
        at += align8(REC_HEADER_BYTES + chunk.i32[w + W_LEN]!);
      }
    }
  }

  clear(): void {
    this.#chunks.length = 0;
    this.#first = 0;
    this.#at = 0;
    this.#count = 0;
    this.#bytes = 0;
  }
}
