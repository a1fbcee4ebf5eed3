// The entity store of a cluster: what an entity keeps outlives its node, in NATS, so that the
// node that takes its shard over carries on from it. Each key's record (its state, which of its
// messages have ended, the message ids it finished, the marks of its sources, its outbox, its
// reminders) is one KV value, written by compare-and-set on the revision this thread last read
// or wrote: a node that lost the shard without knowing it cannot overwrite what the new owner
// wrote. The messages accepted for a key are a JetStream stream, one subject per key (a retry of
// a publish is stored once: Nats-Msg-Id), purged once ended. JetStream has no transaction over
// several keys, so a commit is one write of the record, which names the messages it ends; a
// message found at load that its record says ended is skipped, and purged.
//
// Reads are synchronous, from what this thread loaded: the keys of the shards it took that have
// messages, reminders or outbox at once (acquire), any other key at its first message (load).

import type { CommitWrite, EntityStore, OutboxEntry, StoredReminder } from '../actors/entity/entity-store.js';
import { splitId } from '../actors/entity/entity-ids.js';
import { shardOf } from '../actors/entity/shard-map.js';
import { decodeStandalone, encodeStandalone } from '../runtime/codec.js';
import { StorageError } from '../errors.js';
import type { ClusterStoreConfig } from '../actors/cluster-options.js';
import { loadNats, type KV, type NatsConnection, type Stream } from './nats.js';

/** Opens the store on this thread: its own NATS connection, the bucket of records and the stream of messages. */
export async function openSharedStore(config: ClusterStoreConfig, home: (name: string, key: string) => boolean, held: () => boolean): Promise<SharedEntityStore> {
  const nats = await loadNats();
  let nc: NatsConnection;
  try {
    nc = await nats.connect({ ...config.connection, servers: [...config.servers], name: `troupe:${config.node}:entities` });
  } catch (error) {
    throw new StorageError(`the entity store could not connect to NATS at ${config.servers.join(', ')}: ${(error as Error).message}`, { cause: error });
  }
  try {
    const kv = await nats.bucket(nc, `${config.namespace}-entities`, 0, config.replicas);
    const stream = await nats.stream(nc, `${config.namespace}-mailbox`, `${config.namespace}.m.>`, config.replicas);
    return new SharedEntityStore({ nc, kv, stream, subjectPrefix: `${config.namespace}.m`, shards: config.shards, home, held });
  } catch (error) {
    await nc.close();
    throw new StorageError(`the entity store could not open its bucket and stream in NATS: ${(error as Error).message}`, { cause: error });
  }
}

/** What a record's value may take at most: NATS's largest message, less room for its headers. */
const HEADROOM = 4096;
/** The messageIds a key remembers at most (the oldest goes): they are kept in its record, whose size NATS bounds. */
export const SEEN_MAX = 4096;
/** The format of a record (its first element). */
const FORMAT = 1;

interface Rec {
  /** The KV revision this thread last read or wrote (0: none yet). */
  revision: number;
  state: Uint8Array | undefined;
  /** Every message up to this number has ended. */
  floor: number;
  /** Messages above the floor that have ended. */
  readonly ended: Set<number>;
  readonly seen: Map<string, number>;
  readonly marks: Map<string, number>;
  lastOut: number;
  readonly outbox: Map<number, Uint8Array>;
  readonly reminders: Map<string, readonly [due: number, everyMs: number]>;
  readonly tries: Map<number, number>;
  /** Whether its index key (it has reminders or outbox) is written; null: not known. */
  indexed: boolean | null;
}

interface Mail {
  readonly seq: number;
  readonly record: Uint8Array;
  /** Its sequence in the stream. */
  readonly at: number;
}

type Wire = [format: number, state: Uint8Array | null, floor: number, ended: number[], seen: [string, number][], marks: [string, number][], lastOut: number, outbox: [number, Uint8Array][], reminders: [string, number, number][], tries: [number, number][]];

