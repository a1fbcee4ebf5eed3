// The writer's overflow queue against its ring: records of every size (tiny, over a 64 KiB chunk)
// queued while the ring is full come out in order, whole, as the reader makes room; kinds a
// visitor rewrites come out rewritten, the old kind in the flags.

import { describe, expect, it } from 'vitest';
import { CTL_BYTES, REC_HEADER_BYTES } from '../../src/runtime/layout.js';
import { RecordReader, RingConsumer, RingProducer, createRingBuffer, type RecordHeader } from '../../src/runtime/ring-buffer.js';
import { Spill } from '../../src/runtime/spill.js';
import { Bell } from '../../src/runtime/wake.js';
import { seededRandom } from '../support/random.js';

const CAPACITY = 1024 * 1024;

function payload(seq: number, len: number): Uint8Array {
  const bytes = new Uint8Array(len);
  for (let i = 0; i < len; i++) bytes[i] = (seq * 31 + i) & 0xff;
  return bytes;
}

describe('Spill', () => {
  it('keeps records of any size in order until the ring has room, then moves them whole', () => {
    const random = seededRandom(7);
    const sab = createRingBuffer(CAPACITY);
    const producer = new RingProducer(sab);
    const consumer = new RingConsumer(sab);
    const bell = new Bell(new Int32Array(new SharedArrayBuffer(CTL_BYTES)), 0);
    const spill = new Spill();
    const sizes: number[] = [];
    for (let seq = 0; seq < 20000; seq++) {
      const len = seq % 2000 === 7 ? 70_000 : Math.floor(random() * 200);
      sizes.push(len);
      const bytes = payload(seq, len + 5);
      spill.push(1 + (seq % 3), seq % 4, seq & 0xffff, seq * 1024 + 0.5, seq + 2 ** 40, seq, -seq, bytes, 5, 5 + len);
    }
    expect(spill.length).toBe(20000);
    expect(spill.bytes).toBe(sizes.reduce((a, b) => a + b + 32, 0));
    // A visitor rewrites the kind of every tenth record.
    let visited = 0;
    spill.forEach((kind, _flags, aux, corr) => {
      expect(aux + corr).toBe(0);
      visited++;
      return corr % 10 === 0 ? 13 : kind === 0 ? 0 : -1;
    });
    expect(visited).toBe(20000);
    const scratch = new Uint8Array(new ArrayBuffer(CAPACITY));
    const reader = new RecordReader(scratch);
    let seq = 0;
    while (!spill.isEmpty || seq < 20000) {
      spill.drainInto(producer, bell);
      producer.publish();
      const n = consumer.take(scratch, CAPACITY);
      for (let pos = 0; pos < n; seq++) {
        const h: RecordHeader = { kind: 0, priority: 0, flags: 0, target: 0, sender: 0, corr: 0, aux: 0, custody: 0 };
        const len = reader.payloadLength(pos);
        const next = reader.read(pos, h);
        const rewritten = seq % 10 === 0;
        expect(h).toMatchObject({ kind: rewritten ? 13 : 1 + (seq % 3), priority: seq % 4, flags: rewritten ? 1 + (seq % 3) : seq & 0xffff, target: seq * 1024 + 0.5, sender: seq + 2 ** 40, corr: seq, aux: -seq | 0 });
        expect(len).toBe(sizes[seq]);
        expect(scratch.subarray(pos + REC_HEADER_BYTES, pos + REC_HEADER_BYTES + len)).toEqual(payload(seq, len + 5).subarray(5));
        pos = next;
      }
    }
    expect(seq).toBe(20000);
    expect(spill.length).toBe(0);
    expect(spill.bytes).toBe(0);
  });
});
