// One thread's reader of another thread's ring: the consumer side of their ring, a stateful
// decoder, the message tags the writer defined, and the port its large payloads come on.
// A pass copies a batch of records into the thread's private scratch buffer, releases the ring
// space at once, then decodes each record in stream order and hands it to the InboundSink.

import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { Decoder, decodeContext, decodeStandalone, type Structures } from './codec.js';
import { DISCARD_NEW_WRITER, REC_HEADER_BYTES, RING_DATA_OFFSET, RecordKind, STAT_MSGS_IN, STAT_RING_IN, userMessages } from './layout.js';
import { RecordReader, RingConsumer, type RecordHeader } from './ring-buffer.js';

export interface InboundSink {
  /** Live actors hosted on this thread, published for placement. */
  readonly actorCount: number;
  /** `tag` is the message tag the sender gave (a message type), '' for none. */
  onRecord(from: number, header: RecordHeader, payload: unknown, tag: string): void;
  onDecodeFailure(from: number, header: RecordHeader, error: Error, tag: string): void;
}

/** What a replacement reader needs to join a ring's stream where its dead predecessor stopped. */
export interface StreamJoin {
  /** The record structures in force at the first unread record. */
  readonly structures: Structures;
  /** The message tags defined on the ring so far, by id. */
  readonly tags: readonly string[];
}

/** Most bytes one pass takes from one ring, so that one busy writer does not starve the others. */
const RING_BATCH_BYTES = 64 * 1024;

/**
 * Every reader of one thread, and what they share: one private copy target (rings are drained
 * one at a time, and each batch is decoded before the next is taken), the header being read, the
 * sink, and the thread's counters.
 */
export class ReaderGroup {
  /** 8-byte aligned (RecordReader reads Float64 header fields), as large as the largest ring. */
  readonly scratch: Buffer;
  readonly reader: RecordReader;
  /** Filled in place for each record: the sink must not keep it past its call. */
  readonly header: RecordHeader = { kind: 0, priority: 0, flags: 0, target: 0, sender: 0, corr: 0, aux: 0 };
  readonly counters: Float64Array;
  /** The counters in shared memory: what custody they record is published at once. */
  readonly shared: Float64Array;
  sink: InboundSink | null = null;
  readonly #readers: Inbound[] = [];
  #rotate = 0;

  /**
   * `rings[from]` and `ports[from]`: what thread `from` writes to this one (null for none);
   * `joins[from]`: for a replacement of a thread that died, where each stream stands.
   */
  constructor(
    counters: Float64Array,
    shared: Float64Array,
    rings: readonly (SharedArrayBuffer | null)[],
    ports: readonly (MessagePort | null)[],
    joins: readonly (StreamJoin | null)[] | null,
  ) {
    let maxCapacity = 0;
    for (const ring of rings) if (ring !== null) maxCapacity = Math.max(maxCapacity, ring.byteLength - RING_DATA_OFFSET);
    this.scratch = Buffer.from(new ArrayBuffer(Math.max(maxCapacity, 1024)));
    this.reader = new RecordReader(this.scratch);
    this.counters = counters;
    this.shared = shared;
    rings.forEach((ring, from) => {
      if (ring !== null) this.#readers.push(new Inbound(from, ring, ports[from]!, joins?.[from] ?? null, this));
    });
  }

  /** The reader of the ring from thread `from`, if there is one. */
  of(from: number): Inbound | undefined {
    return this.#readers.find((inbound) => inbound.from === from);
  }

  /** One batch from every ring, starting at a different ring each pass (fairness); true if any had records. */
  drainAll(): boolean {
    const readers = this.#readers;
    const n = readers.length;
    let any = false;
    for (let k = 0; k < n; k++) if (readers[(this.#rotate + k) % n]!.drain()) any = true;
    this.#rotate = n === 0 ? 0 : (this.#rotate + 1) % n;
    return any;
  }

  /** True when any writer has published records not read yet. One atomic load a ring. */
  hasData(): boolean {
    const readers = this.#readers;
    for (let i = 0; i < readers.length; i++) if (readers[i]!.hasData()) return true;
    return false;
  }
}

export class Inbound {
  /** The thread that writes this ring. */
  readonly from: number;
  readonly #consumer: RingConsumer;
  readonly #group: ReaderGroup;
  #decoder: Decoder;
  readonly #tags: string[];
  #port: MessagePort;
  /** The port of the writer's replacement, taken up at its first record. */
  #nextPort: MessagePort | null = null;

  /** `join`: for a replacement of a reader that died, where the stream stands (null: from its start). */
  constructor(from: number, ring: SharedArrayBuffer, port: MessagePort, join: StreamJoin | null, group: ReaderGroup) {
    this.from = from;
    this.#consumer = new RingConsumer(ring);
    this.#group = group;
    this.#decoder = new Decoder(join?.structures);
    this.#tags = join === null ? [''] : [...join.tags];
    this.#port = port;
  }

  /** True when the writer has published records not read yet. One atomic load. */
  hasData(): boolean {
    return this.#consumer.hasData();
  }

  /** The writer died and a replacement takes over: its port, used from its first (new-writer) record on. */
  expectNewWriter(port: MessagePort): void {
    this.#nextPort = port;
  }

  /** Takes one batch from the ring and hands every record in it to the sink; false if none waited. */
  drain(): boolean {
    const group = this.#group;
    const scratch = group.scratch;
    const bytes = this.#consumer.take(scratch, RING_BATCH_BYTES);
    if (bytes === 0) return false;
    const reader = group.reader;
    const h = group.header;
    const sink = group.sink!;
    const from = this.from;
    decodeContext.current = sink;
    let pos = 0;
    let count = 0;
    let messages = 0;
    while (pos < bytes) {
      const start = pos + REC_HEADER_BYTES;
      const len = reader.payloadLength(pos);
      pos = reader.read(pos, h);
      count++;
      messages += userMessages(h.kind, h.flags, h.corr);
      if (h.kind === RecordKind.TypeDef) {
        this.#tags[h.aux] = scratch.toString('utf8', start, start + len);
        continue;
      }
      if (h.kind === RecordKind.Discard) {
        this.#decoder = new Decoder();
        if (h.flags === DISCARD_NEW_WRITER && this.#nextPort !== null) {
          this.#port.close();
          this.#port = this.#nextPort;
          this.#nextPort = null;
        }
        continue;
      }
      if (h.kind === RecordKind.Lost) {
        // Dropped by its writer (its reader died first): only the codec state it carries counts.
        try {
          if (len > 0) this.#decoder.decode(scratch, start, start + len, reader.words);
        } catch {
          // Nothing to deliver, and the writer already accounted for it.
        }
        continue;
      }
      const tag = this.#tags[h.aux] ?? '';
      let payload: unknown;
      try {
        if (h.kind === RecordKind.Big) {
          const big = receiveMessageOnPort(this.#port);
          if (big === undefined) throw new Error('large payload missing from its port');
          h.kind = h.flags;
          payload = decodeStandalone(big.message as Uint8Array);
        } else {
          payload = len === 0 ? undefined : this.#decoder.decode(scratch, start, start + len, reader.words);
        }
      } catch (error) {
        sink.onDecodeFailure(from, h, error as Error, tag);
        continue;
      }
      sink.onRecord(from, h, payload, tag);
    }
    const counters = group.counters;
    counters[STAT_MSGS_IN]! += count;
    // Published at once, not with the other counters: these left the ring and are in this
    // thread's custody now, whatever becomes of the thread.
    group.shared[STAT_RING_IN] = counters[STAT_RING_IN]! += messages;
    return true;
  }
}
