import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { CTL_BYTES, REC_HEADER_BYTES } from '../../src/runtime/layout.js';
import { RecordReader, RingConsumer, RingProducer, createRingBuffer, type RecordHeader } from '../../src/runtime/ring-buffer.js';
import { Bell } from '../../src/runtime/wake.js';

const header = (): RecordHeader => ({ kind: 0, priority: 0, flags: 0, target: 0, sender: 0, corr: 0, aux: 0, custody: 0 });

function readAll(consumer: RingConsumer, capacity: number): { h: RecordHeader; payload: number[] }[] {
  const scratch = new Uint8Array(new ArrayBuffer(capacity));
  const reader = new RecordReader(scratch);
  const out: { h: RecordHeader; payload: number[] }[] = [];
  const n = consumer.take(scratch, capacity);
  let pos = 0;
  while (pos < n) {
    const h = header();
    const len = reader.payloadLength(pos);
    const next = reader.read(pos, h);
    out.push({ h, payload: [...scratch.subarray(pos + REC_HEADER_BYTES, pos + REC_HEADER_BYTES + len)] });
    pos = next;
  }
  return out;
}

describe('RingBuffer', () => {
  it('makes records visible only when published', () => {
    const sab = createRingBuffer(1024);
    const producer = new RingProducer(sab);
    const consumer = new RingConsumer(sab);
    expect(producer.tryWrite(1, 2, 0x1234, 3.5, 4, 5, 6, new Uint8Array([9, 8, 7]))).toBe(true);
    expect(consumer.hasData()).toBe(false);
    expect(producer.publish()).toBe(true);
    expect(producer.publish()).toBe(false);
    expect(consumer.hasData()).toBe(true);
    const [record] = readAll(consumer, 1024);
    expect(record!.h).toMatchObject({ kind: 1, priority: 2, flags: 0x1234, target: 3.5, sender: 4, corr: 5, aux: 6 });
    expect(record!.payload).toEqual([9, 8, 7]);
    expect(consumer.hasData()).toBe(false);
  });

  it('returns false when full and writes nothing', () => {
    const sab = createRingBuffer(1024);
    const producer = new RingProducer(sab);
    const consumer = new RingConsumer(sab);
    const payload = new Uint8Array(96); // 128-byte records: 8 fit in 1024
    let written = 0;
    while (producer.tryWrite(1, 0, 0, written, 0, 0, 0, payload)) written++;
    expect(written).toBe(8);
    producer.publish();
    expect(readAll(consumer, 1024).map((r) => r.h.target)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(producer.tryWrite(1, 0, 0, 8, 0, 0, 0, payload)).toBe(true);
  });

  it('pads the tail before a wrap so each record stays contiguous', () => {
    const sab = createRingBuffer(1024);
    const producer = new RingProducer(sab);
    const consumer = new RingConsumer(sab);
    const seven = new Uint8Array(200).fill(7);
    for (let i = 0; i < 4; i++) producer.tryWrite(1, 0, 0, i, 0, 0, 0, seven); // 4 x 232 = 928 bytes
    producer.publish();
    expect(readAll(consumer, 1024)).toHaveLength(4);
    // 96 bytes left before the end: a 232-byte record must wrap behind a PAD.
    expect(producer.tryWrite(1, 0, 0, 99, 0, 0, 0, seven)).toBe(true);
    producer.publish();
    const [wrapped] = readAll(consumer, 1024);
    expect(wrapped!.h.target).toBe(99);
    expect(wrapped!.payload.every((b) => b === 7)).toBe(true);
  });

  it('rejects a capacity that is not a power of two', () => {
    expect(() => createRingBuffer(1000)).toThrow(RangeError);
  });

  it.each([1, 2, 3])(
    'delivers every byte of 100k seeded random records between two threads, through wraps and parks (seed %i)',
    async (seed) => {
      const capacity = 16 * 1024;
      const count = 100_000;
      const maxLen = 600;
      const ring = createRingBuffer(capacity);
      const ctl = new SharedArrayBuffer(CTL_BYTES);
      const consumer = new RingConsumer(ring);
      const bell = new Bell(new Int32Array(ctl), 0);
      const worker = new Worker(new URL('../fixtures/ring-producer.mjs', import.meta.url), {
        workerData: { ring, ctl, count, seed, maxLen },
      });
      const finished = new Promise<{ done: number; fullWaits: number }>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      const scratch = new Uint8Array(new ArrayBuffer(capacity));
      const reader = new RecordReader(scratch);
      const h = header();
      let k = 0;
      let parks = 0;
      let badBytes = 0;
      let badHeaders = 0;
      while (k < count) {
        const n = consumer.take(scratch, capacity);
        if (n === 0) {
          const b = bell.prepareToPark();
          if (consumer.hasData()) {
            bell.cancelPark();
            continue;
          }
          parks++;
          await bell.park(b);
          continue;
        }
        let pos = 0;
        while (pos < n) {
          const len = reader.payloadLength(pos);
          const start = pos + REC_HEADER_BYTES;
          pos = reader.read(pos, h);
          if (h.kind !== 1 + (k % 9) || h.priority !== k % 4 || h.flags !== (k & 0xffff) || h.target !== k || h.sender !== -k || h.corr !== k || h.aux !== len) badHeaders++;
          for (let j = 0; j < len; j++) if (scratch[start + j] !== ((k * 131 + j * 7) & 255)) badBytes++;
          k++;
        }
      }
      const result = await finished;
      await worker.terminate();
      expect(result.done).toBe(count);
      expect(k).toBe(count);
      expect(badHeaders).toBe(0);
      expect(badBytes).toBe(0);
      expect(consumer.hasData()).toBe(false);
      // The scenario really exercised both hard paths.
      expect(parks).toBeGreaterThan(0);
      expect(result.fullWaits).toBeGreaterThan(0);
    },
  );
});
