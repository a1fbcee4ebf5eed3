// One worker's custody log: what it took from its rings and has not finished, kept in shared
// memory that outlives the thread. The reader copies each batch it takes from a ring here before
// it releases the ring's space, and the records stay until every user message among them is done
// (handled, dead-lettered, or handed to another thread's custody). If the thread dies, its
// replacement reads on from here: what was not started goes again, what was started is known.
//
// A growable SharedArrayBuffer, written only by its owner thread (the main thread reads it once
// the owner is dead, and a replacement becomes the owner), cut into segments. Batches are laid
// end to end in the current segment; a segment is reused as soon as nothing in it waits, so a
// thread that keeps up writes over the same few kilobytes. A message that waits long (a slow or
// async handler) holds only its own segment: the next batches go to another, and nothing moves,
// so a record's custody id is simply its offset. A payload larger than a segment (it came on a
// port) takes several in a row, headed by the first. Each batch carries the codec state its records
// were written against (a snapshot made by the reader when that state changed) and a sequence
// number, so a replacement decodes each alone and reads them in the order they were taken.
//
// A record's state is kept in the high bits of its kind byte: STARTED before its handler runs,
// DONE once its user messages are done. A fan-out record (one tell for several actors of the
// thread) also keeps, in its unused target field, which of its first 32 copies are started and
// which done (the others' state goes in a batch beside it): each copy has its own custody id (the
// record's, plus the copy's number above the offset), so a replacement delivers again exactly
// the copies not done. Done marks are buffered during a turn and written when
// the thread publishes its counters, so that the books and the log agree at every instant.

import { REC_CORR, REC_KIND, REC_TARGET, RecordKind, align8 } from './layout.js';
import { BATCH_FROM, BATCH_HEADER_BYTES, BATCH_LEN, BATCH_SEQ, BATCH_SNAPSHOT, COPIES, COPY_SPAN, DONE, KIND_MASK, OFFSET_MASK, PAYLOAD, SEG_BYTES, SEG_HEADER_BYTES, SEG_SHIFT, SEG_USED, STARTED, TRACKED_COPIES, copyWords, forEachRecord, held, waiting } from './custody-layout.js';

export class CustodyLog {
  readonly #sab: SharedArrayBuffer;
  // Fixed-length views, made again when the log grows (V8 is slower on length-tracking ones).
  #u8: Uint8Array;
  #i32: Int32Array;
  /** User messages waiting in each segment (the owner's count; the marks are the truth). */
  #waiting: Int32Array;
  /** Segments with nothing in them, and the one batches go to now. */
  readonly #free: number[] = [];
  #current = 0;
  /** The next batch's sequence number. */
  #seq = 1;
  /** Custody ids done since the last publish. */
  readonly #done: number[] = [];
  /** The last bytesHeld, and whether a batch was placed or a segment freed since. */
  #held = 0;
  #dirty = true;
  /** Records with a batch of their own beside them (a large payload, copy states): id -> those batches' segments. */
  readonly #payloads = new Map<number, number[]>();
  /** Fan-outs of more than TRACKED_COPIES: id -> where the state of the others is kept, and how many words each bit set takes. */
  readonly #copyBits = new Map<number, { at: number; words: number }>();
  /** Payloads larger than a segment: first segment -> how many in a row they take. */
  readonly #jumbo = new Map<number, number>();

  constructor(sab: SharedArrayBuffer) {
    this.#sab = sab;
    this.#u8 = new Uint8Array(sab, 0, sab.byteLength);
    this.#i32 = new Int32Array(sab, 0, sab.byteLength >> 2);
    this.#waiting = new Int32Array(sab.byteLength >> SEG_SHIFT);
    this.#adopt();
  }

