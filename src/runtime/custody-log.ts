// One worker's custody log: what it took from its rings and has not finished with, kept in shared
// memory that outlives the thread. The reader copies each batch it takes from a ring here before
// it releases the ring's space, and the records stay until every user message among them is done
// (handled, dead-lettered, or handed to another thread's custody). If the thread dies, its
// replacement reads on from here: what was not started goes again, what was started is known.
//
// A growable SharedArrayBuffer, written only by its owner thread (the main thread reads it once
// the owner is dead, and a replacement becomes the owner). Batches are laid end to end and wrap
// to the start once the log has grown to its most; a batch never straddles the end. Each batch
// carries the codec state its records were written against (a snapshot made by the reader when
// that state changed), so it decodes on its own whatever the log dropped before it.
//
// A record's state is kept in the high bits of its kind byte: STARTED before its handler runs,
// DONE once its user messages are done. Done marks are buffered during a turn and written when
// the thread publishes its counters, so that the books and the log agree at every instant.
//
// A batch whose last few messages wait long (a slow or async handler) would hold the log's head
// and make it grow without end: once the log is large, such a batch is compacted, its waiting
// records (and those that changed the codec state before them) copied to the tail, and its
// space freed. Their custody ids move with them (a map, empty unless a compaction happened).

import { FLAG_DEFINES, PAD_LEN, REC_CORR, REC_FLAGS, REC_HEADER_BYTES, REC_KIND, RecordKind, align8, userMessages } from './layout.js';

/** Log header: the offset of the oldest live batch, and where the next one goes. */
const LOG_HEAD = 0; // i32 index
const LOG_TAIL = 1; // i32 index
const LOG_LAP = 2; // i32 index: the current lap (see ID_SPAN), for a replacement that reads on
const LOG_DATA = 64; // bytes: batches start here

/** A batch: [length, from, snapshot length, unused], the snapshot, its records. */
const BATCH_LEN = 0; // i32 index within the batch: whole batch bytes; WRAP: go back to LOG_DATA
const BATCH_FROM = 1;
const BATCH_SNAPSHOT = 2;
const BATCH_HEADER_BYTES = 16;
const WRAP = -1;

/** In a logged record's kind byte (kinds are below 64). */
export const KIND_MASK = 0x3f;
export const STARTED = 0x40;
export const DONE = 0x80;

/**
 * Custody ids: lap * ID_SPAN + the record's offset. A lap ends when the log wraps, so an offset
 * names one record per lap: ids stay unique while records move (compaction). An empty log starts
 * again at lap 0.
 */
const ID_SPAN = 2 ** 28;
const LAPS = 2 ** 25; // ID_SPAN * LAPS = 2^53: exact in a double
export const LOG_MAX_BYTES = ID_SPAN;
export const LOG_INITIAL_BYTES = 1 << 20;
/** Past this size the log compacts batches held by a few waiting messages before it grows. */
const COMPACT_FROM_BYTES = 4 << 20;
/** What a compaction moves from a batch whatever the batch's size. */
const COMPACT_MOVE_BYTES = 16 << 10;

export function createCustodyLog(initial = LOG_INITIAL_BYTES, max = LOG_MAX_BYTES): SharedArrayBuffer {
  const sab = new SharedArrayBuffer(initial, { maxByteLength: Math.min(max, LOG_MAX_BYTES) });
  const i32 = new Int32Array(sab, 0, LOG_DATA >> 2);
  i32[LOG_HEAD] = LOG_DATA;
  i32[LOG_TAIL] = LOG_DATA;
  return sab;
}

/** A user message's record that still waits: not done (fan-out copies, each). */
function waiting(u8: Uint8Array, pos: number): boolean {
  const kind = u8[pos + REC_KIND]!;
  return (kind & DONE) === 0 && userMessages(kind & KIND_MASK, u8[pos + REC_FLAGS]!, 1) > 0;
}

export class CustodyLog {
  readonly #sab: SharedArrayBuffer;
  // Fixed-length views, made again when the log grows (V8 is slower on length-tracking ones).
  #u8: Uint8Array;
  #i32: Int32Array;
  readonly #max: number;
  /** Custody ids done since the last publish. */
  readonly #done: number[] = [];
  /** The current lap (see ID_SPAN). */
  #lap = 0;
  /** Where the scan of the head batch for waiting records stopped (0: from its start). */
  #scanAt = 0;
  /** Records a compaction moved: first id -> where the record is now, and back. */
  readonly #moved = new Map<number, number>();
  readonly #origin = new Map<number, number>();

