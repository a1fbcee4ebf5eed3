// The custody log on its own: batches copied in, records marked started and done, segments
// reused once nothing in them waits, a waiting message holding only its own segment, growth to
// the largest size and refusal beyond it, and what a replacement finds after the owner died.

import { describe, expect, it } from 'vitest';
import { DONE, KIND_MASK, STARTED, createCustodyLog, forEachRecord } from '../../src/runtime/custody-layout.js';
import { CustodyLog } from '../../src/runtime/custody-log.js';
import { RecordKind, REC_TARGET } from '../../src/runtime/layout.js';
import { RingConsumer, RingProducer, createRingBuffer } from '../../src/runtime/ring-buffer.js';

const SEGMENT = 1 << 18;

/** `n` tell records (targets first..first+n-1, `bytes` of payload each) as a reader takes them. */
function batch(first: number, n: number, bytes = 8): { scratch: Buffer; length: number; offsets: number[] } {
  const ring = createRingBuffer(1 << 16);
  const producer = new RingProducer(ring);
  const payload = new Uint8Array(bytes).fill(7);
  for (let i = 0; i < n; i++) expect(producer.tryWrite(RecordKind.Tell, 0, 0, first + i, 0, 0, 0, payload)).toBe(true);
  producer.publish();
  const scratch = Buffer.alloc(1 << 16);
  const length = new RingConsumer(ring).take(scratch, 1 << 16);
  const offsets: number[] = [];
  forEachRecord(scratch, 0, length, (pos) => offsets.push(pos));
  return { scratch, length, offsets };
}

/** Appends a batch of `n` and says it holds `n` messages; returns their ids. */
function append(log: CustodyLog, first: number, n: number, bytes = 8): number[] {
  const b = batch(first, n, bytes);
  const base = log.append(1, new Uint8Array(0), b.scratch, b.length);
  expect(base).toBeGreaterThan(0);
  log.hold(base, n);
  return b.offsets.map((pos) => base + pos);
}

/** What a replacement would find, in the order taken: each waiting record's target and state. */
function found(sab: SharedArrayBuffer): { target: number; started: boolean }[] {
  const out: { target: number; started: boolean }[] = [];
  new CustodyLog(sab).forEachBatch((_from, _snapshot, bytes, start, end) => {
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    forEachRecord(bytes, start, end, (pos, kind) => {
      if ((kind & KIND_MASK) !== RecordKind.Tell || (kind & DONE) !== 0) return;
      out.push({ target: view.getFloat64(pos + REC_TARGET, true), started: (kind & STARTED) !== 0 });
    });
  });
  return out;
}

describe('CustodyLog', () => {
  it('keeps a message until it is done; a start shows at once, an end only at publish', () => {
    const sab = createCustodyLog();
    const log = new CustodyLog(sab);
    const ids = append(log, 1, 3);
    log.started(ids[0]!);
    log.done(ids[0]!);
    log.done(ids[1]!);
    expect(found(sab)).toEqual([
      { target: 1, started: true },
      { target: 2, started: false },
      { target: 3, started: false },
    ]);
    log.publish();
    expect(found(sab)).toEqual([{ target: 3, started: false }]);
    expect(log.pendingMessages()).toBe(1);
    log.done(ids[2]!);
    log.publish();
    expect(found(sab)).toEqual([]);
    expect(log.bytesHeld).toBe(0); // nothing waits: the segment starts again from the front
  });

  it('a message that waits holds only its own segment: the rest goes on in another, and the log does not grow', () => {
    const sab = createCustodyLog(4 * SEGMENT, 64 * SEGMENT);
    const log = new CustodyLog(sab);
    const [slow] = append(log, 0, 1);
    log.started(slow!);
    let target = 1;
    for (let i = 0; i < 2000; i++) {
      // 2000 batches of ~5 KiB: ten megabytes through a log of one.
      for (const id of append(log, target, 50, 64)) log.done(id);
      log.publish();
      target += 50;
    }
    expect(sab.byteLength).toBe(4 * SEGMENT);
    expect(found(sab)).toEqual([{ target: 0, started: true }]);
    log.done(slow!);
    log.publish();
    expect(found(sab)).toEqual([]);
  });

  it('grows while messages wait, up to its largest size, and then refuses a batch (the reader keeps those in its heap)', () => {
    const sab = createCustodyLog(SEGMENT, 4 * SEGMENT);
    const log = new CustodyLog(sab);
    let refused = false;
    for (let i = 0; i < 1000 && !refused; i++) {
      const b = batch(i * 50, 50, 512);
      const base = log.append(1, new Uint8Array(0), b.scratch, b.length);
      if (base < 0) refused = true;
      else log.hold(base, 50); // none of them is ever done
    }
    expect(refused).toBe(true);
    expect(sab.byteLength).toBe(4 * SEGMENT);
  });

  it('keeps a payload larger than a segment over several in a row, for as long as its record waits', () => {
    const sab = createCustodyLog(4 * SEGMENT, 64 * SEGMENT);
    const log = new CustodyLog(sab);
    const [id] = append(log, 7, 1);
    const large = new Uint8Array(600_000).map((_, i) => i & 0xff);
    expect(log.keepPayload(id!, large)).toBe(true);
    for (const other of append(log, 8, 3)) log.done(other);
    log.publish();
    // The owner dies: the next one finds the record and its payload, whole.
    const next = new CustodyLog(sab);
    expect(found(sab).map((r) => r.target)).toEqual([7]);
    const kept = next.keptPayloads().get(id!);
    expect(kept?.length).toBe(600_000);
    expect(kept!.every((b, i) => b === (i & 0xff))).toBe(true);
    next.done(id!);
    next.publish();
    expect(next.keptPayloads().size).toBe(0);
    expect(next.bytesHeld).toBe(0);
    // Its segments are free again: batches fill them without the log growing.
    const size = sab.byteLength;
    for (let i = 0; i < 200; i++) {
      for (const other of append(next, 100 + i, 50, 64)) next.done(other);
      next.publish();
    }
    expect(sab.byteLength).toBe(size);
  });

  it('a replacement finds what waits in the order it was taken, across segments, and carries on with the same ids', () => {
    const sab = createCustodyLog(4 * SEGMENT, 64 * SEGMENT);
    const log = new CustodyLog(sab);
    const kept: number[] = [];
    let target = 0;
    for (let i = 0; i < 300; i++) {
      const ids = append(log, target, 20, 128);
      // Every 30th batch keeps its first message waiting: they end up in several segments.
      ids.forEach((id, k) => (i % 30 === 0 && k === 0 ? kept.push(id) : log.done(id)));
      log.publish();
      target += 20;
    }
    // The owner dies here. The next owner sees the ten waiting messages, oldest first.
    const next = new CustodyLog(sab);
    expect(found(sab).map((r) => r.target)).toEqual(Array.from({ length: 10 }, (_, i) => i * 600));
    expect(next.pendingMessages()).toBe(10);
    for (const id of kept) next.done(id);
    next.publish();
    expect(found(sab)).toEqual([]);
    expect(next.bytesHeld).toBe(0);
    // And it writes on: new batches, and none of the old ones comes back.
    for (const id of append(next, 100_000, 5)) next.done(id);
    next.publish();
    expect(found(sab)).toEqual([]);
  });
});