export interface SharedStoreOptions {
  readonly nc: NatsConnection;
  readonly kv: KV;
  readonly stream: Stream;
  /** What the stream's subjects start with (`<namespace>.m`). */
  readonly subjectPrefix: string;
  readonly shards: number;
  /** Whether a key lives on this thread (of those its node owns). */
  readonly home: (name: string, key: string) => boolean;
  /** Whether the node's lease on its shards holds (shard-map.ts): nothing is written without it. */
  readonly held: () => boolean;
}

export class SharedEntityStore implements EntityStore {
  readonly durable = true;
  readonly #o: SharedStoreOptions;
  readonly #maxValue: number;
  readonly #records = new Map<string, Rec>();
  /** Keys being loaded (load): their promise. */
  readonly #loading = new Map<string, Promise<void>>();
  readonly #mail = new Map<string, Mail[]>();
  /** The highest number given to a message of each key here. */
  readonly #lastSeq = new Map<string, number>();
  /** Per key, the write of its record under way: the next waits for it (compare-and-set on its revision). */
  readonly #writing = new Map<string, Promise<void>>();
  /** Per key, the highest stream sequence of a message of it that ended (what may be purged, below what still waits). */
  readonly #endedAt = new Map<string, number>();
  /** Keys whose ended messages are to be purged from the stream. */
  readonly #toPurge = new Set<string>();
  #purgeTimer: NodeJS.Timeout | null = null;
  readonly #modules = new Map<string, string>();
  #closed = false;

  constructor(options: SharedStoreOptions) {
    this.#o = options;
    this.#maxValue = (options.nc.info?.max_payload ?? 1024 * 1024) - HEADROOM;
  }

  // ---- loading ---------------------------------------------------------------------------------