  /**
   * Takes the log up as it stands (new, or left by a thread that died): counts what waits in
   * each segment, frees the empty ones, and numbers the next batch after the last one there.
   */
  #adopt(): void {
    const segments = this.#waiting.length;
    let latest = -1;
    this.#forEachLiveBatch((at, seg) => {
      const b = at >> 2;
      const from = this.#i32[b + BATCH_FROM]!;
      if (from === PAYLOAD || from === COPIES) {
        const id = this.#i32[b + (BATCH_HEADER_BYTES >> 2)]!;
        if (held(this.#u8, id) === 0) return;
        this.#companion(id, seg);
        if (from === COPIES) this.#copyBits.set(id, { at: at + BATCH_HEADER_BYTES + 8, words: copyWords(this.#i32[b + (BATCH_HEADER_BYTES >> 2) + 1]!) });
        return;
      }
      const seq = this.#i32[b + BATCH_SEQ]!;
      if (latest < 0 || ((seq - this.#seq) | 0) >= 0) {
        this.#seq = seq + 1;
        latest = seg;
      }
      const records = at + BATCH_HEADER_BYTES + align8(this.#i32[b + BATCH_SNAPSHOT]!);
      forEachRecord(this.#u8, records, at + this.#i32[b + BATCH_LEN]!, (pos) => (this.#waiting[seg]! += held(this.#u8, pos)));
    });
    const empty: number[] = [];
    for (let seg = 0; seg < segments; seg++) {
      const run = this.#run(seg);
      if (run > 1 && this.#waiting[seg] !== 0) {
        this.#jumbo.set(seg, run); // a payload larger than a segment, still wanted
        seg += run - 1;
        continue;
      }
      for (let s = seg; s < seg + run; s++) if (this.#waiting[s] === 0 && s !== latest) empty.push(s);
      seg += run - 1;
    }
    for (let k = empty.length - 1; k >= 0; k--) {
      const seg = empty[k]!;
      this.#i32[(seg << (SEG_SHIFT - 2)) + SEG_USED] = 0;
      if (seg !== 0 || latest >= 0) this.#free.push(seg);
    }
    this.#current = latest >= 0 ? latest : 0;
    if (this.#i32[(this.#current << (SEG_SHIFT - 2)) + SEG_USED]! < SEG_HEADER_BYTES) this.#i32[(this.#current << (SEG_SHIFT - 2)) + SEG_USED] = SEG_HEADER_BYTES;
  }

  /** Bytes held by segments in use (a gauge): counted again only after the log changed. */
  get bytesHeld(): number {
    if (!this.#dirty) return this.#held;
    this.#dirty = false;
    let bytes = 0;
    const i32 = this.#i32;
    for (let seg = 0; seg < this.#waiting.length; seg += this.#run(seg)) {
      const used = i32[(seg << (SEG_SHIFT - 2)) + SEG_USED]!;
      if (used > SEG_HEADER_BYTES) bytes += used - SEG_HEADER_BYTES;
    }
    return (this.#held = bytes);
  }

  /**
   * Copies `bytes` of records taken from the ring of thread `from` (in `scratch`, from offset
   * 0), with the codec snapshot they decode against. Returns the id base of the batch: a record
   * at offset `pos` of scratch has custody id `base + pos`; or -1 when the log is full. The
   * caller then says how many user messages the batch holds (hold()).
   */
  append(from: number, snapshot: Uint8Array, scratch: Uint8Array, bytes: number): number {
    const need = BATCH_HEADER_BYTES + align8(snapshot.length) + bytes;
    // Held until hold() says how many messages it has: nothing may write over it meanwhile.
    const at = this.#place(need);
    if (at < 0) return -1;
    const i32 = this.#i32;
    const b = at >> 2;
    i32[b + BATCH_LEN] = need;
    i32[b + BATCH_FROM] = from;
    i32[b + BATCH_SNAPSHOT] = snapshot.length;
    i32[b + BATCH_SEQ] = this.#seq++ | 0;
    const u8 = this.#u8;
    if (snapshot.length > 0) u8.set(snapshot, at + BATCH_HEADER_BYTES);
    const records = at + BATCH_HEADER_BYTES + align8(snapshot.length);
    u8.set(scratch.subarray(0, bytes), records);
    // The segment's length last: a thread that dies before this never wrote the batch.
    this.#i32[((at >> SEG_SHIFT) << (SEG_SHIFT - 2)) + SEG_USED] = (at & (SEG_BYTES - 1)) + need;
    return records;
  }

  /**
   * Where `need` bytes go: after the last batch of the current segment, or at the front of it
   * if nothing there waits, or in a free segment (growing the log for one). Counts one waiting
   * message in that segment, which the caller turns into what the batch really holds; -1 if full.
   */
  #place(need: number): number {
    if (need > SEG_BYTES - SEG_HEADER_BYTES) return -1;
    this.#dirty = true;
    let seg = this.#current;
    let used = this.#i32[(seg << (SEG_SHIFT - 2)) + SEG_USED]!;
    if (used + need > SEG_BYTES) {
      if (this.#waiting[seg] === 0) {
        used = SEG_HEADER_BYTES; // nothing in it waits: write over it
      } else {
        const next = this.#free.pop() ?? this.#grow();
        if (next < 0) return -1;
        seg = this.#current = next;
        used = SEG_HEADER_BYTES;
      }
    }
    this.#waiting[seg]!++;
    return (seg << SEG_SHIFT) + used;
  }

  /**
   * Keeps the bytes of record `id`'s large payload (it came on a port) for as long as the record
   * waits. False if they do not fit in a segment: then they live in the heap alone.
   */
  keepPayload(id: number, bytes: Uint8Array): boolean {
    const need = BATCH_HEADER_BYTES + 8 + align8(bytes.length);
    const at = need > SEG_BYTES - SEG_HEADER_BYTES ? this.#placeRun(need) : this.#place(need);
    if (at < 0) return false;
    this.#u8.set(bytes, at + BATCH_HEADER_BYTES + 8);
    this.#sideBatch(at, need, PAYLOAD, id, bytes.length);
    return true;
  }

  /**
   * Writes the header of a batch of record `id`'s own at `at` (its body is written), makes it
   * part of its segment, and keeps it for as long as the record waits: the one waiting message
   * #place counted there is the record's.
   */
  #sideBatch(at: number, need: number, kind: number, id: number, n: number): void {
    const i32 = this.#i32;
    const b = at >> 2;
    i32[b + BATCH_LEN] = need;
    i32[b + BATCH_FROM] = kind;
    i32[b + BATCH_SNAPSHOT] = 0;
    i32[b + BATCH_SEQ] = this.#seq++ | 0;
    i32[b + (BATCH_HEADER_BYTES >> 2)] = id;
    i32[b + (BATCH_HEADER_BYTES >> 2) + 1] = n;
    const seg = at >> SEG_SHIFT;
    i32[(seg << (SEG_SHIFT - 2)) + SEG_USED] = (at & (SEG_BYTES - 1)) + need;
    const segs = this.#payloads.get(id);
    if (segs === undefined) this.#payloads.set(id, [seg]);
    else segs.push(seg);
  }

  /** A batch of its own at segment `seg` for record `id`, alive while the record waits. */
  #companion(id: number, seg: number): void {
    this.#waiting[seg]!++;
    const segs = this.#payloads.get(id);
    if (segs === undefined) this.#payloads.set(id, [seg]);
    else segs.push(seg);
  }

  /**
   * A fan-out record `id` of `copies` copies, more than the record itself has room for: the state
   * of the copies past TRACKED_COPIES is kept beside it. False if the log is full (then the fate
   * of those copies is not known after a death).
   */
  trackCopies(id: number, copies: number): boolean {
    const words = copyWords(copies);
    const need = BATCH_HEADER_BYTES + 8 + 8 * words;
    const at = this.#place(need);
    if (at < 0) return false;
    this.#i32.fill(0, (at + BATCH_HEADER_BYTES + 8) >> 2, (at + need) >> 2);
    this.#sideBatch(at, need, COPIES, id, copies);
    this.#copyBits.set(id, { at: at + BATCH_HEADER_BYTES + 8, words });
    return true;
  }

  /** Of fan-outs that wait, the state of their copies past TRACKED_COPIES: id -> [done bits, started bits]. */
  keptCopyStates(): Map<number, [Int32Array, Int32Array]> {
    const out = new Map<number, [Int32Array, Int32Array]>();
    this.#forEachLiveBatch((at) => {
      const b = at >> 2;
      if (this.#i32[b + BATCH_FROM] !== COPIES) return;
      const id = this.#i32[b + (BATCH_HEADER_BYTES >> 2)]!;
      if (held(this.#u8, id) === 0) return;
      const words = copyWords(this.#i32[b + (BATCH_HEADER_BYTES >> 2) + 1]!);
      const first = b + (BATCH_HEADER_BYTES >> 2) + 2;
      out.set(id, [this.#i32.slice(first, first + words), this.#i32.slice(first + words, first + 2 * words)]);
    });
    return out;
  }

  /** Sets copy `copy`'s bit (done, or started) of fan-out `rec`. */
  #copyBit(rec: number, copy: number, started: boolean): void {
    if (copy < TRACKED_COPIES) {
      this.#i32[(rec + REC_TARGET + (started ? 4 : 0)) >> 2]! |= 1 << copy;
      return;
    }
    const kept = this.#copyBits.get(rec);
    if (kept === undefined) return;
    const k = copy - TRACKED_COPIES;
    this.#i32[(kept.at >> 2) + (started ? kept.words : 0) + (k >> 5)]! |= 1 << (k & 31);
  }

  /** The large payloads kept for records that wait, by record id (a replacement's start). */
  keptPayloads(): Map<number, Uint8Array> {
    const out = new Map<number, Uint8Array>();
    this.#forEachLiveBatch((at) => {
      const b = at >> 2;
      if (this.#i32[b + BATCH_FROM] !== PAYLOAD) return;
      const id = this.#i32[b + (BATCH_HEADER_BYTES >> 2)]!;
      if (held(this.#u8, id) === 0) return;
      const from = at + BATCH_HEADER_BYTES + 8;
      out.set(id, this.#u8.slice(from, from + this.#i32[b + (BATCH_HEADER_BYTES >> 2) + 1]!));
    });
    return out;
  }

  /** The batch at `base` holds `users` user messages (fan-out copies each). */
  hold(base: number, users: number): void {
    const seg = base >> SEG_SHIFT;
    if ((this.#waiting[seg]! += users - 1) === 0) this.#emptied(seg);
  }

  /** A handler is about to run on the message: if the thread dies now, it was started. */
  started(id: number): void {
    if (id <= OFFSET_MASK) {
      this.#u8[id + REC_KIND]! |= STARTED;
      return;
    }
    this.#copyBit(id & OFFSET_MASK, Math.floor(id / COPY_SPAN) - 1, true);
  }

  /** Done with one user message: marked at the next publish. */
  done(id: number): void {
    this.#done.push(id);
  }

  /**
   * Writes the done marks of this turn, and lets every segment in which nothing waits any more
   * be written over. Called with the publication of the thread's counters.
   */
  publish(): void {
    const done = this.#done;
    if (done.length === 0) return;
    const u8 = this.#u8;
    const i32 = this.#i32;
    const waitingIn = this.#waiting;
    for (let k = 0; k < done.length; k++) {
      let id = done[k]!;
      if (id > OFFSET_MASK) {
        // A fan-out copy: its own bit, then the record's count.
        const rec = id & OFFSET_MASK;
        this.#copyBit(rec, Math.floor(id / COPY_SPAN) - 1, false);
        id = rec;
      }
      if ((u8[id + REC_KIND]! & KIND_MASK) === RecordKind.Fanout) {
        // One record, several copies: done once the last copy is.
        if (--i32[(id + REC_CORR) >> 2]! <= 0) u8[id + REC_KIND]! |= DONE;
      } else {
        u8[id + REC_KIND]! |= DONE;
      }
      const seg = id >> SEG_SHIFT;
      if (--waitingIn[seg]! === 0) this.#emptied(seg);
      if (this.#payloads.size > 0 && (u8[id + REC_KIND]! & DONE) !== 0) {
        const kept = this.#payloads.get(id);
        if (kept !== undefined) {
          this.#payloads.delete(id);
          this.#copyBits.delete(id);
          for (const s of kept) if (--waitingIn[s]! === 0) this.#emptied(s);
        }
      }
    }
    done.length = 0;
  }

  /** Nothing waits in segment `seg` any more: the current one starts again, another is free. */
  #emptied(seg: number): void {
    this.#dirty = true;
    const run = this.#jumbo.get(seg);
    if (run !== undefined) {
      this.#jumbo.delete(seg);
      for (let s = seg + run - 1; s >= seg; s--) {
        this.#i32[(s << (SEG_SHIFT - 2)) + SEG_USED] = 0;
        this.#free.push(s);
      }
      return;
    }
    if (seg === this.#current) {
      this.#i32[(seg << (SEG_SHIFT - 2)) + SEG_USED] = SEG_HEADER_BYTES;
    } else {
      this.#i32[(seg << (SEG_SHIFT - 2)) + SEG_USED] = 0;
      this.#free.push(seg);
    }
  }

  /**
   * Room for `need` bytes over several segments in a row (a payload larger than one): free ones
   * side by side, or new ones. Counts one waiting message in the first; -1 if there is no room.
   */
  #placeRun(need: number): number {
    const run = Math.ceil((SEG_HEADER_BYTES + need) / SEG_BYTES);
    this.#dirty = true;
    const free = [...this.#free].sort((a, b) => a - b);
    let first = -1;
    for (let i = 0; i + run <= free.length; i++) {
      if (free[i + run - 1]! - free[i]! === run - 1) {
        first = free[i]!;
        break;
      }
    }
    if (first >= 0) {
      for (let s = first; s < first + run; s++) this.#free.splice(this.#free.indexOf(s), 1);
    } else {
      first = this.#grow(run);
      if (first < 0) return -1;
    }
    this.#jumbo.set(first, run);
    this.#waiting[first]!++;
    return (first << SEG_SHIFT) + SEG_HEADER_BYTES;
  }

  /** Segments the one at `seg` heads: more than 1 for a payload larger than a segment. */
  #run(seg: number): number {
    const used = this.#i32[(seg << (SEG_SHIFT - 2)) + SEG_USED]!;
    return used > SEG_BYTES ? Math.ceil(used / SEG_BYTES) : 1;
  }

  /** More segments, at least `least` new in a row, up to the log's largest size: the first new one, or -1. */
  #grow(least = 1): number {
    const size = this.#sab.byteLength;
    const grown = Math.min(this.#sab.maxByteLength, Math.max(size * 2, size + least * SEG_BYTES));
    if (grown < size + least * SEG_BYTES) return -1;
    this.#sab.grow(grown);
    this.#u8 = new Uint8Array(this.#sab, 0, grown);
    this.#i32 = new Int32Array(this.#sab, 0, grown >> 2);
    const waitingIn = new Int32Array(grown >> SEG_SHIFT);
    waitingIn.set(this.#waiting);
    this.#waiting = waitingIn;
    const first = size >> SEG_SHIFT;
    for (let seg = waitingIn.length - 1; seg >= first + least; seg--) this.#free.push(seg);
    return first;
  }

  /** Every batch in a segment in use, in segment order (not the order taken). */
  #forEachLiveBatch(visit: (at: number, seg: number) => void): void {
    const i32 = this.#i32;
    for (let seg = 0; seg < this.#waiting.length; seg += this.#run(seg)) {
      const base = seg << SEG_SHIFT;
      const used = i32[(base >> 2) + SEG_USED]!;
      for (let at = base + SEG_HEADER_BYTES; at < base + used; at += i32[(at >> 2) + BATCH_LEN]!) visit(at, seg);
    }
  }

  // ---- after the owner died ---------------------------------------------------------------------

  /**
   * Visits every batch that holds a message not done, in the order they were taken: the writer's
   * thread, the codec snapshot, and the records `[start, end)` of `bytes` (the whole log), whose
   * ids are their offsets. For a replacement reading on.
   */
  forEachBatch(visit: (from: number, snapshot: Uint8Array, bytes: Uint8Array, start: number, end: number) => void): void {
    const i32 = this.#i32;
    const u8 = this.#u8;
    const live: number[] = [];
    this.#forEachLiveBatch((at) => {
      if (i32[(at >> 2) + BATCH_FROM]! < 0) return; // a payload or copy states: no records
      const records = at + BATCH_HEADER_BYTES + align8(i32[(at >> 2) + BATCH_SNAPSHOT]!);
      let any = false;
      forEachRecord(u8, records, at + i32[(at >> 2) + BATCH_LEN]!, (pos) => (any ||= waiting(u8, pos)));
      if (any) live.push(at);
    });
    // Sequence numbers wrap at 2^32: compare by difference.
    live.sort((a, b) => (i32[(a >> 2) + BATCH_SEQ]! - i32[(b >> 2) + BATCH_SEQ]!) | 0);
    for (const at of live) {
      const b = at >> 2;
      const snapAt = at + BATCH_HEADER_BYTES;
      const snapLen = i32[b + BATCH_SNAPSHOT]!;
      visit(i32[b + BATCH_FROM]!, u8.slice(snapAt, snapAt + snapLen), u8, snapAt + align8(snapLen), at + i32[b + BATCH_LEN]!);
    }
  }

  /** User messages in the log not done yet (fan-out copies each), from the record marks. */
  pendingMessages(): number {
    let n = 0;
    const u8 = this.#u8;
    this.#forEachLiveBatch((at) => {
      const b = at >> 2;
      if (this.#i32[b + BATCH_FROM]! < 0) return;
      const records = at + BATCH_HEADER_BYTES + align8(this.#i32[b + BATCH_SNAPSHOT]!);
      forEachRecord(u8, records, at + this.#i32[b + BATCH_LEN]!, (pos) => (n += held(u8, pos)));
    });
    return n;
  }
}
