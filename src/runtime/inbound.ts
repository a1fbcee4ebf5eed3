// One thread's reader of another thread's ring: the consumer side of their ring, a stateful
// decoder, the message tags the writer defined, and the port its large payloads come on.
// A pass copies a batch of records into the thread's private scratch buffer and, on a worker,
// into its custody log (custody-log.ts) with a snapshot of the codec state, then releases the
// ring space, decodes each record in stream order and hands it to the InboundSink.

import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { Decoder, decodeContext, decodeStandalone, encodeStandalone, type Structures } from './codec.js';
import { DONE, KIND_MASK, STARTED, copyStates, forEachRecord } from './custody-layout.js';
import { CustodyLog } from './custody-log.js';
import { DISCARD_NEW_WRITER, FLAG_DEFINES, REC_HEADER_BYTES, RING_DATA_OFFSET, RecordKind, STAT_MSGS_IN, STAT_RING_IN, STAT_UNKEPT, userMessages } from './layout.js';
import { RecordReader, RingConsumer, type RecordHeader } from './ring-buffer.js';

export interface InboundSink {
  /** Live actors hosted on this thread, published for placement. */
  readonly actorCount: number;
  /** `tag` is the message tag the sender gave (a message type), '' for none. */
  onRecord(from: number, header: RecordHeader, payload: unknown, tag: string): void;
  onDecodeFailure(from: number, header: RecordHeader, error: Error, tag: string): void;
  /**
   * A user message its dead predecessor had taken and not finished (a replacement's start, in
   * log order): `started`, its handler had begun; `payload` is undefined if it could not be kept
   * (a large payload, which travelled on a port). `header.custody` is its id in the log. For a
   * fan-out, `copies(i)` says whether copy i was done or started (COPY_* bits), or is not known.
   */
  onRecovered(from: number, header: RecordHeader, payload: unknown, tag: string, started: boolean, payloadKept: boolean, copies: ((copy: number) => number) | null): void;
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
  readonly header: RecordHeader = { kind: 0, priority: 0, flags: 0, target: 0, sender: 0, corr: 0, aux: 0, custody: 0 };
  readonly counters: Float64Array;
  /** The counters in shared memory: what custody they record is published at once. */
  readonly shared: Float64Array;
  sink: InboundSink | null = null;
  /** Where what is taken from the rings is kept until it is done (null on the main thread, which cannot die alone). */
  readonly custody: CustodyLog | null;
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
    custody: CustodyLog | null,
  ) {
    this.custody = custody;
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

  /**
   * A replacement's start: hands the sink every user message its predecessor left in the custody
   * log unfinished, oldest first (each batch decoded against the codec state it was taken with).
   */
  recoverCustody(): void {
    const log = this.custody;
    const sink = this.sink!;
    if (log === null) return;
    decodeContext.current = sink;
    const h = this.header;
    const large = log.keptPayloads();
    const moreCopies = log.keptCopyStates();
    log.forEachBatch((from, snapshot, bytes, start, end) => {
      const [structures, tags] = snapshot.length === 0 ? [undefined, ['']] : (decodeStandalone(snapshot) as [Structures, string[]]);
      let decoder = new Decoder(structures);
      // A private copy: decoding reads strings straight from its source, which must not be shared memory.
      const local = Buffer.from(bytes.slice(start, end));
      const reader = new RecordReader(local);
      forEachRecord(local, 0, local.length, (pos) => {
        const raw = local[pos + 4]!; // REC_KIND, with the state bits
        reader.read(pos, h);
        h.kind = raw & KIND_MASK;
        h.custody = start + pos; // its offset in the log
        const len = reader.payloadLength(pos);
        const at = pos + REC_HEADER_BYTES;
        if (h.kind === RecordKind.TypeDef) {
          tags[h.aux] = local.toString('utf8', at, at + len);
          return;
        }
        if (h.kind === RecordKind.Discard) {
          decoder = new Decoder();
          return;
        }
        const user = userMessages(h.kind, h.flags, h.corr) > 0;
        if (h.kind === RecordKind.Big) {
          if (!user || (raw & DONE) !== 0) return;
          h.kind = h.flags & 0xff;
          const kept = large.get(h.custody);
          let payload: unknown;
          try {
            payload = kept === undefined ? undefined : decodeStandalone(kept);
          } catch (error) {
            sink.onDecodeFailure(from, h, error as Error, tags[h.aux] ?? '');
            return;
          }
          sink.onRecovered(from, h, payload, tags[h.aux] ?? '', (raw & STARTED) !== 0, kept !== undefined, h.kind === RecordKind.Fanout ? copyStates(local, pos, moreCopies.get(h.custody)) : null);
          return;
        }
        let payload: unknown;
        try {
          payload = len === 0 ? undefined : decoder.decode(local, at, at + len, reader.words);
        } catch (error) {
          if (user && (raw & DONE) === 0) sink.onDecodeFailure(from, h, error as Error, tags[h.aux] ?? '');
          return;
        }
        if (user && (raw & DONE) === 0) sink.onRecovered(from, h, payload, tags[h.aux] ?? '', (raw & STARTED) !== 0, true, h.kind === RecordKind.Fanout ? copyStates(local, pos, moreCopies.get(h.custody)) : null);
      });
    });
    h.custody = 0;
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
  /** The codec state (structures and tags) as of the next record, encoded for the custody log. */
  #snapshot = new Uint8Array(0);
  /** Set when a record changed the codec state since the snapshot was made. */
  #stale = true;

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
    const log = group.custody;
    const bytes = this.#consumer.take(scratch, RING_BATCH_BYTES, log !== null);
    if (bytes === 0) return false;
    // Kept before the ring lets go of them: from here they outlive this thread (custody-log.ts).
    let base = 0;
    if (log !== null) {
      if (this.#stale) {
        this.#snapshot = encodeStandalone([this.#decoder.structures(), this.#tags]);
        this.#stale = false;
      }
      base = Math.max(0, log.append(this.from, this.#snapshot, scratch, bytes));
      this.#consumer.release();
    }
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
      const users = userMessages(reader.u8[pos + 4]!, reader.u8[pos + 6]!, 1);
      h.custody = base !== 0 && users !== 0 ? base + pos : 0;
      pos = reader.read(pos, h);
      count++;
      messages += userMessages(h.kind, h.flags, h.corr);
      if ((h.flags & FLAG_DEFINES) !== 0) this.#stale = true;
      if (h.kind === RecordKind.TypeDef) {
        this.#tags[h.aux] = scratch.toString('utf8', start, start + len);
        this.#stale = true;
        continue;
      }
      if (h.kind === RecordKind.Discard) {
        this.#decoder = new Decoder();
        this.#stale = true;
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
          // Not in the ring's batch: its bytes are kept in the log beside it, if they fit there.
          if (h.custody !== 0) log!.keepPayload(h.custody, big.message as Uint8Array);
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
    h.custody = 0;
    const counters = group.counters;
    if (log !== null) {
      if (base !== 0) log.hold(base, messages);
      else counters[STAT_UNKEPT]! += messages;
    }
    counters[STAT_MSGS_IN]! += count;
    // Published at once, not with the other counters: these left the ring and are in this
    // thread's custody now, whatever becomes of the thread.
    group.shared[STAT_RING_IN] = counters[STAT_RING_IN]! += messages;
    return true;
  }
}
