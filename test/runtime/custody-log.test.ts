// The custody log on its own: batches copied in, records marked started and done, the head
// moving past what is finished, growth, the wrap, compaction of a batch held by one waiting
// record (its id follows it), and what a replacement finds after the owner died.

import { describe, expect, it } from 'vitest';
import { CustodyLog, DONE, KIND_MASK, STARTED, createCustodyLog, forEachRecord } from '../../src/runtime/custody-log.js';
import { RecordKind, REC_TARGET } from '../../src/runtime/layout.js';
import { RingConsumer, RingProducer, createRingBuffer } from '../../src/runtime/ring-buffer.js';

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

/** What a replacement would find: the target and state of every record in the live batches. */
function found(sab: SharedArrayBuffer): { target: number; started: boolean; done: boolean }[] {
  const out: { target: number; started: boolean; done: boolean }[] = [];
  new CustodyLog(sab).forEachBatch((_from, _snapshot, bytes, start, end) => {
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    forEachRecord(bytes, start, end, (pos, kind) => {
      if ((kind & KIND_MASK) !== RecordKind.Tell) return;
      out.push({ target: view.getFloat64(pos + REC_TARGET, true), started: (kind & STARTED) !== 0, done: (kind & DONE) !== 0 });
    });
  });
  return out;
}

const EMPTY = new Uint8Array(0);

describe('CustodyLog', () => {
  it('keeps a batch until every message in it is done, and marks are written only at publish', () => {
    const sab = createCustodyLog(1 << 16, 1 << 20);
    const log = new CustodyLog(sab);
    const b = batch(1, 3);
    const base = log.append(1, EMPTY, b.scratch, b.length);
    const ids = b.offsets.map((pos) => base + pos);
    log.started(ids[0]!);
    log.done(ids[0]!);
    log.done(ids[1]!);
    expect(found(sab)).toEqual([
      { target: 1, started: true, done: false }, // started shows at once; done waits for publish
      { target: 2, started: false, done: false },
      { target: 3, started: false, done: false },
    ]);
    log.publish();
    expect(found(sab).map((r) => r.done)).toEqual([true, true, false]);
    expect(log.pendingMessages()).toBe(1);
    log.done(ids[2]!);
    log.publish();
    expect(found(sab)).toEqual([]);
    expect(log.bytesHeld).toBe(0);
  });

  it('grows while its head is held, and wraps once the head has moved on', () => {
    const sab = createCustodyLog(4096, 1 << 20);
    const log = new CustodyLog(sab);
    const held = batch(0, 1);
    const heldBase = log.append(1, EMPTY, held.scratch, held.length);
    let next = 1;
    for (let i = 0; i < 40; i++) {
      const b = batch(next, 4, 64);
      const base = log.append(1, EMPTY, b.scratch, b.length);
      expect(base).toBeGreaterThan(0);
      for (const pos of b.offsets) log.done(base + pos);
      log.publish();
      next += 4;
    }
    expect(sab.byteLength).toBeGreaterThan(4096); // the held batch keeps the head: the log grew
    log.done(heldBase + held.offsets[0]!);
    log.publish();
    expect(log.bytesHeld).toBe(0);
    const size = sab.byteLength;
    for (let i = 0; i < 200; i++) {
      const b = batch(next, 4, 64);
      const base = log.append(1, EMPTY, b.scratch, b.length);
      for (const pos of b.offsets) log.done(base + pos);
      log.publish();
    }
    expect(sab.byteLength).toBe(size); // finished batches make room: no more growth
  });

  it('refuses a batch when it is full at its largest (the reader then keeps the messages in its heap)', () => {
    const sab = createCustodyLog(4096, 8192);
    const log = new CustodyLog(sab);
    let refused = false;
    for (let i = 0; i < 100 && !refused; i++) {
      const b = batch(i * 4, 4, 128);
      const base = log.append(1, EMPTY, b.scratch, b.length);
      if (base < 0) refused = true;
    }
    expect(refused).toBe(true);
    expect(sab.byteLength).toBe(8192);
  });

  it('compacts a large log: the one waiting record moves to the tail, its id follows it, and its batch is freed', () => {
    const sab = createCustodyLog(1 << 20, 64 << 20);
    const log = new CustodyLog(sab);
    // A batch of 200 where only the first message waits (a slow handler), then a stream of batches.
    const first = batch(1, 200, 64);
    const firstBase = log.append(1, EMPTY, first.scratch, first.length);
    const waiting = firstBase + first.offsets[0]!;
    log.started(waiting);
    for (const pos of first.offsets.slice(1)) log.done(firstBase + pos);
    log.publish();
    let target = 1000;
    for (let i = 0; i < 2000; i++) {
      const b = batch(target, 50, 64);
      const base = log.append(1, EMPTY, b.scratch, b.length);
      expect(base).toBeGreaterThan(0);
      for (const pos of b.offsets) log.done(base + pos);
      log.publish();
      target += 50;
    }
    // 2000 batches of ~5 KiB went through; the waiting record did not keep them all.
    expect(sab.byteLength).toBeLessThanOrEqual(8 << 20);
    expect(found(sab).filter((r) => !r.done)).toEqual([{ target: 1, started: true, done: false }]);
    log.done(waiting); // by the id it was given before it moved
    log.publish();
    expect(found(sab)).toEqual([]);
  });
});
