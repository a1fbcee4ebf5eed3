// One thread's writer to one other thread: the producer side of their ring, a stateful encoder
// (with the definition log that lets a replacement reader join the stream), the message tags it
// interned, and a spill queue on this side, so that a full ring never blocks the sender.
// Only the owning thread touches a writer; records keep their order through the spill.

import type { MessagePort } from 'node:worker_threads';
import { MessageTooLargeError } from '../errors.js';
import { DefinitionLog, Encoder, encodeStandalone, prepare, prepareChecked, unreadable, type Definition, type Encoded } from './codec.js';
import type { StreamJoin } from './inbound.js';
import { DISCARD_NEW_WRITER, FLAG_DEFINES, RecordKind, STAT_MSGS_OUT, STAT_RING_OUT, STAT_SPILLED, userMessages } from './layout.js';
import { RingProducer, maxRecordPayload } from './ring-buffer.js';
import { Spill } from './spill.js';
import type { Bell } from './wake.js';
import type { WriterGroup } from './writer-group.js';

/** Log entries past which a ring's definition log is pruned (then twice its size after pruning). */
const LOG_PRUNE_AT = 256;
/**
 * Records written in one synchronous run before they are published (and the reader rung) without
 * waiting for the run to end: a long loop of tells streams, its reader working meanwhile.
 */
const STREAM_RECORDS = 2048;
const EMPTY = new Uint8Array(0);

/**
 * A record's header as a sender gives it: one object, filled and reused for each send (nothing
 * keeps it). The fields of a record that ThreadRuntime.send takes one by one.
 */
export interface OutboundHeader {
  kind: RecordKind;
  /** 0..3 */
  priority: number;
  /** The target actor's key (0: the receiving thread itself). */
  target: number;
  /** The sending actor's key (0: none). */
  sender: number;
  /** The ask correlation id (0: none). */
  corr: number;
}

export class Outbound {
  /** The thread this writer writes to. */
  readonly to: number;
  readonly #producer: RingProducer;
  readonly #bell: Bell;
  readonly #group: WriterGroup;
  readonly #counters: Float64Array;
  readonly #maxInline: number;
  readonly #maxMessageBytes: number;
  #port: MessagePort;
  #encoder = new Encoder();
  /** Records written so far (ring and spill): the sequence number of the last one. */
  #seq = 0;
  /** Structures the stream defined, by record: what seeds a replacement reader. */
  readonly #log = new DefinitionLog();
  #pruneAt = LOG_PRUNE_AT;
  readonly #tags = new Map<string, number>();
  /** The tag of the previous send and its id: a stream of one message type skips the map. */
  #lastTag = '';
  #lastTagId = 0;
  readonly #spill = new Spill();
  /** Set when the reader's thread died: nothing more is written. */
  #abandoned = false;
  /** Records written since the last publish (streaming, see STREAM_RECORDS). */
  #sinceStream = 0;
  /** The reader's cursor as last seen while the spill was past its mark, and since when. */
  #readAt = -1;
  #readSince = 0;
  /** User messages written into the ring (the spill's once they move there), published at each flush. */
  #messages: number;

  /** `bell`: the reader's; `port`: where payloads too big for the ring go. */
  constructor(to: number, ring: SharedArrayBuffer, bell: Bell, port: MessagePort, maxMessageBytes: number, group: WriterGroup) {
    this.to = to;
    this.#producer = new RingProducer(ring);
    this.#bell = bell;
    this.#port = port;
    this.#group = group;
    this.#counters = group.counters;
    this.#maxInline = maxRecordPayload(this.#producer.capacity);
    this.#messages = this.#producer.messages;
    this.#maxMessageBytes = maxMessageBytes;
  }

  get abandoned(): boolean {
    return this.#abandoned;
  }

  /** Bytes waiting in the spill (records plus their headers), for flow control. */
  get spillBytes(): number {
    return this.#spill.bytes;
  }

