// One thread's engine: its outbound rings (with a sender-side spill queue, so a full ring never
// blocks), its inbound rings (drained in batches and decoded in order), its run queue of ready
// work, and the turn loop that parks the thread when there is nothing to do.
// The actor model above plugs in through InboundSink and Runnable; this file knows no actors.

import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { MessageTooLargeError } from '../errors.js';
import { DefinitionLog, Decoder, Encoder, decodeContext, decodeStandalone, encodeStandalone, prepare, type Definition, type Structures } from './codec.js';
import {
  CTL_ACTORS,
  CTL_F64_BASE,
  CTL_HEARTBEAT,
  CTL_I32,
  CTL_LOAD,
  CTL_STATE,
  RecordKind,
  STAT_BUSY_NS,
  STAT_FIELDS,
  STAT_MSGS_IN,
  STAT_MSGS_OUT,
  STAT_SINCE,
  STAT_SPILLED,
  STAT_SPILL_BYTES,
  STAT_LONGEST_TURN_MS,
  STAT_RING_IN,
  STAT_RING_OUT,
  CTL_F64_CURRENT,
  ThreadState,
} from './layout.js';
import { RecordReader, RingConsumer, RingProducer, maxRecordPayload, type RecordHeader } from './ring-buffer.js';
import type { ThreadWiring } from './topology.js';
import { Bell } from './wake.js';

export interface Runnable {
  /** Runs a bounded amount of work. Reschedules itself through ThreadRuntime.schedule if needed. */
  run(): void;
  /** Published while it runs, so a watchdog can name what a stalled thread was doing. */
  readonly key?: number;
}

export interface InboundSink {
  /** Live actors hosted on this thread, published for placement. */
  readonly actorCount: number;
  /** `tag` is the message tag the sender gave (a message type), '' for none. */
  onRecord(from: number, header: RecordHeader, payload: unknown, tag: string): void;
  onDecodeFailure(from: number, header: RecordHeader, error: Error, tag: string): void;
}

export interface RuntimeTuning {
  /** Longest a turn runs before yielding to the event loop. */
  readonly sliceMs: number;
  /** How long a thread that just saw traffic polls its rings before it parks. */
  readonly spinMicros: number;
  /** Sender-side spill above which tell reports the destination full (flow control). */
  readonly spillHighWaterBytes: number;
  /** Largest encoded message accepted at all. */
  readonly maxMessageBytes: number;
}

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

/** What a replacement reader needs to join a ring's stream where its dead predecessor stopped. */
export interface StreamJoin {
  /** The record structures in force at the first unread record. */
  readonly structures: Structures;
  /** The message tags defined on the ring so far, by id. */
  readonly tags: readonly string[];
}

/** Discard flag: the first record of a new writer on a ring (a thread's replacement). */
const NEW_WRITER = 1;
/** Log entries past which a ring's definition log is pruned (then twice its size after pruning). */
const LOG_PRUNE_AT = 256;

class Outbound {
  readonly producer: RingProducer;
  encoder = new Encoder();
  /** Records written so far (ring and spill): the sequence number of the last one. */
  seq = 0;
  /** Structures the stream defined, by record: what seeds a replacement reader. */
  readonly log = new DefinitionLog();
  pruneAt = LOG_PRUNE_AT;
  readonly tags = new Map<string, number>();
  /** The tag of the previous send and its id: a stream of one message type skips the map. */
  lastTag = '';
  lastTagId = 0;
  readonly spill: Spilled[] = [];
  spillHead = 0;
  spillBytes = 0;
  readonly bell: Bell;
  readonly maxInline: number;
  constructor(
    ring: SharedArrayBuffer,
    bell: Bell,
    public port: MessagePort,
  ) {
    this.producer = new RingProducer(ring);
    this.bell = bell;
    this.maxInline = maxRecordPayload(this.producer.capacity);
  }
  get spilling(): boolean {
    return this.spillHead < this.spill.length;
  }
  /** Set when the consumer thread died: nothing more is written. */
  abandoned = false;
}

