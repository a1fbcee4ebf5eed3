// The entity store on disk: an lmdb environment at storage.path, opened by every thread of the
// system (lmdb lets threads of one process share an environment). lmdb batches the writes of an
// event turn into one transaction on a thread of its own (group commit without a timer), reads
// are synchronous, and a process killed at any instant leaves the last committed transaction.
// Loaded only when storage is used (an optional dependency, imported here and nowhere else).

import { closeSync, mkdirSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { StorageError } from '../../errors.js';
import type { CommitWrite, EntityStore, OutboxEntry, StoredReminder } from './entity-store.js';

/** How durable a stored message or commit is when its promise resolves. */
export type Durability = 'machine' | 'process';

/** What this directory holds, written once: a directory without it, or with another, is refused. */
const FORMAT = 'troupe-entities/1';
const DONE = Promise.resolve(true);
const NAMES = ['state', 'mbox', 'dedup', 'meta', 'remind', 'outbox', 'marks', 'posts'];

interface Db {
  get(key: unknown): unknown;
  put(key: unknown, value: unknown): Promise<boolean> & { flushed?: Promise<void> };
  remove(key: unknown): Promise<boolean>;
  putSync(key: unknown, value: unknown): boolean;
  getRange(options: { start?: unknown; end?: unknown; reverse?: boolean; limit?: number }): Iterable<{ key: unknown; value: unknown }>;
  getKeys(options: { start?: unknown; end?: unknown; limit?: number }): Iterable<unknown>;
}
interface Root extends Db {
  openDB(options: { name: string; encoding?: string }): Db;
  transaction<T>(callback: () => T): Promise<T>;
  getStats(): { lastPageNumber: number; pageSize: number };
  readonly flushed: Promise<void>;
  /** The promise of the transaction being gathered now (a thenable). */
  readonly committed: PromiseLike<unknown>;
  close(): Promise<void>;
}

/** Opens (creating if need be) the store at `path`; refuses a directory that holds something else. */
export async function openLmdbStore(path: string, durability: Durability): Promise<EntityStore> {
  let lmdb: { open(options: object): Root };
  try {
    lmdb = (await import('lmdb')) as unknown as typeof lmdb;
  } catch (error) {
    throw new StorageError(`storage needs the optional dependency lmdb, which could not be loaded: ${(error as Error).message}`, { cause: error });
  }
  let root: Root;
  try {
    mkdirSync(path, { recursive: true });
    checkDataFile(join(path, 'data.mdb'));
    root = lmdb.open({ path, maxDbs: NAMES.length + 2, separateFlushed: true });
  } catch (error) {
    throw new StorageError(`cannot open the entity store at ${path}: ${(error as Error).message}`, { cause: error });
  }
  try {
    const meta = root.openDB({ name: 'meta' });
    const format = meta.get('format');
    if (format === undefined) {
      const foreign = [...root.getKeys({ limit: 64 })].filter((name) => !NAMES.includes(String(name)));
      if (foreign.length > 0) throw new Error(`it holds databases that are not troupe's (${foreign.slice(0, 3).join(', ')})`);
      meta.putSync('format', FORMAT);
    } else if (format !== FORMAT) {
      throw new Error(`it holds ${JSON.stringify(format)}, not ${FORMAT}`);
    }
    return new LmdbStore(root, meta, durability);
  } catch (error) {
    await root.close().catch(() => undefined);
    throw new StorageError(`${path} is not a troupe entity store: ${(error as Error).message}`, { cause: error });
  }
}

/** Where an lmdb data file keeps its magic number (after its first page's header), and the number. */
const MAGIC_AT = [24, 16];
const MAGIC = 0xbeefc0de;

/**
 * Refuses a data file that is not lmdb's (garbage, a file of something else): lmdb trusts its
 * file, and would end the process on one it cannot read. A missing or empty one is made anew.
 */
function checkDataFile(file: string): void {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  try {
    const head = Buffer.alloc(32);
    const read = readSync(fd, head, 0, head.length, 0);
    if (read === 0) return;
    if (read < head.length || !MAGIC_AT.some((at) => head.readUInt32LE(at) === MAGIC)) throw new Error('its data.mdb is not an lmdb file (corrupt, or written by something else)');
  } finally {
    closeSync(fd);
  }
}

class LmdbStore implements EntityStore {
  readonly durable = true;
  readonly #root: Root;
  readonly #states: Db;
  readonly #mbox: Db;
  readonly #dedup: Db;
  readonly #meta: Db;
  readonly #remind: Db;
  readonly #outbox: Db;
  readonly #marks: Db;
  /** Messages stored by their sender (main) rather than their key's thread, by [id, n] (entity-posts.ts). */
  readonly #posts: Db;
  readonly #durability: Durability;
  readonly #slab = new Slab();
  readonly #modules = new Map<string, string>();
  /** Its size when it was closed (null: open). */
  #closedAt: number | null = null;
  /** The last write's promise from lmdb, and ours for it (#durable). */
  #lastWritten: Promise<unknown> | null = null;
  #lastDurable: Promise<void> | null = null;
  /** Whether a look at the promise lmdb may leave at the end of this turn is scheduled (#durable). */
  #turnWatched = false;

  constructor(root: Root, meta: Db, durability: Durability) {
    this.#root = root;
    this.#meta = meta;
    this.#states = root.openDB({ name: 'state', encoding: 'binary' });
    this.#mbox = root.openDB({ name: 'mbox', encoding: 'binary' });
    this.#dedup = root.openDB({ name: 'dedup' });
    this.#remind = root.openDB({ name: 'remind' });
    this.#outbox = root.openDB({ name: 'outbox', encoding: 'binary' });
    this.#marks = root.openDB({ name: 'marks' });
    this.#posts = root.openDB({ name: 'posts', encoding: 'binary' });
    this.#durability = durability;
  }

  state(id: string): Uint8Array | undefined {
    return this.#states.get(id) as Uint8Array | undefined;
  }

  lastSeq(id: string): number {
    for (const key of this.#mbox.getKeys({ start: [id, Number.MAX_SAFE_INTEGER], end: [id, 0], limit: 1, reverse: true } as never)) return (key as [string, number])[1];
    return 0;
  }

  put(id: string, seq: number, record: Uint8Array): Promise<void> {
    return this.#durable(this.#mbox.put([id, seq], this.#slab.place(record)));
  }

  post(id: string, n: number, record: Uint8Array): Promise<void> {
    return this.#durable(this.#posts.put([id, n], this.#slab.place(record)));
  }

  lastPost(): number {
    let last = 0;
    for (const key of this.#posts.getKeys({})) last = Math.max(last, (key as [string, number])[1]);
    return last;
  }

  commit(id: string, writes: readonly CommitWrite[]): Promise<void> {
    // Writes issued in one event turn go in one lmdb transaction (its event-turn batching), on
    // lmdb's own write thread; a transaction callback would make that thread wait for this one
    // to run it. Deleting a key reads what it deletes, so that alone runs in a callback.
    if (writes.some((w) => w.extras?.deleteAll === true)) return this.#durable(this.#root.transaction(() => void this.#writeAll(id, writes)));
    return this.#durable(this.#writeAll(id, writes));
  }

  /** The writes of commits, issued together; the promise of the last (they share a transaction). */
  #writeAll(id: string, writes: readonly CommitWrite[]): Promise<unknown> {
    let last: Promise<unknown> = DONE;
    let stateAt = -1; // only the last state is written
    for (let i = 0; i < writes.length; i++) if (writes[i]!.state !== null) stateAt = i;
    for (let i = 0; i < writes.length; i++) {
      const { state, seq, messageId, at, extras } = writes[i]!;
      if (extras?.deleteAll === true) {
        void this.#states.remove(id);
        for (const key of this.#dedup.getKeys({ start: [id], end: [`${id}\u0000`] })) void this.#dedup.remove(key);
        for (const key of this.#remind.getKeys({ start: [id], end: [`${id}\u0000`] })) void this.#remind.remove(key);
      }
      if (i === stateAt) last = this.#states.put(id, this.#slab.place(state!));
      if (seq > 0) last = this.#mbox.remove([id, seq]);
      else if (seq < 0) last = this.#posts.remove([id, -seq]);
      if (messageId !== null) last = this.#dedup.put([id, messageId], at);
      if (extras === null) continue;
      for (const [name, set] of extras.reminders ?? []) last = set === null ? this.#remind.remove([id, name]) : this.#remind.put([id, name], [set.due, set.everyMs]);
      for (const entry of extras.outbox ?? []) last = this.#outbox.put([entry.sourceId, entry.outSeq], this.#slab.place(entry.record));
      const out = extras.outbox;
      if (out !== null && out.length > 0) last = this.#meta.put(['out', id], out[out.length - 1]!.outSeq);
      if (extras.mark !== null) last = this.#marks.put([id, extras.mark[0]], extras.mark[1]);
      if (extras.tried) last = this.#meta.remove(['tries', id, seq]);
    }
    return last;
  }

  mark(targetId: string, sourceId: string): number {
    return (this.#marks.get([targetId, sourceId]) as number | undefined) ?? 0;
  }

  lastOut(sourceId: string): number {
    return (this.#meta.get(['out', sourceId]) as number | undefined) ?? 0;
  }

  *outbox(): Iterable<OutboxEntry> {
    for (const { key, value } of this.#outbox.getRange({})) {
      const [sourceId, outSeq] = key as [string, number];
      yield { sourceId, outSeq, record: value as Uint8Array };
    }
  }

  sent(sourceId: string, outSeq: number): Promise<void> {
    return this.#durable(this.#outbox.remove([sourceId, outSeq]));
  }

  *reminders(): Iterable<StoredReminder> {
    for (const { key, value } of this.#remind.getRange({})) {
      const [id, name] = key as [string, string];
      const [due, everyMs] = value as [number, number];
      yield { id, name, due, everyMs };
    }
  }

  reminded(id: string, name: string, next: number | null, everyMs: number): Promise<void> {
    return this.#durable(next === null ? this.#remind.remove([id, name]) : this.#remind.put([id, name], [next, everyMs]));
  }

  seen(id: string, messageId: string, since: number): boolean {
    const at = this.#dedup.get([id, messageId]) as number | undefined;
    return at !== undefined && at >= since;
  }

  *pending(id: string): Iterable<{ seq: number; record: Uint8Array }> {
    for (const { key, value } of this.#mbox.getRange({ start: [id, 0], end: [id, Number.MAX_SAFE_INTEGER] })) {
      yield { seq: (key as [string, number])[1], record: value as Uint8Array };
    }
    for (const { key, value } of this.#posts.getRange({ start: [id, 0], end: [id, Number.MAX_SAFE_INTEGER] })) {
      yield { seq: -(key as [string, number])[1], record: value as Uint8Array };
    }
  }

  tries(id: string, seq: number): number {
    return (this.#meta.get(['tries', id, seq]) as number | undefined) ?? 0;
  }

  tried(id: string, seq: number, tries: number): Promise<void> {
    // At once, not with the next batch: the message may end this thread too before that is written.
    try {
      this.#meta.putSync(['tries', id, seq], tries);
    } catch (error) {
      return Promise.reject(new StorageError(`the entity store could not write: ${(error as Error).message}`, { cause: error }));
    }
    return Promise.resolve();
  }

  *withMessages(): Iterable<string> {
    const ids = new Set<string>();
    for (const db of [this.#mbox, this.#posts]) for (const key of db.getKeys({})) ids.add((key as [string, number])[0]);
    yield* ids;
  }

  moduleOf(name: string): string | undefined {
    return this.#modules.get(name) ?? (this.#meta.get(['module', name]) as string | undefined);
  }

  rememberModule(name: string, moduleUrl: string): void {
    if (this.#modules.get(name) === moduleUrl) return;
    if (this.#meta.get(['module', name]) === moduleUrl) {
      this.#modules.set(name, moduleUrl);
      return;
    }
    // Remembered only once written: until then each message writes it again, in the transaction
    // that stores it (a transaction of lmdb's may end between two writes of one turn), so no
    // message is stored without it, even after a write of it failed (a full disk).
    this.#meta.put(['module', name], moduleUrl).then(
      () => this.#modules.set(name, moduleUrl),
      () => undefined,
    );
  }

  prune(before: number): void {
    const old: unknown[] = [];
    for (const { key, value } of this.#dedup.getRange({})) if ((value as number) < before) old.push(key);
    // One that fails (a full disk) is made again at the next pruning.
    if (old.length > 0) this.#root.transaction(() => old.forEach((key) => void this.#dedup.remove(key))).then(undefined, () => undefined);
  }

  bytes(): number {
    if (this.#closedAt !== null) return this.#closedAt; // stats() after shutdown: what it took then
    const stats = this.#root.getStats();
    return (stats.lastPageNumber + 1) * stats.pageSize;
  }

  close(): Promise<void> {
    this.#closedAt ??= this.bytes();
    return this.#root.close();
  }

  /**
   * A write's promise, resolved once it is as durable as configured; a failure is a StorageError.
   * lmdb gives the writes of one transaction the same promise: so do we (one chain per transaction, not per write).
   */
  #durable(written: Promise<unknown> & { flushed?: Promise<void> }): Promise<void> {
    if (written === this.#lastWritten) return this.#lastDurable!;
    // lmdb ends a turn's writes with one of its own, and when its write thread finished a
    // transaction during the turn, that one gets a promise of its own that no write returned: a
    // failed commit (a full disk) would leave it rejected with no handler, which ends a main
    // thread. Looked at once lmdb's end of turn ran (it was queued at the turn's first write).
    if (!this.#turnWatched) {
      this.#turnWatched = true;
      setImmediate(() => {
        this.#turnWatched = false;
        this.#root.committed.then(undefined, settleCause);
      });
    }
    // A transaction that fails (a full disk) rejects its flush too: the failure is told once, below.
    written.flushed?.then(undefined, () => undefined);
    const done = this.#durability === 'machine' ? written.then(() => written.flushed ?? this.#root.flushed) : written;
    const durable = done.then(
      () => undefined,
      (error: unknown) => {
        settleCause(error);
        throw new StorageError(`the entity store could not write: ${(error as Error).message}`, { cause: error });
      },
    );
    // Only a transaction's own promise (it has `flushed`) is shared by its writes alone.
    if (written.flushed !== undefined) {
      this.#lastWritten = written;
      this.#lastDurable = durable;
    }
    return durable;
  }
}

/**
 * A failed commit's error from lmdb carries its cause as a promise that lmdb rejects and leaves
 * to the reader (`commitError`): read here, so it is not an unhandled rejection.
 */
function settleCause(error: unknown): void {
  const cause = (error as { commitError?: unknown } | null)?.commitError;
  if (cause instanceof Promise) cause.then(undefined, () => undefined);
}

/** Slab bytes: a value lmdb reads by address when it commits. */
type Placed = Uint8Array & { start: number; end: number };
const SLAB_BYTES = 1 << 16;

/**
 * Values handed to lmdb, copied into a slab it reads by address at commit time (lmdb keeps the
 * slab alive until then): the address of a slab is found once, not once per value as for a
 * buffer of a value's own. A value over a quarter of a slab keeps its own buffer.
 */
class Slab {
  #bytes = new Uint8Array(SLAB_BYTES) as Placed;
  #at = 0;

  place(value: Uint8Array): Uint8Array {
    const n = value.length;
    if (n > SLAB_BYTES >> 2) return value.slice(); // its own (a caller's bytes may be scratch)
    if (this.#at + n > SLAB_BYTES) {
      this.#bytes = new Uint8Array(SLAB_BYTES) as Placed;
      this.#at = 0;
    }
    const bytes = this.#bytes;
    bytes.set(value, this.#at);
    bytes.start = this.#at;
    bytes.end = this.#at + n;
    this.#at = (this.#at + n + 7) & ~7;
    return bytes;
  }
}