  /**
   * Encodes and writes one record. Never blocks: a full ring spills to a queue on this side.
   * Throws SerializationError or MessageTooLargeError, and then nothing was sent.
   */
  send(kind: RecordKind, priority: number, target: number, sender: number, corr: number, payload: unknown, tag: string): void {
    if (this.#abandoned) throw new RangeError(`thread ${this.to} is gone`);
    let prepared = payload;
    let encoded: Encoded | null;
    try {
      encoded = this.#encoder.encodeFlat(payload); // a known flat shape; reads values (a getter may throw)
    } catch (error) {
      throw unreadable(error);
    }
    if (encoded === null) {
      // Throws SerializationError; nothing touched yet. A control record's parts were checked where they came in (codec.ts prepareChecked).
      prepared = kind === RecordKind.Control ? prepareChecked(payload) : prepare(payload);
      try {
        encoded = this.#encoder.encode(prepared);
      } catch (error) {
        this.#resetCodec();
        throw unreadable(error);
      }
    }
    const defined = this.#encoder.newDefinitions();
    const { buffer, start, end, words } = encoded;
    const length = end - start;
    if (length > this.#maxMessageBytes) {
      // The encoder may have recorded new structures in this record: restart both ends' codec
      // state, in stream order, so the stream stays decodable without it.
      this.#resetCodec();
      throw new MessageTooLargeError(`message of ${length} bytes exceeds maxMessageBytes ${this.#maxMessageBytes}`);
    }
    this.#counters[STAT_MSGS_OUT]!++;
    let tagId = 0;
    if (tag === this.#lastTag) tagId = this.#lastTagId;
    else if (tag !== '') {
      tagId = this.#tags.get(tag) ?? this.#defineTag(tag);
      this.#lastTag = tag;
      this.#lastTagId = tagId;
    }
    if (length > this.#maxInline) {
      // Too big for the ring: it travels alone, self-contained, on the pair's port, and a Big
      // record keeps its place. Structures its stream encoding defined never reach the reader:
      // then both ends reset.
      if (defined !== null) this.#resetCodec();
      const copy = encodeStandalone(prepared);
      this.#port.postMessage(copy, [copy.buffer]);
      this.#write(RecordKind.Big, priority, kind, target, sender, corr, tagId, EMPTY, 0, 0);
      return;
    }
    if (defined !== null) this.#logDefinitions(defined);
    this.#write(kind, priority, defined === null ? 0 : FLAG_DEFINES, target, sender, corr, tagId, buffer, start, end, words);
  }

  /**
   * This thread replaces one that died: the reader goes on decoding what the dead writer left in
   * the ring, and this record tells it where that stream ends and this one begins (a fresh codec,
   * and this thread's large-payload port).
   */
  announceNewWriter(): void {
    this.#write(RecordKind.Discard, 0, DISCARD_NEW_WRITER, 0, 0, 0, 0, EMPTY, 0, 0);
  }

  /**
   * True when the spill is past `highWater` bytes and the reader has taken nothing from the ring
   * for `stallMs`: it cannot keep up (a producer that merely has not yielded is not that). Moves
   * into the ring what the reader has made room for first.
   */
  stalled(highWater: number, stallMs: number): boolean {
    if (this.#spill.bytes <= highWater) {
      this.#readSince = 0;
      return false;
    }
    this.#stream();
    if (this.#spill.bytes <= highWater) return false;
    const read = this.#producer.readCursor();
    const now = performance.now();
    if (read !== this.#readAt || this.#readSince === 0) {
      this.#readAt = read;
      this.#readSince = now;
      return false;
    }
    return now - this.#readSince >= stallMs;
  }

  /** How long the reader has taken nothing while the spill was past its mark (ms; 0 if it has). */
  stalledFor(): number {
    return this.#readSince === 0 ? 0 : performance.now() - this.#readSince;
  }

  /**
   * In a long synchronous run: what the reader has made room for moves from the spill into the
   * ring, and all of it is published (the thread's counts first) and the reader rung.
   */
  #stream(): void {
    this.#sinceStream = 0;
    this.#group.beforeEarlyPublish?.();
    if (!this.#spill.isEmpty) {
      this.#wrote(this.#spill.drainInto(this.#producer, this.#bell));
      if (this.#spill.isEmpty) this.#group.spilling--;
    }
    this.#producer.messages = this.#messages;
    if (this.#producer.publish()) this.#bell.ring();
  }

  /** Moves spilled records into the ring, publishes it, and rings the reader if it is parked. */
  flush(): void {
    this.#sinceStream = 0;
    if (!this.#spill.isEmpty) {
      this.#wrote(this.#spill.drainInto(this.#producer, this.#bell));
      if (this.#spill.isEmpty) this.#group.spilling--;
    }
    this.#producer.messages = this.#messages;
    if (this.#producer.publish()) this.#bell.ring();
  }

  /** `n` user messages went into the ring: the thread's count and this ring's. */
  #wrote(n: number): void {
    this.#counters[STAT_RING_OUT]! += n;
    this.#messages += n;
  }

  /**
   * The reader's thread died: stop writing, and return the message tags of the user messages
   * (tells and asks) that were sent to it and will never be read, from the ring and the spill.
   */
  abandon(): { lost: string[]; inRing: number } {
    if (this.#abandoned) return { lost: [], inRing: 0 };
    this.#abandoned = true;
    const names = new Map<number, string>();
    for (const [tag, id] of this.#tags) names.set(id, tag);
    const lost: string[] = [];
    const count = (kind: number, flags: number, aux: number, corr: number): void => {
      for (let n = userMessages(kind, flags, corr); n > 0; n--) lost.push(names.get(aux) ?? '');
    };
    this.#producer.forEachUnconsumed(count);
    const inRing = lost.length;
    this.#spill.forEach(count);
    if (!this.#spill.isEmpty) this.#group.spilling--;
    this.#spill.clear();
    return { lost, inRing };
  }

  /**
   * The reader's thread died and a replacement will read on from where it stopped. Of the
   * records it never read, those that cannot be delivered any more become Lost (still decoded,
   * for codec state): asks (their askers were answered already), spawns and directives (their
   * senders redo them), replies (their askers died) and large payloads (gone with its port).
   * Returns the message tags of the user messages among them, and how a new reader joins the
   * stream; from now on large payloads go to `bigOut`, the replacement's port.
   */
  recover(bigOut: MessagePort): { join: StreamJoin; lost: string[]; inRing: number; replies: number } {
    const byId: string[] = [''];
    for (const [tag, id] of this.#tags) byId[id] = tag;
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
    const visit = (kind: number, flags: number, aux: number, corr: number): number => {
      unread++;
      return drop(kind, flags, aux, corr);
    };
    this.#producer.forEachUnconsumed(visit);
    const inRing = lost.length;
    this.#spill.forEach(visit);
    const join: StreamJoin = { structures: this.#log.stateBefore(this.#seq - unread + 1), tags: byId };
    this.#port.close();
    this.#port = bigOut;
    return { join, lost, inRing, replies };
  }

  /** Logs the structures the next record defines; prunes the log once it has doubled. */
  #logDefinitions(defined: Definition[]): void {
    this.#log.add(this.#seq + 1, defined);
    if (this.#log.size <= this.#pruneAt) return;
    let unread = this.#spill.length;
    this.#producer.forEachUnconsumed(() => {
      unread++;
      return -1;
    });
    this.#log.prune(this.#seq - unread + 1);
    this.#pruneAt = Math.max(LOG_PRUNE_AT, 2 * this.#log.size);
  }

  /** Interns a message tag on this ring: one TypeDef record, in stream order, then an id. */
  #defineTag(tag: string): number {
    const id = this.#tags.size + 1;
    this.#tags.set(tag, id);
    const bytes = Buffer.from(tag, 'utf8');
    this.#write(RecordKind.TypeDef, 0, 0, 0, 0, 0, id, bytes, 0, bytes.length);
    return id;
  }

  /** A fresh encoder here, and a Discard record that gives the reader a fresh decoder at this point. */
  #resetCodec(): void {
    this.#encoder = new Encoder();
    this.#write(RecordKind.Discard, 0, 0, 0, 0, 0, 0, EMPTY, 0, 0);
    this.#log.reset(this.#seq);
  }

  #write(
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
    this.#seq++;
    if (this.#spill.isEmpty) {
      const producer = this.#producer;
      if (producer.tryWrite(kind, priority, flags, target, sender, corr, aux, bytes, start, end, words)) {
        if (kind <= RecordKind.Ask || kind >= RecordKind.Big) this.#wrote(userMessages(kind, flags, corr));
        if (++this.#sinceStream >= STREAM_RECORDS) this.#stream();
        else this.#group.queueFlush();
        return;
      }
      // Full: let the consumer see what is there, then try once more before spilling.
      this.#group.beforeEarlyPublish?.();
      if (producer.publish()) this.#bell.ring();
      if (producer.tryWrite(kind, priority, flags, target, sender, corr, aux, bytes, start, end, words)) {
        if (kind <= RecordKind.Ask || kind >= RecordKind.Big) this.#wrote(userMessages(kind, flags, corr));
        this.#group.queueFlush();
        return;
      }
      this.#group.spilling++;
    }
    this.#spill.push(kind, priority, flags, target, sender, corr, aux, bytes, start, end);
    this.#counters[STAT_SPILLED]!++;
    if (++this.#sinceStream >= STREAM_RECORDS) this.#stream();
    this.#group.queueFlush();
    this.#group.onSpill();
  }
}
