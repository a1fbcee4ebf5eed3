// The custody log's layout (custody-log.ts): segments and batches in its shared memory, the
// state bits of a logged record, and custody ids, with the small readers that the log, the
// replacement that reads it and the main thread's books share.

import { PAD_LEN, REC_CORR, REC_FLAGS, REC_HEADER_BYTES, REC_KIND, REC_TARGET, RecordKind, align8, userMessages } from './layout.js';

/** Segments: 2^SEG_SHIFT bytes each, headed by the bytes used in it (0: free). */
export const SEG_SHIFT = 18;
export const SEG_BYTES = 1 << SEG_SHIFT;
export const SEG_USED = 0; // i32 index within the segment
export const SEG_HEADER_BYTES = 16;

/**
 * A batch: [length, from, snapshot length, sequence number], the snapshot, its records. A batch
 * from PAYLOAD holds instead the bytes of one large payload (which travelled on a port, not in
 * the ring): [record id, byte length], then the bytes; it lives as long as its record waits.
 */
export const BATCH_LEN = 0;
export const BATCH_FROM = 1;
export const BATCH_SNAPSHOT = 2;
export const BATCH_SEQ = 3;
export const BATCH_HEADER_BYTES = 16;
export const PAYLOAD = -1;
/** A batch from COPIES holds, for a fan-out of more than TRACKED_COPIES, the state of the others: [record id, copies], done bits, started bits. */
export const COPIES = -2;

/** In a logged record's kind byte (kinds are below 64). */
export const KIND_MASK = 0x3f;
export const STARTED = 0x40;
export const DONE = 0x80;

export const LOG_MAX_BYTES = 1 << 28;
/** Custody ids: the record's offset (below LOG_MAX_BYTES), plus (copy + 1) * COPY_SPAN for a fan-out copy. */
export const COPY_SPAN = LOG_MAX_BYTES;
export const OFFSET_MASK = COPY_SPAN - 1;
/** Fan-out copies whose state the record itself keeps (the others, in a batch beside it). */
export const TRACKED_COPIES = 32;

/** The custody id of copy `copy` of the fan-out record `id`. */
export function copyId(id: number, copy: number): number {
  return id + (copy + 1) * COPY_SPAN;
}

/** Words per bit set for the copies of a fan-out past TRACKED_COPIES. */
export function copyWords(copies: number): number {
  return Math.max(1, Math.ceil((copies - TRACKED_COPIES) / 32));
}

/** A fan-out copy's state after a death: done, started (and not done), or not known. */
export const COPY_DONE = 1;
export const COPY_STARTED = 2;
export const COPY_UNKNOWN = 4;

/**
 * The state of each copy of the fan-out record at `pos` of `bytes`: the first TRACKED_COPIES from
 * the record, the others from `more` (kept beside it; without, not known).
 */
export function copyStates(bytes: Uint8Array, pos: number, more: readonly [Int32Array, Int32Array] | undefined): (copy: number) => number {
  const done = readI32(bytes, pos + REC_TARGET);
  const started = readI32(bytes, pos + REC_TARGET + 4);
  return (copy) => {
    if (copy < TRACKED_COPIES) return ((done >>> copy) & 1 ? COPY_DONE : 0) | ((started >>> copy) & 1 ? COPY_STARTED : 0);
    if (more === undefined) return COPY_UNKNOWN;
    const k = copy - TRACKED_COPIES;
    return ((more[0][k >> 5]! >>> (k & 31)) & 1 ? COPY_DONE : 0) | ((more[1][k >> 5]! >>> (k & 31)) & 1 ? COPY_STARTED : 0);
  };
}
export const LOG_INITIAL_BYTES = 4 * SEG_BYTES;

export function createCustodyLog(initial = LOG_INITIAL_BYTES, max = LOG_MAX_BYTES): SharedArrayBuffer {
  const size = Math.max(SEG_BYTES, initial & ~(SEG_BYTES - 1));
  return new SharedArrayBuffer(size, { maxByteLength: Math.max(size, Math.min(max, LOG_MAX_BYTES) & ~(SEG_BYTES - 1)) });
}

/** A user message's record that still waits: not done (a fan-out, until its last copy). */
export function waiting(u8: Uint8Array, pos: number): boolean {
  const kind = u8[pos + REC_KIND]!;
  return (kind & DONE) === 0 && userMessages(kind & KIND_MASK, u8[pos + REC_FLAGS]!, 1) > 0;
}

/** User messages a record still holds: 1, a fan-out's copies left, or 0 once done. */
export function held(u8: Uint8Array, pos: number): number {
  const kind = u8[pos + REC_KIND]!;
  if ((kind & DONE) !== 0) return 0;
  const k = kind & KIND_MASK;
  const was = k === RecordKind.Big ? u8[pos + REC_FLAGS]! : k;
  if (was === RecordKind.Tell || was === RecordKind.Ask) return 1;
  return was === RecordKind.Fanout ? readI32(u8, pos + REC_CORR) : 0;
}

export function readI32(bytes: Uint8Array, at: number): number {
  return bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24);
}

/** Visits each record of a logged batch: its offset and its kind byte (with the state bits). */
export function forEachRecord(bytes: Uint8Array, start: number, end: number, visit: (pos: number, kind: number) => void): void {
  let pos = start;
  while (pos < end) {
    const len = readI32(bytes, pos);
    if (len === PAD_LEN) break; // never logged: records are copied without padding
    visit(pos, bytes[pos + REC_KIND]!);
    pos += align8(REC_HEADER_BYTES + len);
  }
}