  constructor(sab: SharedArrayBuffer) {
    this.#sab = sab;
    this.#u8 = new Uint8Array(sab, 0, sab.byteLength);
    this.#i32 = new Int32Array(sab, 0, sab.byteLength >> 2);
    this.#max = sab.maxByteLength;
    this.#lap = this.#i32[LOG_LAP]!;
  }

  /** The lap the batch at `at` was written in: the one before if the log wrapped since. */
  #lapOf(at: number): number {
    const head = this.#i32[LOG_HEAD]!;
    const tail = this.#i32[LOG_TAIL]!;
    return tail < head && at >= head ? (this.#lap + LAPS - 1) % LAPS : this.#lap;
  }

  #nextLap(): void {
    this.#lap = (this.#lap + 1) % LAPS;
    this.#i32[LOG_LAP] = this.#lap;
  }

  /** Bytes held by live batches (a gauge). */
  get bytesHeld(): number {
    const head = this.#i32[LOG_HEAD]!;
    const tail = this.#i32[LOG_TAIL]!;
    return tail >= head ? tail - head : this.#sab.byteLength - head + (tail - LOG_DATA);
  }

  /**
   * Copies `bytes` of records taken from the ring of thread `from` (in `scratch`, from offset
   * 0), with the codec snapshot they decode against. Returns the id base of the batch: a record
   * at offset `pos` of scratch has custody id `base + pos`; or -1 when the log is full.
   */
  append(from: number, snapshot: Uint8Array, scratch: Uint8Array, bytes: number): number {
    const snap = align8(snapshot.length);
    const need = BATCH_HEADER_BYTES + snap + bytes;
    const at = this.#reserve(need, true);
    if (at < 0) return -1;
    const i32 = this.#i32;
    const b = at >> 2;
    i32[b + BATCH_LEN] = need;
    i32[b + BATCH_FROM] = from;
    i32[b + BATCH_SNAPSHOT] = snapshot.length;
    const u8 = this.#u8;
    if (snapshot.length > 0) u8.set(snapshot, at + BATCH_HEADER_BYTES);
    const records = at + BATCH_HEADER_BYTES + snap;
    u8.set(scratch.subarray(0, bytes), records);
    i32[LOG_TAIL] = at + need;
    return this.#lap * ID_SPAN + records;
  }

  /** A handler is about to run on the message: if the thread dies now, it was started. */
  started(id: number): void {
    if (this.#moved.size > 0) id = this.#moved.get(id) ?? id;
    this.#u8[(id % ID_SPAN) + REC_KIND]! |= STARTED;
  }

  /** Done with one user message: marked at the next publish. */
  done(id: number): void {
    this.#done.push(id);
  }

  /**
   * Writes the done marks of this turn and drops every batch at the head that has nothing left.
   * Called with the publication of the thread's counters.
   */
  publish(): void {
    const done = this.#done;
    if (done.length === 0) return;
    const u8 = this.#u8;
    const i32 = this.#i32;
    const moved = this.#moved.size > 0;
    for (let k = 0; k < done.length; k++) {
      let id = done[k]!;
      if (moved) {
        const now = this.#moved.get(id);
        if (now !== undefined) {
          this.#moved.delete(id);
          this.#origin.delete(now);
          id = now;
        }
      }
      const rec = id % ID_SPAN;
      if ((u8[rec + REC_KIND]! & KIND_MASK) === RecordKind.Fanout) {
        // One record, several copies: done once the last copy is.
        if (--i32[(rec + REC_CORR) >> 2]! <= 0) u8[rec + REC_KIND]! |= DONE;
      } else {
        u8[rec + REC_KIND]! |= DONE;
      }
    }
    done.length = 0;
    this.#dropFinished();
  }

  /** True where the batches go on from the front: the end of the log, or a WRAP mark. */
  #wrapsAt(at: number): boolean {
    return at + BATCH_HEADER_BYTES > this.#sab.byteLength || this.#i32[(at >> 2) + BATCH_LEN] === WRAP;
  }

  /** Moves the head past every batch with nothing waiting (a pinned batch is scanned once). */
  #dropFinished(): void {
    const i32 = this.#i32;
    const u8 = this.#u8;
    let head = i32[LOG_HEAD]!;
    const tail = i32[LOG_TAIL]!;
    while (head !== tail) {
      if (this.#wrapsAt(head)) {
        head = LOG_DATA;
        this.#scanAt = 0;
        continue;
      }
      const end = head + i32[(head >> 2) + BATCH_LEN]!;
      let pos = this.#scanAt > head && this.#scanAt < end ? this.#scanAt : head + BATCH_HEADER_BYTES + align8(i32[(head >> 2) + BATCH_SNAPSHOT]!);
      while (pos < end && !waiting(u8, pos)) pos += align8(REC_HEADER_BYTES + readI32(u8, pos));
      if (pos < end) {
        this.#scanAt = pos;
        break;
      }
      head = end;
      this.#scanAt = 0;
    }
    if (head === tail && tail !== LOG_DATA) {
      // Empty: start again from the front (the next batch lands on memory already touched), in
      // lap 0: no id is out, so none can be mistaken (and ids stay small integers).
      i32[LOG_TAIL] = LOG_DATA;
      head = LOG_DATA;
      this.#lap = 0;
      i32[LOG_LAP] = 0;
    }
    i32[LOG_HEAD] = head;
  }

  /**
   * Where a batch of `need` bytes goes: after the tail, in the front once the head has moved on,
   * or after growing (a large log first compacts what holds its head); -1 if full.
   */
  #reserve(need: number, compact: boolean): number {
    const i32 = this.#i32;
    const head = i32[LOG_HEAD]!;
    const tail = i32[LOG_TAIL]!;
    const size = this.#sab.byteLength;
    if (compact && size >= COMPACT_FROM_BYTES && (tail >= head ? tail + need > size && head - LOG_DATA < need : tail + need >= head)) {
      if (this.#compactHead()) return this.#reserve(need, false);
    }
    if (tail >= head) {
      // Not wrapped: [head, tail) is live. Room at the end, or grow, or wrap to the front.
      if (tail + need <= size) return tail;
      const roomInFront = head - LOG_DATA;
      if (roomInFront <= size >> 1 || roomInFront <= need) {
        const grown = Math.min(this.#max, Math.max(size * 2, tail + need));
        if (grown >= tail + need && grown > size) {
          this.#sab.grow(grown);
          this.#u8 = new Uint8Array(this.#sab, 0, grown);
          this.#i32 = new Int32Array(this.#sab, 0, grown >> 2);
          return tail;
        }
      }
      if (LOG_DATA + need >= head) return -1;
      if (tail + BATCH_HEADER_BYTES <= size) i32[(tail >> 2) + BATCH_LEN] = WRAP;
      this.#nextLap();
      return LOG_DATA;
    }
    // Wrapped: [head, end) and [LOG_DATA, tail) are live; the gap is [tail, head).
    return tail + need < head ? tail : -1;
  }

  /**
   * Moves what holds the head up to the tail while that is little: the waiting user records of
   * the head batch, with the records before them that changed the codec state (kept as done, to
   * be decoded for that state only). True if the head moved.
   */
  #compactHead(): boolean {
    let movedAny = false;
    for (let rounds = 0; rounds < 64; rounds++) {
      let i32 = this.#i32;
      let u8 = this.#u8;
      const head = i32[LOG_HEAD]!;
      if (head === i32[LOG_TAIL]! || this.#wrapsAt(head)) break;
      const b = head >> 2;
      const len = i32[b + BATCH_LEN]!;
      const snapLen = i32[b + BATCH_SNAPSHOT]!;
      const records = head + BATCH_HEADER_BYTES + align8(snapLen);
      const headBase = this.#lapOf(head) * ID_SPAN; // before the copy's place is taken (it may wrap)
      const kept: number[] = [];
      let waitingUpTo = 0;
      forEachRecord(u8, records, head + len, (pos, kind) => {
        const k = kind & KIND_MASK;
        const flags = u8[pos + REC_FLAGS]! | (u8[pos + REC_FLAGS + 1]! << 8);
        const state = k === RecordKind.TypeDef || k === RecordKind.Discard || (k !== RecordKind.Big && (flags & FLAG_DEFINES) !== 0);
        const wait = waiting(u8, pos);
        if (!wait && !state) return;
        kept.push(pos);
        if (wait) waitingUpTo = kept.length;
      });
      kept.length = waitingUpTo; // codec changes after the last waiting record are not needed
      let keptBytes = 0;
      for (const pos of kept) keptBytes += align8(REC_HEADER_BYTES + readI32(u8, pos));
      // A batch mostly waiting (a backlog) stays where it is; a few waiting records move.
      if (kept.length === 0 || (keptBytes * 2 > len && keptBytes > COMPACT_MOVE_BYTES)) break;
      const snap = align8(snapLen);
      const need = BATCH_HEADER_BYTES + snap + keptBytes;
      const at = this.#reserve(need, false);
      if (at < 0) break;
      i32 = this.#i32; // the log may have grown: new views
      u8 = this.#u8;
      const nb = at >> 2;
      i32[nb + BATCH_LEN] = need;
      i32[nb + BATCH_FROM] = i32[b + BATCH_FROM]!;
      i32[nb + BATCH_SNAPSHOT] = snapLen;
      u8.copyWithin(at + BATCH_HEADER_BYTES, head + BATCH_HEADER_BYTES, head + BATCH_HEADER_BYTES + snap);
      let to = at + BATCH_HEADER_BYTES + snap;
      const moves: [number, number][] = [];
      for (const pos of kept) {
        const size = align8(REC_HEADER_BYTES + readI32(u8, pos));
        u8.copyWithin(to, pos, pos + size);
        if (waiting(u8, to)) moves.push([pos, to]);
        else u8[to + REC_KIND]! |= DONE; // kept for its codec state only
        to += size;
      }
      // The copy is live from here; then the original is done with (a death between the two
      // would find both: the one instant where a record could go twice).
      i32[LOG_TAIL] = at + need;
      for (const [pos, now] of moves) {
        this.#move(headBase + pos, this.#lap * ID_SPAN + now);
        u8[pos + REC_KIND]! |= DONE;
      }
      this.#dropFinished();
      movedAny = true;
    }
    return movedAny;
  }

  #move(from: number, now: number): void {
    const first = this.#origin.get(from) ?? from;
    this.#origin.delete(from);
    this.#moved.set(first, now);
    this.#origin.set(now, first);
  }

  // ---- after the owner died ---------------------------------------------------------------------

  /**
   * Visits every live batch in order: the writer's thread, the codec snapshot, and the records
   * `[start, end)` of `bytes` (the whole log), with the id base of its records. For a
   * replacement reading on, and for the books.
   */
  forEachBatch(visit: (from: number, snapshot: Uint8Array, bytes: Uint8Array, start: number, end: number, base: number) => void): void {
    const i32 = this.#i32;
    let at = i32[LOG_HEAD]!;
    const tail = i32[LOG_TAIL]!;
    while (at !== tail) {
      if (this.#wrapsAt(at)) {
        at = LOG_DATA;
        continue;
      }
      const b = at >> 2;
      const len = i32[b + BATCH_LEN]!;
      const snapLen = i32[b + BATCH_SNAPSHOT]!;
      const snapAt = at + BATCH_HEADER_BYTES;
      const records = snapAt + align8(snapLen);
      visit(i32[b + BATCH_FROM]!, this.#u8.slice(snapAt, snapAt + snapLen), this.#u8, records, at + len, this.#lapOf(at) * ID_SPAN + records);
      at += len;
    }
  }

  /** User messages in the log not done yet (fan-out copies each), from the record marks. */
  pendingMessages(): number {
    let n = 0;
    this.forEachBatch((_from, _snapshot, bytes, start, end) => {
      forEachRecord(bytes, start, end, (pos, kind) => {
        if ((kind & DONE) !== 0) return;
        const k = kind & KIND_MASK;
        const was = k === RecordKind.Big ? bytes[pos + REC_FLAGS]! : k;
        if (was === RecordKind.Tell || was === RecordKind.Ask) n++;
        else if (was === RecordKind.Fanout) n += readI32(bytes, pos + REC_CORR);
      });
    });
    return n;
  }
}

function readI32(bytes: Uint8Array, at: number): number {
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
