// A writer's overflow queue: records that did not fit in its ring when written, kept on the
// sender's side in order (private copies), and moved into the ring as room appears. While it
// holds anything, every later record of that writer queues behind it, so order is kept.

import { userMessages } from './layout.js';
import type { RingProducer } from './ring-buffer.js';
import type { Bell } from './wake.js';

/** What a spilled record is charged beyond its payload (its header), for flow control. */
const OVERHEAD = 32;

interface Spilled {
  kind: number;
  priority: number;
  flags: number;
  target: number;
  sender: number;
  corr: number;
  aux: number;
  bytes: Uint8Array;
}

export class Spill {
  readonly #records: Spilled[] = [];
  #head = 0;
  #bytes = 0;

  get isEmpty(): boolean {
    return this.#head === this.#records.length;
  }

  /** Records waiting. */
  get length(): number {
    return this.#records.length - this.#head;
  }

  /** Bytes waiting, headers included: what flow control weighs. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Queues a private copy of `bytes[start, end)` (the encoder's buffer is reused by the next message). */
  push(kind: number, priority: number, flags: number, target: number, sender: number, corr: number, aux: number, bytes: Uint8Array, start: number, end: number): void {
    const copy = new Uint8Array(end - start);
    copy.set(bytes.subarray(start, end));
    this.#records.push({ kind, priority, flags, target, sender, corr, aux, bytes: copy });
    this.#bytes += copy.length + OVERHEAD;
  }

  /**
   * Writes waiting records into the ring, oldest first, until one does not fit even after a
   * publish (which rings the reader's `bell`). Returns the user messages moved.
   */
  drainInto(producer: RingProducer, bell: Bell): number {
    const records = this.#records;
    let moved = 0;
    while (this.#head < records.length) {
      const s = records[this.#head]!;
      if (!producer.tryWrite(s.kind, s.priority, s.flags, s.target, s.sender, s.corr, s.aux, s.bytes)) {
        if (producer.publish()) bell.ring();
        if (!producer.tryWrite(s.kind, s.priority, s.flags, s.target, s.sender, s.corr, s.aux, s.bytes)) return moved;
      }
      moved += userMessages(s.kind, s.flags, s.corr);
      records[this.#head] = undefined as unknown as Spilled;
      this.#head++;
      this.#bytes -= s.bytes.length + OVERHEAD;
    }
    this.clear();
    return moved;
  }

  /**
   * Visits every waiting record, oldest first, as RingProducer.forEachUnconsumed does: a visitor
   * that returns a kind (>= 0) rewrites the record's kind to it, keeping the old kind in its flags.
   */
  forEach(visit: (kind: number, flags: number, aux: number, corr: number) => number | void): void {
    for (let i = this.#head; i < this.#records.length; i++) {
      const s = this.#records[i]!;
      const now = visit(s.kind, s.flags, s.aux, s.corr);
      if (typeof now === 'number' && now >= 0 && now !== s.kind) {
        s.flags = s.kind;
        s.kind = now;
      }
    }
  }

  clear(): void {
    this.#records.length = 0;
    this.#head = 0;
    this.#bytes = 0;
  }
}
