import { MessageChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { Encoder, encodeStandalone, prepare } from '../../src/runtime/codec.js';
import { ReaderGroup } from '../../src/runtime/inbound.js';
import { DISCARD_NEW_WRITER, RecordKind, STAT_FIELDS, STAT_MSGS_IN, STAT_RING_IN } from '../../src/runtime/layout.js';
import { RingProducer, createRingBuffer, type RecordHeader } from '../../src/runtime/ring-buffer.js';

/** A writer by hand: records straight into a ring, as outbound.ts would write them. */
class Writer {
  readonly producer: RingProducer;
  encoder = new Encoder();
  constructor(ring: SharedArrayBuffer) {
    this.producer = new RingProducer(ring);
  }
  record(kind: number, payload: unknown, { flags = 0, corr = 0, aux = 0 } = {}): void {
    if (payload === undefined) {
      expect(this.producer.tryWrite(kind, 0, flags, 0, 0, corr, aux, new Uint8Array(0))).toBe(true);
      return;
    }
    const { buffer, start, end } = this.encoder.encode(prepare(payload));
    expect(this.producer.tryWrite(kind, 0, flags, 0, 0, corr, aux, buffer, start, end)).toBe(true);
  }
  raw(kind: number, bytes: Uint8Array, aux = 0): void {
    expect(this.producer.tryWrite(kind, 0, 0, 0, 0, 0, aux, bytes)).toBe(true);
  }
  tag(id: number, tag: string): void {
    this.raw(RecordKind.TypeDef, Buffer.from(tag), id);
  }
  discard(flags = 0): void {
    this.record(RecordKind.Discard, undefined, { flags });
    this.encoder = new Encoder();
  }
  publish(): void {
    this.producer.publish();
  }
}

interface Got {
  readonly from: number;
  readonly kind: number;
  readonly payload: unknown;
  readonly tag: string;
  readonly failed?: string;
}

/** Readers of `sources` rings (from threads 1..sources into thread 0). */
function setup(sources = 1, ringBytes = 4096) {
  const rings: (SharedArrayBuffer | null)[] = [null];
  const ports = [null, ...Array.from({ length: sources }, () => new MessageChannel())];
  for (let i = 0; i < sources; i++) rings.push(createRingBuffer(ringBytes));
  const counters = new Float64Array(STAT_FIELDS);
  const shared = new Float64Array(STAT_FIELDS);
  const readers = new ReaderGroup(
    counters,
    shared,
    rings,
    ports.map((p) => p?.port2 ?? null),
    null,
    null,
  );
  const got: Got[] = [];
  readers.sink = {
    actorCount: 0,
    onRecord: (from: number, h: RecordHeader, payload: unknown, tag: string) => void got.push({ from, kind: h.kind, payload, tag }),
    onDecodeFailure: (from: number, h: RecordHeader, error: Error, tag: string) => void got.push({ from, kind: h.kind, payload: undefined, tag, failed: error.message }),
    onRecovered: () => {
      throw new Error('no custody log here');
    },
  };
  const writers = rings.map((ring) => (ring === null ? null : new Writer(ring)));
  return { readers, got, counters, shared, writer: (from: number) => writers[from]!, port: (from: number) => ports[from]!.port1 };
}

describe('ReaderGroup and Inbound', () => {
  it('delivers records in order with the tags the writer defined', () => {
    const { readers, got, writer } = setup();
    const w = writer(1);
    w.tag(1, 'greet');
    w.record(RecordKind.Tell, { hi: 1 }, { aux: 1 });
    w.record(RecordKind.Ask, 'question', { corr: 3 });
    w.record(RecordKind.Tell, { hi: 2 }, { aux: 1 });
    w.publish();
    expect(readers.drainAll()).toBe(true);
    expect(got).toEqual([
      { from: 1, kind: RecordKind.Tell, payload: { hi: 1 }, tag: 'greet' },
      { from: 1, kind: RecordKind.Ask, payload: 'question', tag: '' },
      { from: 1, kind: RecordKind.Tell, payload: { hi: 2 }, tag: 'greet' },
    ]);
    expect(readers.drainAll()).toBe(false);
  });

  it('counts every record taken, and publishes the user messages in its custody at once', () => {
    const { readers, counters, shared, writer } = setup();
    const w = writer(1);
    w.tag(1, 't');
    w.record(RecordKind.Tell, 1);
    w.record(RecordKind.Fanout, [[1, 2, 3], 'x'], { corr: 3 });
    w.record(RecordKind.Reply, 'r');
    w.publish();
    readers.drainAll();
    expect(counters[STAT_MSGS_IN]).toBe(4);
    expect(counters[STAT_RING_IN]).toBe(4); // 1 tell + 3 fan-out copies
    expect(shared[STAT_RING_IN]).toBe(4);
    expect(shared[STAT_MSGS_IN]).toBe(0); // published with the other counters, by the turn loop
  });

  it('reports a record it cannot decode to the sink, and reads on', () => {
    const { readers, got, writer } = setup();
    const w = writer(1);
    w.tag(1, 'bad');
    w.raw(RecordKind.Tell, new Uint8Array([0xd9, 0x10]), 1); // a str8 of 16 bytes, with none there
    w.record(RecordKind.Tell, 'fine');
    w.publish();
    readers.drainAll();
    expect(got).toEqual([
      { from: 1, kind: RecordKind.Tell, payload: undefined, tag: 'bad', failed: expect.any(String) },
      { from: 1, kind: RecordKind.Tell, payload: 'fine', tag: '' },
    ]);
  });

  it('decodes a Lost record for its codec state only', () => {
    const { readers, got, writer } = setup();
    const w = writer(1);
    w.record(RecordKind.Lost, { shape: 'defined here' }, { flags: RecordKind.Ask });
    w.record(RecordKind.Tell, { shape: 'uses it' });
    w.publish();
    readers.drainAll();
    expect(got.map((g) => g.payload)).toEqual([{ shape: 'uses it' }]);
  });

  it('starts a fresh decoder at a Discard record', () => {
    const { readers, got, writer } = setup();
    const w = writer(1);
    w.record(RecordKind.Tell, { a: 1 });
    w.discard();
    w.record(RecordKind.Tell, { b: 2 }); // a fresh encoder: record ids start over
    w.record(RecordKind.Tell, { a: 3 });
    w.publish();
    readers.drainAll();
    expect(got.map((g) => g.payload)).toEqual([{ a: 1 }, { b: 2 }, { a: 3 }]);
  });

  it('takes large payloads from the port, and from the replacement writer’s port after its first record', () => {
    const { readers, got, writer, port } = setup();
    const w = writer(1);
    port(1).postMessage(encodeStandalone(prepare({ big: 1 })));
    w.record(RecordKind.Big, undefined, { flags: RecordKind.Tell });
    w.publish();
    readers.drainAll();
    const next = new MessageChannel();
    readers.of(1)!.expectNewWriter(next.port2);
    next.port1.postMessage(encodeStandalone(prepare({ big: 2 })));
    port(1).postMessage(encodeStandalone(prepare({ big: 'stale' }))); // the old port is closed unread
    w.discard(DISCARD_NEW_WRITER);
    w.record(RecordKind.Big, undefined, { flags: RecordKind.Ask });
    w.publish();
    readers.drainAll();
    expect(got.map((g) => [g.kind, g.payload])).toEqual([
      [RecordKind.Tell, { big: 1 }],
      [RecordKind.Ask, { big: 2 }],
    ]);
  });

  it('reports a large payload missing from its port as a decode failure', () => {
    const { readers, got, writer } = setup();
    writer(1).record(RecordKind.Big, undefined, { flags: RecordKind.Tell });
    writer(1).publish();
    readers.drainAll();
    expect(got).toEqual([{ from: 1, kind: RecordKind.Big, payload: undefined, tag: '', failed: 'large payload missing from its port' }]);
  });

  it('starts each pass at the next ring, so no writer always goes first', () => {
    const { readers, got, writer } = setup(3);
    const order: number[][] = [];
    for (let pass = 0; pass < 4; pass++) {
      for (const from of [1, 2, 3]) {
        writer(from).record(RecordKind.Tell, from);
        writer(from).publish();
      }
      got.length = 0;
      readers.drainAll();
      order.push(got.map((g) => g.from));
    }
    expect(order).toEqual([
      [1, 2, 3],
      [2, 3, 1],
      [3, 1, 2],
      [1, 2, 3],
    ]);
  });

  it('takes at most one batch from a ring in a pass', () => {
    const { readers, got, writer } = setup(1, 256 * 1024);
    const w = writer(1);
    const text = 'p'.repeat(1000);
    for (let i = 0; i < 100; i++) w.record(RecordKind.Tell, text);
    w.publish();
    readers.drainAll();
    expect(got.length).toBeGreaterThan(0);
    expect(got.length).toBeLessThan(100);
    while (readers.drainAll());
    expect(got).toHaveLength(100);
  });

  it('tells whether any ring holds unread records', () => {
    const { readers, writer } = setup(2);
    expect(readers.hasData()).toBe(false);
    writer(2).record(RecordKind.Tell, 1);
    expect(readers.hasData()).toBe(false); // written, not published
    writer(2).publish();
    expect(readers.hasData()).toBe(true);
    readers.drainAll();
    expect(readers.hasData()).toBe(false);
    expect(readers.of(0)).toBeUndefined();
  });
});
