import { MessageChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { MessageTooLargeError, SerializationError } from '../../src/errors.js';
import { ControlBlock } from '../../src/runtime/control-block.js';
import { ReaderGroup, type StreamJoin } from '../../src/runtime/inbound.js';
import { CTL_BYTES, RecordKind, STAT_FIELDS, STAT_MSGS_IN, STAT_MSGS_OUT, STAT_RING_IN, STAT_RING_OUT, STAT_SPILLED } from '../../src/runtime/layout.js';
import { Outbound } from '../../src/runtime/outbound.js';
import { createRingBuffer, type RecordHeader } from '../../src/runtime/ring-buffer.js';
import { WriterGroup } from '../../src/runtime/writer-group.js';

interface Got {
  readonly kind: number;
  readonly target: number;
  readonly payload: unknown;
  readonly tag: string;
}

/**
 * One writer (thread 0) and a reader of its ring (thread 1), driven by hand on this JS thread:
 * flush() publishes, read() drains what was published.
 */
function pair(options: { ringBytes?: number; maxMessageBytes?: number } = {}) {
  const ring = createRingBuffer(options.ringBytes ?? 1024);
  const ctl = new ControlBlock(new SharedArrayBuffer(CTL_BYTES * 2));
  const { port1, port2 } = new MessageChannel();
  const counters = new Float64Array(STAT_FIELDS);
  const calls = { flush: 0, spill: 0 };
  const group = new WriterGroup(
    counters,
    () => calls.flush++,
    () => calls.spill++,
  );
  const out = new Outbound(1, ring, ctl.bell(1), port1, options.maxMessageBytes ?? 1 << 20, group);
  const got: Got[] = [];
  const reader = (join: StreamJoin | null, port = port2) => {
    const readers = new ReaderGroup(new Float64Array(STAT_FIELDS), new Float64Array(STAT_FIELDS), [ring, null], [port, null], join === null ? null : [join, null], null);
    readers.sink = {
      actorCount: 0,
      onRecord: (_from: number, h: RecordHeader, payload: unknown, tag: string) => void got.push({ kind: h.kind, target: h.target, payload, tag }),
      onDecodeFailure: (_from: number, _h: RecordHeader, error: Error) => {
        throw error;
      },
      onRecovered: () => {
        throw new Error('no custody log here');
      },
    };
    return readers;
  };
  const readers = reader(null);
  /** Publishes and drains until nothing more comes. */
  const deliver = (): void => {
    do out.flush();
    while (readers.drainAll());
  };
  const tell = (payload: unknown, tag = '', target = 0): void => out.send(RecordKind.Tell, 0, target, 0, 0, payload, tag);
  return { out, group, counters, calls, readers, reader, got, deliver, tell };
}

describe('Outbound', () => {
  it('makes records visible only when flushed, and asks for one flush per synchronous run', async () => {
    const { calls, readers, got, out, tell } = pair();
    tell({ n: 1 });
    tell({ n: 2 });
    expect(readers.drainAll()).toBe(false);
    expect(calls.flush).toBe(0);
    await Promise.resolve();
    expect(calls.flush).toBe(1);
    out.flush();
    expect(readers.drainAll()).toBe(true);
    expect(got.map((g) => g.payload)).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('interns each tag once on the ring, and delivers every record with its own', () => {
    const { counters, readers, got, deliver, tell } = pair();
    const tags = ['a', 'b', 'a', 'a', '', 'c', 'b'];
    tags.forEach((tag, i) => tell(i, tag));
    deliver();
    expect(got.map((g) => g.tag)).toEqual(tags);
    expect(counters[STAT_MSGS_OUT]).toBe(7);
    expect(counters[STAT_RING_OUT]).toBe(7);
    expect(readers.counters[STAT_MSGS_IN]).toBe(7 + 3); // three TypeDef records
    expect(readers.shared[STAT_RING_IN]).toBe(7);
  });

  it('spills what does not fit, keeps the order, and moves it into the ring as room appears', () => {
    const { out, group, counters, calls, readers, got, tell } = pair();
    for (let i = 0; i < 40; i++) tell({ i, pad: 'x'.repeat(100) });
    expect(group.spilling).toBe(1);
    expect(out.spillBytes).toBeGreaterThan(0);
    expect(counters[STAT_SPILLED]).toBeGreaterThan(0);
    expect(calls.spill).toBe(counters[STAT_SPILLED]);
    // Everything written after the first spill waits behind it, even what would fit.
    tell('small');
    for (let pass = 0; pass < 100 && got.length < 41; pass++) {
      out.flush();
      readers.drainAll();
    }
    expect(got.map((g) => g.payload)).toEqual([...Array.from({ length: 40 }, (_, i) => ({ i, pad: 'x'.repeat(100) })), 'small']);
    expect(group.spilling).toBe(0);
    expect(out.spillBytes).toBe(0);
    expect(counters[STAT_RING_OUT]).toBe(41);
  });

  it('sends a payload too big for the ring on the port, in its place in the order', () => {
    const { got, deliver, tell } = pair();
    const big = { text: 'y'.repeat(5000), list: [1, 2, 3] };
    tell('before');
    tell(big, 'big', 7);
    tell('after');
    deliver();
    expect(got).toEqual([
      { kind: RecordKind.Tell, target: 0, payload: 'before', tag: '' },
      { kind: RecordKind.Tell, target: 7, payload: big, tag: 'big' },
      { kind: RecordKind.Tell, target: 0, payload: 'after', tag: '' },
    ]);
  });

  it('refuses a message over maxMessageBytes, and the stream reads on after it', () => {
    const { counters, got, deliver, tell } = pair({ maxMessageBytes: 64 });
    expect(() => tell({ shape: 'z'.repeat(100) })).toThrow(MessageTooLargeError);
    tell({ shape: 'fits' }); // the shape the refused message would have defined
    deliver();
    expect(got.map((g) => g.payload)).toEqual([{ shape: 'fits' }]);
    expect(counters[STAT_MSGS_OUT]).toBe(1);
  });

  it('refuses what cannot be serialized, and sends nothing', () => {
    const { readers, out, tell } = pair();
    expect(() => tell({ f: () => 1 })).toThrow(SerializationError);
    out.flush();
    expect(readers.drainAll()).toBe(false);
  });

  it('once abandoned, reports the unread user messages by tag (ring and spill) and writes no more', () => {
    const { out, group, tell } = pair();
    tell(1, 'seen');
    out.flush();
    for (let i = 0; i < 30; i++) tell({ i, pad: 'x'.repeat(100) }, i % 2 === 0 ? 'even' : 'odd');
    out.send(RecordKind.Reply, 0, 0, 0, 9, 'not a user message', '');
    expect(group.spilling).toBe(1);
    const { lost, inRing } = out.abandon();
    expect(lost).toEqual(['seen', ...Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? 'even' : 'odd'))]);
    expect(inRing).toBeGreaterThan(1);
    expect(inRing).toBeLessThan(31);
    expect(group.spilling).toBe(0);
    expect(out.spillBytes).toBe(0);
    expect(() => tell(2)).toThrow(/thread 1 is gone/);
    expect(out.abandon()).toEqual({ lost: [], inRing: 0 });
  });

  it('on recovery turns what a replacement reader cannot use into Lost, and a joining reader reads on', () => {
    const { out, readers, reader, got, tell } = pair({ ringBytes: 4096 });
    for (let i = 0; i < 5; i++) tell({ seq: i, name: 'early' }, 't');
    out.flush();
    readers.drainAll(); // the first reader learns the shape, then dies
    got.length = 0;
    tell({ seq: 5, name: 'kept' }, 't');
    out.send(RecordKind.Ask, 0, 0, 0, 1, { seq: 6, name: 'asked' }, 'q');
    out.send(RecordKind.Reply, 0, 0, 0, 2, 'answer', '');
    out.send(RecordKind.Spawn, 0, 0, 0, 0, ['spawn'], '');
    tell({ seq: 7, name: 'kept' }, 't');
    const next = new MessageChannel();
    const { join, lost, inRing, replies } = out.recover(next.port1);
    expect({ lost, inRing, replies }).toEqual({ lost: ['q'], inRing: 1, replies: 1 });
    const replacement = reader(join, next.port2);
    out.flush();
    while (replacement.drainAll());
    expect(got.map((g) => [g.kind, g.payload, g.tag])).toEqual([
      [RecordKind.Tell, { seq: 5, name: 'kept' }, 't'],
      [RecordKind.Tell, { seq: 7, name: 'kept' }, 't'],
    ]);
  });

  it('starts a replacement writer with a record that tells the reader a new stream begins', () => {
    const { out, readers, got, deliver, tell } = pair();
    tell({ k: 1 });
    deliver();
    out.announceNewWriter();
    deliver();
    expect(got).toHaveLength(1); // the announcement is not delivered
    expect(readers.counters[STAT_MSGS_IN]).toBe(2);
  });
});