class Inbound {
  readonly consumer: RingConsumer;
  decoder: Decoder;
  readonly tags: string[];
  /** The port of the writer's replacement, taken up at its first record. */
  nextPort: MessagePort | null = null;
  constructor(
    ring: SharedArrayBuffer,
    public port: MessagePort,
    join: StreamJoin | null,
  ) {
    this.consumer = new RingConsumer(ring);
    this.decoder = new Decoder(join?.structures);
    this.tags = join === null ? [''] : [...join.tags];
  }
}

const RING_BATCH_BYTES = 64 * 1024;
/** Event-loop turns an idle thread takes before it parks. */
const IDLE_YIELDS = 2;
const EMPTY = new Uint8Array(0);

export class ThreadRuntime {
  readonly self: number;
  readonly threadCount: number;
  /**
   * This thread's counters (layout.ts STAT_*), in ordinary memory: incremented on the hot path,
   * copied to shared memory once per flush and per pass, always before the rings are published,
   * so a reader never sees a message handled before it was counted as sent.
   */
  readonly counters = new Float64Array(STAT_FIELDS);
  readonly #shared: Float64Array;
  /** One Float64 in this thread's control block: the key of the actor running now. */
  readonly #current: Float64Array;
  readonly #ctlI32: Int32Array;
  readonly #base: number;
  readonly #bell: Bell;
  readonly #out: (Outbound | null)[];
  readonly #in: Inbound[];
  readonly #inFrom: number[];
  readonly #scratch: Buffer;
  readonly #reader: RecordReader;
  readonly #header: RecordHeader = { kind: 0, priority: 0, flags: 0, target: 0, sender: 0, corr: 0, aux: 0 };
  readonly #tuning: RuntimeTuning;
  #sink: InboundSink | null = null;
  #runq: (Runnable | undefined)[] = new Array(1024);
  #runHead = 0;
  #runTail = 0;
  #runMask = 1023;
  #flushQueued = false;
  #parked = false;
  #closed = false;
  #spillers = 0;
  #loop: Promise<void> | null = null;
  #sawTraffic = false;
  #inRotate = 0;
  #idleYields = 0;