  /** Null once `id` is read here; else the promise of its reading (its first message waits for it). */
  load(id: string): Promise<void> | null {
    if (this.#records.has(id)) return null;
    let loading = this.#loading.get(id);
    if (loading === undefined) {
      loading = this.#read(id).finally(() => this.#loading.delete(id));
      this.#loading.set(id, loading);
    }
    return loading;
  }

  /**
   * This node took `shards`: reads the keys of them that live on this thread and have messages,
   * reminders or outbox waiting. Resolves with those keys (their messages are pending(), in order).
   */
  async acquire(shards: ReadonlySet<number>): Promise<string[]> {
    const { stream, kv, subjectPrefix } = this.#o;
    const ids = new Set<string>();
    const subjects = new Map<string, string>();
    for (const [subject, count] of Object.entries(await stream.subjects(`${subjectPrefix}.>`))) {
      if (count === 0) continue;
      const id = this.#mine(subject.slice(subjectPrefix.length + 1), shards);
      if (id === null) continue;
      ids.add(id);
      subjects.set(id, subject);
    }
    const indexed = new Set<string>();
    for await (const key of await kv.keys('i.>')) {
      const id = this.#mine(key.slice(2), shards);
      if (id === null) continue;
      ids.add(id);
      indexed.add(id);
    }
    await Promise.all([...ids].map((id) => this.#read(id)));
    for (const id of indexed) this.#records.get(id)!.indexed = true;
    for (const [id, subject] of subjects) await this.#readMail(id, subject);
    return [...ids];
  }

  /** This node no longer holds `shards`: what this thread read of them is forgotten (it is the new owner's now). */
  release(shards: ReadonlySet<number>): void {
    for (const id of [...this.#records.keys()]) {
      const [name, key] = splitId(id);
      if (!shards.has(shardOf(name, key, this.#o.shards))) continue;
      this.#records.delete(id);
      this.#mail.delete(id);
      this.#lastSeq.delete(id);
      this.#toPurge.delete(id);
      this.#endedAt.delete(id);
    }
  }

  /** Resolves once every record write of `ids` under way is done. */
  async settled(ids: Iterable<string>): Promise<void> {
    await Promise.all([...ids].map((id) => this.#writing.get(id)?.catch(() => undefined)));
  }

  /** The key id of a `<shard>.<token>` if its shard is in `shards` and it lives on this thread; else null. */
  #mine(rest: string, shards: ReadonlySet<number>): string | null {
    const dot = rest.indexOf('.');
    const shard = Number(rest.slice(0, dot));
    if (dot < 0 || !shards.has(shard)) return null;
    const id = Buffer.from(rest.slice(dot + 1), 'base64url').toString('utf8');
    const [name, key] = splitId(id);
    return this.#o.home(name, key) ? id : null;
  }

  /** Forgets what is cached of `id` and reads what is stored (if that fails too, its next message reads it). */
  async #reread(id: string): Promise<void> {
    this.#records.delete(id);
    await this.#read(id).catch(() => undefined);
  }

  async #read(id: string): Promise<void> {
    let entry;
    try {
      entry = await this.#o.kv.get(this.#key('e', id));
    } catch (error) {
      throw new StorageError(`cannot read entity ${printable(id)} from NATS: ${(error as Error).message}`, { cause: error });
    }
    if (this.#records.has(id)) return; // read meanwhile
    const rec = entry === null || entry.operation !== 'PUT' ? empty() : decodeRec(entry.value);
    if (entry !== null) rec.revision = entry.revision;
    this.#records.set(id, rec);
  }

  /** Reads the messages of `id` still in the stream; those its record says ended are purged. */
  async #readMail(id: string, subject: string): Promise<void> {
    const rec = this.#records.get(id)!;
    const mail: Mail[] = [];
    let stale = 0;
    for (let from = 1; ; ) {
      const found = await this.#o.stream.next(subject, from);
      if (found === null) break;
      from = found.seq + 1;
      const seq = readSeq(found.data);
      if (seq <= rec.floor || rec.ended.has(seq)) {
        stale = found.seq;
        continue;
      }
      mail.push({ seq, record: found.data.subarray(8), at: found.seq });
    }
    mail.sort((a, b) => a.seq - b.seq);
    if (mail.length > 0) this.#mail.set(id, mail);
    this.#lastSeq.set(id, Math.max(this.#lastSeq.get(id) ?? 0, mail.at(-1)?.seq ?? 0));
    if (stale > 0) this.#ended(id, stale);
  }

  // ---- EntityStore -----------------------------------------------------------------------------

  state(id: string): Uint8Array | undefined {
    return this.#records.get(id)?.state;
  }

  lastSeq(id: string): number {
    const rec = this.#records.get(id);
    let last = this.#lastSeq.get(id) ?? 0;
    if (rec !== undefined) {
      last = Math.max(last, rec.floor);
      for (const seq of rec.ended) last = Math.max(last, seq);
    }
    return last;
  }

  async put(id: string, seq: number, record: Uint8Array): Promise<void> {
    if (this.#closed) throw new StorageError('the entity store is closed');
    if (!this.#o.held()) throw lapsed(id);
    const [name, key] = splitId(id);
    const bytes = new Uint8Array(8 + record.length);
    new DataView(bytes.buffer).setFloat64(0, seq);
    bytes.set(record, 8);
    const tok = token(id);
    this.#lastSeq.set(id, Math.max(this.#lastSeq.get(id) ?? 0, seq));
    let at: number;
    try {
      at = await this.#o.stream.publish(`${this.#o.subjectPrefix}.${shardOf(name, key, this.#o.shards)}.${tok}`, bytes, `${tok}.${seq}`);
    } catch (error) {
      // Its number is never used again: ended with the key's next commit, so the floor moves past it
      // (and a copy that JetStream stored after all is skipped, its sender having heard it failed).
      const rec = this.#records.get(id);
      if (rec !== undefined) end(rec, seq);
      throw new StorageError(`cannot store the message in NATS: ${(error as Error).message}`, { cause: error });
    }
    let mail = this.#mail.get(id);
    if (mail === undefined) this.#mail.set(id, (mail = []));
    mail.push({ seq, record: bytes.subarray(8), at }); // record is the caller's for the call only
    if (mail.length > 1 && mail[mail.length - 2]!.seq > seq) mail.sort((a, b) => a.seq - b.seq);
  }

  commit(id: string, writes: readonly CommitWrite[]): Promise<void> {
    // A write whose answer was lost (a timeout) may have been made: the record read again says so
    // if it ends these messages, and then the commit stands (handling them again would apply them twice).
    const ends = writes.map((w) => w.seq).filter((seq) => seq !== 0);
    const landed = ends.length === 0 ? undefined : (rec: Rec): boolean => ends.every((seq) => seq <= rec.floor || rec.ended.has(seq));
    return this.#write(id, (rec) => {
      let stateAt = -1;
      for (let i = 0; i < writes.length; i++) if (writes[i]!.state !== null) stateAt = i;
      for (let i = 0; i < writes.length; i++) {
        const { state, seq, messageId, at, extras } = writes[i]!;
        if (extras?.deleteAll === true) {
          rec.state = undefined;
          rec.seen.clear();
          rec.reminders.clear();
        }
        if (i === stateAt) rec.state = state!;
        if (seq !== 0) end(rec, seq);
        if (messageId !== null) {
          rec.seen.set(messageId, at);
          if (rec.seen.size > SEEN_MAX) rec.seen.delete(rec.seen.keys().next().value!);
        }
        if (extras === null) continue;
        for (const [reminder, set] of extras.reminders ?? []) {
          if (set === null) rec.reminders.delete(reminder);
          else rec.reminders.set(reminder, [set.due, set.everyMs]);
        }
        for (const entry of extras.outbox ?? []) {
          rec.outbox.set(entry.outSeq, entry.record);
          rec.lastOut = Math.max(rec.lastOut, entry.outSeq);
        }
        if (extras.mark !== null) rec.marks.set(extras.mark[0], Math.max(rec.marks.get(extras.mark[0]) ?? 0, extras.mark[1]));
        if (extras.tried) rec.tries.delete(seq);
      }
      return true;
    }, false, landed).then(() => {
      const mail = this.#mail.get(id);
      const rec = this.#records.get(id);
      if (mail === undefined || rec === undefined) return;
      const left: Mail[] = [];
      let endedAt = 0;
      for (const m of mail) {
        if (m.seq > rec.floor && !rec.ended.has(m.seq)) left.push(m);
        else endedAt = Math.max(endedAt, m.at);
      }
      if (left.length === mail.length) return;
      if (left.length === 0) this.#mail.delete(id);
      else this.#mail.set(id, left);
      this.#ended(id, endedAt);
    });
  }

  mark(targetId: string, sourceId: string): number {
    return this.#records.get(targetId)?.marks.get(sourceId) ?? 0;
  }

  lastOut(sourceId: string): number {
    return this.#records.get(sourceId)?.lastOut ?? 0;
  }

  *outbox(): Iterable<OutboxEntry> {
    for (const [sourceId, rec] of this.#records) for (const [outSeq, record] of rec.outbox) yield { sourceId, outSeq, record };
  }

  sent(sourceId: string, outSeq: number): Promise<void> {
    // Not written at once: a message sent again after a crash is dropped by its target (its mark).
    return this.#write(sourceId, (rec) => rec.outbox.delete(outSeq), true);
  }

  *reminders(): Iterable<StoredReminder> {
    for (const [id, rec] of this.#records) for (const [name, [due, everyMs]] of rec.reminders) yield { id, name, due, everyMs };
  }

  reminded(id: string, name: string, next: number | null, everyMs: number): Promise<void> {
    return this.#write(id, (rec) => {
      if (next === null) return rec.reminders.delete(name);
      rec.reminders.set(name, [next, everyMs]);
      return true;
    });
  }

  seen(id: string, messageId: string, since: number): boolean {
    const at = this.#records.get(id)?.seen.get(messageId);
    return at !== undefined && at >= since;
  }

  pending(id: string): Iterable<{ seq: number; record: Uint8Array }> {
    return this.#mail.get(id) ?? [];
  }

  ended(id: string, seq: number): boolean {
    const rec = this.#records.get(id);
    return rec !== undefined && (seq <= rec.floor || rec.ended.has(seq));
  }

  tries(id: string, seq: number): number {
    return this.#records.get(id)?.tries.get(seq) ?? 0;
  }

  tried(id: string, seq: number, tries: number): Promise<void> {
    return this.#write(id, (rec) => {
      rec.tries.set(seq, tries);
      return true;
    });
  }

  withMessages(): Iterable<string> {
    return this.#mail.keys();
  }

  moduleOf(name: string): string | undefined {
    return this.#modules.get(name);
  }

  rememberModule(name: string, moduleUrl: string): void {
    this.#modules.set(name, moduleUrl);
  }

  prune(before: number): void {
    for (const rec of this.#records.values()) for (const [messageId, at] of rec.seen) if (at < before) rec.seen.delete(messageId); // written with the key's next commit
  }

  bytes(): number {
    return 0;
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#purgeTimer !== null) clearTimeout(this.#purgeTimer);
    await this.settled([...this.#writing.keys()]);
    await this.#o.nc.drain().catch(() => this.#o.nc.close());
  }

  // ---- writing ---------------------------------------------------------------------------------

  /**
   * Changes `id`'s record (`change` says whether it changed anything) and writes it, after any
   * write of it under way, by compare-and-set: a record someone else wrote since is not
   * overwritten (the key's shard moved) and the commit fails; what this thread had of it is
   * forgotten, to be read again. `lazy`: a change that may be lost (written with the next).
   * `landed`: whether a record read again after a failed write shows the change made after all.
   */
  #write(id: string, change: (rec: Rec) => boolean, lazy = false, landed?: (rec: Rec) => boolean): Promise<void> {
    const before = this.#writing.get(id) ?? Promise.resolve();
    const written = before
      .catch(() => undefined)
      .then(async () => {
        if (this.#closed) throw new StorageError('the entity store is closed');
        const rec = this.#records.get(id);
        if (rec === undefined) throw new StorageError(`entity ${printable(id)} is not held by this node now`);
        if (!change(rec) || lazy) return;
        if (!this.#o.held()) {
          await this.#reread(id); // what changed above did not stand
          throw lapsed(id);
        }
        const keyed = rec.reminders.size > 0 || rec.outbox.size > 0;
        try {
          const value = encodeStandalone(encodeRec(rec));
          if (value.length > this.#maxValue) {
            throw new StorageError(`the state of entity ${printable(id)} takes ${value.length} bytes: more than a NATS KV value may (${this.#maxValue})`);
          }
          // Its index first: a key found through it with nothing waiting costs a read; one with
          // reminders or outbox and no index would be missed by the next owner.
          if (keyed && rec.indexed !== true) {
            await this.#o.kv.put(this.#key('i', id), new Uint8Array(0));
            rec.indexed = true;
          }
          rec.revision = rec.revision === 0 ? await this.#o.kv.create(this.#key('e', id), value) : await this.#o.kv.update(this.#key('e', id), value, rec.revision);
        } catch (error) {
          // What is cached changed with the write that failed: what was written is read again
          // (before the commit's failure is told: its activation starts again from that).
          await this.#reread(id);
          if (error instanceof StorageError) throw error;
          // Not for a lost compare-and-set: another wrote the record (the commit did not stand).
          const now = this.#records.get(id);
          if (landed !== undefined && now !== undefined && !/wrong last sequence/i.test((error as Error).message) && landed(now)) return;
          throw new StorageError(`cannot write entity ${printable(id)} to NATS (another node may hold it now): ${(error as Error).message}`, { cause: error });
        }
        if (!keyed && rec.indexed !== false) {
          rec.indexed = false;
          await this.#o.kv.delete(this.#key('i', id)).catch(() => (rec.indexed = null));
        }
      });
    this.#writing.set(id, written);
    const forget = (): void => {
      if (this.#writing.get(id) === written) this.#writing.delete(id);
    };
    written.then(forget, forget);
    return written;
  }

  /** A message of `id` at stream sequence `at` ended: purged soon, with what came before it and ended too. */
  #ended(id: string, at: number): void {
    this.#endedAt.set(id, Math.max(this.#endedAt.get(id) ?? 0, at));
    this.#toPurge.add(id);
    this.#purgeTimer ??= setTimeout(() => {
      this.#purgeTimer = null;
      for (const key of [...this.#toPurge]) {
        this.#toPurge.delete(key);
        const rec = this.#records.get(key);
        if (rec === undefined) continue;
        const [name, k] = splitId(key);
        // Up to the last that ended, and below the first still waiting: never a message stored
        // since (its publish may not have come back yet) nor one not yet ended.
        let below = (this.#endedAt.get(key) ?? 0) + 1;
        for (const m of this.#mail.get(key) ?? []) below = Math.min(below, m.at);
        if (below > 1) void this.#o.stream.purge(`${this.#o.subjectPrefix}.${shardOf(name, k, this.#o.shards)}.${token(key)}`, below).catch(() => undefined);
      }
    }, 200);
    this.#purgeTimer.unref();
  }

  #key(kind: 'e' | 'i', id: string): string {
    const [name, key] = splitId(id);
    return `${kind}.${shardOf(name, key, this.#o.shards)}.${token(id)}`;
  }
}

/** A key id as a subject or KV key token. */
function token(id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url');
}

function lapsed(id: string): StorageError {
  return new StorageError(`entity ${printable(id)} cannot be written now: this node's lease on its shards lapsed (no heartbeat went through for downAfterMs), and another node may hold it`);
}

function printable(id: string): string {
  const [name, key] = splitId(id);
  return `${name}/${key}`;
}

function readSeq(data: Uint8Array): number {
  return new DataView(data.buffer, data.byteOffset, 8).getFloat64(0);
}

function end(rec: Rec, seq: number): void {
  if (seq <= rec.floor) return;
  rec.ended.add(seq);
  while (rec.ended.delete(rec.floor + 1)) rec.floor++;
}

function empty(): Rec {
  return { revision: 0, state: undefined, floor: 0, ended: new Set(), seen: new Map(), marks: new Map(), lastOut: 0, outbox: new Map(), reminders: new Map(), tries: new Map(), indexed: null };
}

function encodeRec(rec: Rec): Wire {
  return [
    FORMAT,
    rec.state ?? null,
    rec.floor,
    [...rec.ended],
    [...rec.seen],
    [...rec.marks],
    rec.lastOut,
    [...rec.outbox],
    [...rec.reminders].map(([name, [due, everyMs]]) => [name, due, everyMs]),
    [...rec.tries],
  ];
}

function decodeRec(bytes: Uint8Array): Rec {
  const w = decodeStandalone(bytes) as Wire;
  if (!Array.isArray(w) || w[0] !== FORMAT) throw new StorageError(`an entity record in NATS is not of format ${FORMAT}`);
  return {
    revision: 0,
    state: w[1] ?? undefined,
    floor: w[2],
    ended: new Set(w[3]),
    seen: new Map(w[4]),
    marks: new Map(w[5]),
    lastOut: w[6],
    outbox: new Map(w[7]),
    reminders: new Map(w[8].map(([name, due, everyMs]) => [name, [due, everyMs] as const])),
    tries: new Map(w[9]),
    indexed: null,
  };
}