  /**
   * `joins`: for a replacement of a thread that died, how to read on in each inbound ring (by the
   * writer's thread); its own writes then begin with a new-writer record on every ring.
   */
  constructor(wiring: ThreadWiring, tuning: RuntimeTuning, joins: readonly (StreamJoin | null)[] | null = null) {
    this.self = wiring.self;
    this.threadCount = wiring.threadCount;
    this.#tuning = tuning;
    this.#ctlI32 = new Int32Array(wiring.ctl);
    this.#base = this.self * CTL_I32;
    this.#shared = new Float64Array(wiring.ctl, this.self * CTL_I32 * 4 + CTL_F64_BASE * 8, STAT_FIELDS);
    this.#current = new Float64Array(wiring.ctl, this.self * CTL_I32 * 4 + CTL_F64_CURRENT * 8, 1);
    this.#bell = new Bell(this.#ctlI32, this.#base);
    this.#out = wiring.outbound.map((ring, to) =>
      ring === null ? null : new Outbound(ring, new Bell(this.#ctlI32, to * CTL_I32), wiring.bigOut[to]!),
    );
    this.#in = [];
    this.#inFrom = [];
    let maxCapacity = 0;
    wiring.inbound.forEach((ring, from) => {
      if (ring === null) return;
      const inbound = new Inbound(ring, wiring.bigIn[from]!, joins?.[from] ?? null);
      maxCapacity = Math.max(maxCapacity, inbound.consumer.capacity);
      this.#in.push(inbound);
      this.#inFrom.push(from);
    });
    // Private copy target: 8-byte aligned (Float64Array header reads), one per thread.
    this.#scratch = Buffer.from(new ArrayBuffer(Math.max(maxCapacity, 1024)));
    this.#reader = new RecordReader(this.#scratch);
    if (joins !== null) {
      // A replacement carries on its predecessor's counts: the system's books stay whole.
      this.counters.set(this.#shared);
      this.counters[STAT_SPILL_BYTES] = 0;
    } else {
      this.counters[STAT_SINCE] = performance.now();
    }
    this.#shared.set(this.counters);
    if (joins !== null) {
      // The readers go on decoding what the dead writer left in each ring; this tells them where
      // its stream ends and this one begins (a fresh codec, and this thread's large-payload port).
      for (const out of this.#out) if (out !== null) this.#write(out, RecordKind.Discard, 0, NEW_WRITER, 0, 0, 0, 0, EMPTY, 0, 0);
    }
    Atomics.store(this.#ctlI32, this.#base + CTL_STATE, ThreadState.Running);
  }

  /** Installs the handler for decoded inbound records and starts the turn loop. */
  start(sink: InboundSink): void {
    this.#sink = sink;
    this.#loop ??= this.#run();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Ends the turn loop after its current pass; wakes it if parked. */
  async close(): Promise<void> {
    this.#closed = true;
    Atomics.store(this.#ctlI32, this.#base + CTL_STATE, ThreadState.Stopped);
    this.#bell.ring();
    if (this.#parked) this.#wakeSelf();
    await this.#loop;
  }

  // ---- outbound -------------------------------------------------------------------------------

  /**
   * The thread `to` died: stop writing to it, and return the message tags of the user messages
   * (tells and asks) that were sent to it and will never be read, from the ring and the spill.
   */
  abandon(to: number): { lost: string[]; inRing: number } {
    const out = this.#out[to];
    if (out === null || out === undefined || out.abandoned) return { lost: [], inRing: 0 };
    out.abandoned = true;
    const names = new Map<number, string>();
    for (const [tag, id] of out.tags) names.set(id, tag);
    const lost: string[] = [];
    out.producer.forEachUnconsumed((kind, flags, aux, corr) => {
      for (let n = userMessages(kind, flags, corr); n > 0; n--) lost.push(names.get(aux) ?? '');
    });
    const inRing = lost.length;
    for (let i = out.spillHead; i < out.spill.length; i++) {
      const s = out.spill[i]!;
      for (let n = userMessages(s.kind, s.flags, s.corr); n > 0; n--) lost.push(names.get(s.aux) ?? '');
    }
    if (out.spilling) this.#spillers--;
    out.spill.length = 0;
    out.spillHead = 0;
    out.spillBytes = 0;
    return { lost, inRing };
  }

  /**
   * Thread `to` died and a replacement will read its rings on from where it stopped. Of the
   * records it never read, those that cannot be delivered any more become Lost (still decoded,
   * for codec state): asks (their askers were answered already), spawns and directives (their
   * senders redo them), replies (their askers died) and large payloads (gone with its port).
   * Returns the message tags of the user messages among them, and how a new reader joins the
   * stream; from now on large payloads go to the replacement's ports.
   */
  recover(to: number, bigOut: MessagePort, bigIn: MessagePort): { join: StreamJoin; lost: string[]; inRing: number; replies: number } {
    const out = this.#out[to]!;
    const names = out.tags;
    const byId: string[] = [''];
    for (const [tag, id] of names) byId[id] = tag;
    const lost: string[] = [];
    let replies = 0;
    const drop = (kind: number, flags: number, aux: number, corr: number): number => {
      const was = kind === RecordKind.Big ? flags : kind;
      if (was === RecordKind.Reply || was === RecordKind.ReplyError) replies++;
      if (kind === RecordKind.Big) {
        for (let n = was === RecordKind.Fanout ? corr : was === RecordKind.Tell || was === RecordKind.Ask ? 1 : 0; n > 0; n--) lost.push(byId[aux] ?? '');
        return RecordKind.Lost;
      }
      if (kind === RecordKind.Ask) lost.push(byId[aux] ?? '');
      return kind === RecordKind.Ask || kind === RecordKind.Spawn || kind === RecordKind.Directive || kind === RecordKind.Reply || kind === RecordKind.ReplyError ? RecordKind.Lost : -1;
    };
    let unread = 0;
    out.producer.forEachUnconsumed((kind, flags, aux, corr) => {
      unread++;
      const now = drop(kind, flags, aux, corr);
      return now < 0 ? -1 : now;
    });
    const inRing = lost.length;
    for (let i = out.spillHead; i < out.spill.length; i++) {
      const s = out.spill[i]!;
      unread++;
      if (drop(s.kind, s.flags, s.aux, s.corr) === RecordKind.Lost) {
        s.flags = s.kind;
        s.kind = RecordKind.Lost;
      }
    }
    const join: StreamJoin = { structures: out.log.stateBefore(out.seq - unread + 1), tags: byId };
    out.port.close();
    out.port = bigOut;
    const inbound = this.#in[this.#inFrom.indexOf(to)]!;
    inbound.nextPort = bigIn;
    return { join, lost, inRing, replies };
  }

  /** Reads everything left in the ring from `from` now (a writer that died: nothing more comes). */
  drainFrom(from: number): void {
    const at = this.#inFrom.indexOf(from);
    if (at < 0) return;
    while (this.#drainOne(this.#in[at]!, from));
  }

  /** True when messages to `to` are spilling past the high-water mark (flow control). */
  isCongested(to: number): boolean {
    const out = this.#out[to];
    return out !== null && out !== undefined && out.spillBytes > this.#tuning.spillHighWaterBytes;
  }

  /**
   * Encodes and writes one record to thread `to`. Never blocks: a full ring spills to a queue on
   * this side. Throws SerializationError or MessageTooLargeError, and then nothing was sent.
   */
  send(to: number, kind: RecordKind, priority: number, target: number, sender: number, corr: number, payload: unknown, tag = ''): void {
    const out = this.#out[to];
    if (out === null || out === undefined) throw new RangeError(`no ring from thread ${this.self} to ${to}`);
    if (out.abandoned) throw new RangeError(`thread ${to} is gone`);
    let prepared = payload;
    let encoded = out.encoder.encodeFlat(payload);
    if (encoded === null) {
      prepared = prepare(payload); // throws SerializationError; nothing touched yet
      try {
        encoded = out.encoder.encode(prepared);
      } catch (error) {
        this.#resetCodec(out);
        throw error;
      }
    }
    const defined = out.encoder.newDefinitions();
    const { buffer, start, end, words } = encoded;
    const length = end - start;
    if (length > this.#tuning.maxMessageBytes) {
      // The encoder may have recorded new structures in this record: restart both ends' codec
      // state, in stream order, so the stream stays decodable without it.
      this.#resetCodec(out);
      throw new MessageTooLargeError(`message of ${length} bytes exceeds maxMessageBytes ${this.#tuning.maxMessageBytes}`);
    }
    this.counters[STAT_MSGS_OUT]!++;
    let tagId = 0;
    if (tag === out.lastTag) tagId = out.lastTagId;
    else if (tag !== '') {
      tagId = out.tags.get(tag) ?? this.#defineTag(out, tag);
      out.lastTag = tag;
      out.lastTagId = tagId;
    }
    if (length > out.maxInline) {
      // Too big for the ring: it travels alone, self-contained, on the pair's port, and a Big
      // record keeps its place. Structures its stream encoding defined never reach the reader:
      // then both ends reset.
      if (defined !== null) this.#resetCodec(out);
      const copy = encodeStandalone(prepared);
      out.port.postMessage(copy, [copy.buffer]);
      this.#write(out, RecordKind.Big, priority, kind, target, sender, corr, tagId, EMPTY, 0, 0);
      return;
    }
    if (defined !== null) this.#logDefinitions(out, defined);
    this.#write(out, kind, priority, 0, target, sender, corr, tagId, buffer, start, end, words);
  }

  /** Logs the structures the next record defines; prunes the log once it has doubled. */
  #logDefinitions(out: Outbound, defined: Definition[]): void {
    out.log.add(out.seq + 1, defined);
    if (out.log.size <= out.pruneAt) return;
    let unread = out.spill.length - out.spillHead;
    out.producer.forEachUnconsumed(() => {
      unread++;
      return -1;
    });
    out.log.prune(out.seq - unread + 1);
    out.pruneAt = Math.max(LOG_PRUNE_AT, 2 * out.log.size);
  }

  /** Interns a message tag on this ring: one TypeDef record, in stream order, then an id. */
  #defineTag(out: Outbound, tag: string): number {
    const id = out.tags.size + 1;
    out.tags.set(tag, id);
    const bytes = Buffer.from(tag, 'utf8');
    this.#write(out, RecordKind.TypeDef, 0, 0, 0, 0, 0, id, bytes, 0, bytes.length);
    return id;
  }

  #resetCodec(out: Outbound): void {
    out.encoder = new Encoder();
    this.#write(out, RecordKind.Discard, 0, 0, 0, 0, 0, 0, EMPTY, 0, 0);
    out.log.reset(out.seq);
  }

  #write(
    out: Outbound,
    kind: number,
    priority: number,
    flags: number,
    target: number,
    sender: number,
    corr: number,
    aux: number,
    bytes: Uint8Array,
    start: number,
    end: number,
    words: Int32Array | null = null,
  ): void {
    out.seq++;
    if (!out.spilling) {
      if (out.producer.tryWrite(kind, priority, flags, target, sender, corr, aux, bytes, start, end, words)) {
        if (kind <= RecordKind.Ask || kind >= RecordKind.Big) this.counters[STAT_RING_OUT]! += userMessages(kind, flags, corr);
        this.#queueFlush();
        return;
      }
      // Full: let the consumer see what is there, then try once more before spilling.
      if (out.producer.publish()) out.bell.ring();
      if (out.producer.tryWrite(kind, priority, flags, target, sender, corr, aux, bytes, start, end, words)) {
        if (kind <= RecordKind.Ask || kind >= RecordKind.Big) this.counters[STAT_RING_OUT]! += userMessages(kind, flags, corr);
        this.#queueFlush();
        return;
      }
      this.#spillers++;
    }
    const copy = copyBytes(bytes, start, end);
    out.spill.push({ kind, priority, flags, target, sender, corr, aux, bytes: copy });
    out.spillBytes += copy.length + 32;
    this.counters[STAT_SPILLED]!++;
    this.#queueFlush();
    if (this.#parked) this.#wakeSelf();
  }

  #queueFlush(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    // Sends made outside a turn (user code on main, timers) are published at the end of the
    // current synchronous run: one atomic store per batch, not per message.
    queueMicrotask(this.#flushTask);
  }

  readonly #flushTask = (): void => {
    this.#flushQueued = false;
    this.flush();
  };

  /** Called at the start of every flush: the layer above writes what it batched per turn. */
  beforeFlush: (() => void) | null = null;
  /** Called after a pass took records from the rings, before any work runs. */
  afterDrain: (() => void) | null = null;

  /** Moves spilled records into rings, publishes every ring written, rings parked consumers. */
  flush(): void {
    this.beforeFlush?.();
    const outs = this.#out;
    let spilled = 0;
    for (let to = 0; to < outs.length; to++) spilled += outs[to]?.spillBytes ?? 0;
    this.counters[STAT_SPILL_BYTES] = spilled;
    this.#shared.set(this.counters); // counters first: see `counters`
    for (let to = 0; to < outs.length; to++) {
      const out = outs[to];
      if (out === null || out === undefined || out.abandoned) continue;
      if (out.spilling) this.#drainSpill(out);
      if (out.producer.publish()) out.bell.ring();
    }
  }

  #drainSpill(out: Outbound): void {
    const spill = out.spill;
    while (out.spillHead < spill.length) {
      const s = spill[out.spillHead]!;
      if (!out.producer.tryWrite(s.kind, s.priority, s.flags, s.target, s.sender, s.corr, s.aux, s.bytes)) {
        if (out.producer.publish()) out.bell.ring();
        if (!out.producer.tryWrite(s.kind, s.priority, s.flags, s.target, s.sender, s.corr, s.aux, s.bytes)) return;
      }
      this.counters[STAT_RING_OUT]! += userMessages(s.kind, s.flags, s.corr);
      spill[out.spillHead] = undefined as unknown as Spilled;
      out.spillHead++;
      out.spillBytes -= s.bytes.length + 32;
    }
    spill.length = 0;
    out.spillHead = 0;
    out.spillBytes = 0;
    this.#spillers--;
  }

  // ---- run queue ------------------------------------------------------------------------------

  /** Queues work for this thread's next pass. Wakes the thread if it is parked. */
  schedule(work: Runnable): void {
    this.#runq[this.#runTail] = work;
    this.#runTail = (this.#runTail + 1) & this.#runMask;
    if (this.#runTail === this.#runHead) this.#growRunQueue();
    if (this.#parked) this.#wakeSelf();
  }

  #growRunQueue(): void {
    const old = this.#runq;
    const n = old.length;
    const grown: (Runnable | undefined)[] = new Array(n * 2);
    for (let i = 0; i < n; i++) grown[i] = old[(this.#runHead + i) & this.#runMask];
    this.#runq = grown;
    this.#runHead = 0;
    this.#runTail = n;
    this.#runMask = n * 2 - 1;
  }

  #wakeSelf(): void {
    this.#bell.ring();
  }

  /** Publishes the hosted actor count and ready backlog, for placement and stats. */
  #publishLoad(): void {
    this.#ctlI32[this.#base + CTL_ACTORS] = this.#sink!.actorCount;
    this.#ctlI32[this.#base + CTL_LOAD] = (this.#runTail - this.#runHead) & this.#runMask;
  }

  // ---- inbound --------------------------------------------------------------------------------

  #drainInbound(): boolean {
    const ins = this.#in;
    const n = ins.length;
    let any = false;
    for (let k = 0; k < n; k++) {
      const idx = (this.#inRotate + k) % n;
      if (this.#drainOne(ins[idx]!, this.#inFrom[idx]!)) any = true;
    }
    this.#inRotate = n === 0 ? 0 : (this.#inRotate + 1) % n;
    return any;
  }

  #drainOne(inbound: Inbound, from: number): boolean {
    const bytes = inbound.consumer.take(this.#scratch, RING_BATCH_BYTES);
    if (bytes === 0) return false;
    const reader = this.#reader;
    const h = this.#header;
    const sink = this.#sink!;
    const scratch = this.#scratch;
    decodeContext.current = sink;
    let pos = 0;
    let count = 0;
    let messages = 0;
    while (pos < bytes) {
      const start = pos + 32;
      const len = reader.payloadLength(pos);
      pos = reader.read(pos, h);
      count++;
      messages += userMessages(h.kind, h.flags, h.corr);
      if (h.kind === RecordKind.TypeDef) {
        inbound.tags[h.aux] = scratch.toString('utf8', start, start + len);
        continue;
      }
      if (h.kind === RecordKind.Discard) {
        inbound.decoder = new Decoder();
        if (h.flags === NEW_WRITER && inbound.nextPort !== null) {
          inbound.port.close();
          inbound.port = inbound.nextPort;
          inbound.nextPort = null;
        }
        continue;
      }
      if (h.kind === RecordKind.Lost) {
        // Dropped by its writer (its reader died first): only the codec state it carries counts.
        try {
          if (len > 0) inbound.decoder.decode(scratch, start, start + len, reader.words);
        } catch {
          // Nothing to deliver, and the writer already accounted for it.
        }
        continue;
      }
      const tag = inbound.tags[h.aux] ?? '';
      let payload: unknown;
      try {
        if (h.kind === RecordKind.Big) {
          const big = receiveMessageOnPort(inbound.port);
          if (big === undefined) throw new Error('large payload missing from its port');
          h.kind = h.flags;
          payload = decodeStandalone(big.message as Uint8Array);
        } else {
          payload = len === 0 ? undefined : inbound.decoder.decode(scratch, start, start + len, reader.words);
        }
      } catch (error) {
        sink.onDecodeFailure(from, h, error as Error, tag);
        continue;
      }
      sink.onRecord(from, h, payload, tag);
    }
    this.counters[STAT_MSGS_IN]! += count;
    // Published at once, not with the other counters: these left the ring and are in this
    // thread's custody now, whatever becomes of the thread.
    this.#shared[STAT_RING_IN] = this.counters[STAT_RING_IN]! += messages;
    return true;
  }

  // ---- the turn loop --------------------------------------------------------------------------

  /** Runs ready work until the queue is empty or the slice is over; returns how much ran. */
  #runReady(deadline: number): number {
    let n = 0;
    while (this.#runHead !== this.#runTail) {
      const work = this.#runq[this.#runHead]!;
      this.#runq[this.#runHead] = undefined;
      this.#runHead = (this.#runHead + 1) & this.#runMask;
      this.#current[0] = work.key ?? 0; // a plain store: read only by a watchdog after a stall
      work.run();
      // Check the clock every 64 runs: performance.now() costs ~30 ns.
      if ((++n & 63) === 0 && performance.now() > deadline) return n;
    }
    return n;
  }

  #hasWork(): boolean {
    if (this.#runHead !== this.#runTail || this.#spillers > 0) return true;
    const ins = this.#in;
    for (let i = 0; i < ins.length; i++) if (ins[i]!.consumer.hasData()) return true;
    return false;
  }

  async #run(): Promise<void> {
    const ctl = this.#ctlI32;
    const heartbeat = this.#base + CTL_HEARTBEAT;
    const slice = this.#tuning.sliceMs;
    while (!this.#closed) {
      const start = performance.now();
      const deadline = start + slice;
      ctl[heartbeat] = (ctl[heartbeat]! + 1) | 0;
      let traffic = false;
      let ran = 0;
      do {
        if (this.#drainInbound()) {
          traffic = true;
          this.afterDrain?.();
        }
        ran += this.#runReady(deadline);
        this.flush();
        // Microtasks only (~0.14 us): async handlers that settled resume within this slice.
        await null;
      } while (!this.#closed && this.#hasWork() && performance.now() < deadline);
      const took = performance.now() - start;
      this.counters[STAT_BUSY_NS]! += took;
      if (took > this.counters[STAT_LONGEST_TURN_MS]!) this.counters[STAT_LONGEST_TURN_MS] = took;
      this.#publishLoad();
      this.#shared.set(this.counters);
      if (this.#closed) break;
      if (traffic) this.#sawTraffic = true;
      // Idle means passes that found nothing: work that arrived during a yield resets the count.
      if (traffic || ran > 0) this.#idleYields = 0;
      if (this.#hasWork()) {
        this.#idleYields = 0;
        await yieldToEventLoop();
        continue;
      }
      // Publish what the last microtasks sent (an ask made by a continuation, say) before polling:
      // the peer cannot answer what it has not seen, and the queued flush would run only after.
      this.flush();
      if (this.#sawTraffic && this.#spin()) continue;
      // Work often comes from this thread's own event loop (an awaited timer or I/O in a handler):
      // look again after a couple of event-loop turns (~2 us each) before paying for a park and
      // a wake-up through the futex.
      if (this.#idleYields < IDLE_YIELDS) {
        this.#idleYields++;
        await yieldToEventLoop();
        continue;
      }
      this.#idleYields = 0;
      this.#sawTraffic = false;
      await this.#park();
    }
    this.flush();
  }

  /** Polls the inbound rings for a few microseconds; true if something arrived. */
  #spin(): boolean {
    const micros = this.#tuning.spinMicros;
    if (micros <= 0) return false;
    const until = performance.now() + micros / 1000;
    const ins = this.#in;
    do {
      for (let i = 0; i < ins.length; i++) if (ins[i]!.consumer.hasData()) return true;
    } while (performance.now() < until);
    return false;
  }

  async #park(): Promise<void> {
    const bell = this.#bell.prepareToPark();
    if (this.#closed || this.#hasWork()) {
      this.#bell.cancelPark();
      return;
    }
    this.#parked = true;
    await this.#bell.park(bell);
    this.#parked = false;
  }
}

/** The user messages (tells, asks, fan-out copies) a record carries. */
function userMessages(kind: number, flags: number, corr: number): number {
  if (kind === RecordKind.Big) kind = flags;
  return kind === RecordKind.Tell || kind === RecordKind.Ask ? 1 : kind === RecordKind.Fanout ? corr : 0;
}

/** A private copy of `bytes[start, end)` (Buffer#slice would be a view of the encoder's buffer). */
function copyBytes(bytes: Uint8Array, start: number, end: number): Uint8Array<ArrayBuffer> {
  const copy = new Uint8Array(end - start);
  copy.set(bytes.subarray(start, end));
  return copy;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
