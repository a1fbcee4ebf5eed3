// One thread's entities: refs to any entity, and the activations of the keys that live here. A
// key lives on the worker thread its hash picks, so messages for it from anywhere meet in one
// place and there is one activation per key without any coordination. Each message is numbered
// per key, deduplicated by messageId, stored (with storage: before it is handled, and in order)
// and handed to the key's activation, started if need be; an activation idle for its
// definition's idleMs is stopped, and its next message starts another from the committed state.

import { StorageError } from '../../errors.js';
import { checkPayload, encodeScratch, encodeStandalone, prepare } from '../../runtime/codec.js';
import { STAT_ACCEPTED, STAT_DUPLICATES, STAT_STORED } from '../../runtime/layout.js';
import { invalid, validateString } from '../../validate.js';
import { redeliver } from '../cell/ack-mode.js';
import type { Cell } from '../cell/cell.js';
import { Envelope, EnvelopeKind } from '../cell/envelope.js';
import type { AnyEntityDefinition, DeadLetterReason, Reminder } from '../types.js';
import { isEntity, runningActivation, type EntityActivation } from './define-entity.js';
import { Activations, MAX_DELIVER } from './activations.js';
import { activationOf, type HandlerChanges } from './activation.js';
import { MAX_KEY_BYTES, byteLength, homeOf, idHash, idOf, splitId } from './entity-ids.js';
import { Delivery, type DeliverySlot } from './delivery.js';
import { EntityRefImpl, type EntityAddress } from './entity-ref.js';
import { MemoryStore, type CommitWrite, type EntityStore, type SourceMark, type StoredRecord } from './entity-store.js';
import { Commits } from './commits.js';
import { Outbox } from './outbox.js';
import { Reminders } from './reminders.js';
import { decodeOn, type EntityHost } from './entity-host.js';
import { openLmdbStore } from './lmdb-store.js';
import type { ResolvedStorage } from '../options.js';
import type { EntityShards, ShardedStore } from './entity-shards.js';
import type { EntityRouting } from './entity-routing.js';
import { ShardPlace } from './shard-map.js';

/** How long a messageId is remembered by the entity that finished it. */
export const DEDUP_WINDOW_MS = 24 * 60 * 60 * 1000;
/** How soon a reminder whose message could not be stored is tried again. */
const REMIND_RETRY_MS = 1000;
/** How long a thread giving up shards waits for their activations to handle what they hold. */
const RELEASE_MS = 5000;
/** How often the store's dedup records past the window are pruned (a scan of them). */
const PRUNE_EVERY_MS = 10 * 60 * 1000;

/** A message for an entity, as it reaches the key's thread. */
export interface Arrival {
  readonly kind: EnvelopeKind.Tell | EnvelopeKind.Ask;
  readonly type: string;
  readonly payload: unknown;
  readonly senderThread: number;
  readonly senderKey: number;
  readonly corr: number;
  readonly priority: number;
  readonly custody: number;
  readonly trace: string | undefined;
  readonly messageId: string | undefined;
  /** From another entity's outbox: its source and number there (outbox.ts). */
  readonly source?: SourceMark | undefined;
  /** Stored by main already, as its message `posted` (node/entity-posts.ts). */
  readonly posted?: number | undefined;
}

/** Told once the message is stored (error: it could not be; duplicate: it was seen before and dropped). */
export type Receipt = (error: Error | null, duplicate: boolean) => void;

/** In a cluster: an arrival whose shard is not this node's, sent on to the one that owns it. */
export type Forward = (address: EntityAddress, a: Arrival, receipt: Receipt | null) => void;

/** A message being stored: handed on in order, once it and those before it are. */
interface Storing {
  readonly id: string;
  readonly address: EntityAddress;
  readonly env: Envelope;
  readonly receipt: Receipt | null;
  failed: Error | null;
  stored: boolean;
}

export class Entities implements DeliverySlot {
  readonly #host: EntityHost;
  #store: EntityStore = new MemoryStore();
  /** While the store opens: arrivals wait here, in order. */
  #held: (() => void)[] | null = null;
  #opened: Promise<void> = Promise.resolve();
  /** The last sequence number given to a message for each key (by entity id). */
  readonly #seqs = new Map<string, number>();
  /** Per key, the highest number of a message main posted that was taken here (from its tell or the store). */
  readonly #posted = new Map<string, number>();
  /** Message ids accepted and not yet finished (by `${id}\0${messageId}`), with when. */
  readonly #accepted = new Map<string, number>();
  /** Per key, the messages being stored, oldest first. */
  readonly #storing = new Map<string, Storing[]>();
  readonly #activations: Activations;
  /** The address of each key seen here (a reminder firing for it may find no activation). */
  readonly #addresses = new Map<string, EntityAddress>();
  readonly #reminders: Reminders;
  readonly #outbox: Outbox;
  readonly #commits = new Commits(() => this.#store);
  /** The promise of the last message put in the store, and the messages that share it. */
  #putting: Promise<void> | null = null;
  #batch: Storing[] = [];
  #prunedAt = 0;
  /** Messages whose count of tries is stored (a thread died handling them): `${id}\0${seq}`. */
  readonly #tried = new Set<string>();
  /** In a cluster: this thread's share of the node's shards, the host of entity refs, and where the others' messages go. */
  #cluster: { readonly shards: EntityShards; readonly routing: EntityRouting; readonly forward: Forward } | null = null;
  #shardWork: Promise<void> = Promise.resolve();
  /** Shards to take that wait behind other changes: more taken meanwhile join them. */
  #nextAcquire: { shards: number[]; done: Promise<void> } | null = null;

  constructor(host: EntityHost) {
    this.#host = host;
    this.#reminders = new Reminders(host, (id, name, due, everyMs) => this.#remindNow(id, name, due, everyMs));
    this.#outbox = new Outbox(host, () => this.#store, host.sendToEntity);
    this.#activations = new Activations(
      host,
      (id) => this.#storing.has(id),
      (now) => {
        for (const [key, at] of this.#accepted) if (at < now - DEDUP_WINDOW_MS) this.#accepted.delete(key);
        if (now - this.#prunedAt >= PRUNE_EVERY_MS) {
          this.#prunedAt = now;
          this.#store.prune(now - DEDUP_WINDOW_MS); // dedup records past the window
        }
      },
    );
  }

  /** A ref to the one activation of `key`, from any thread. */
  ref(definition: AnyEntityDefinition, key: string, name = 'entity'): EntityRefImpl {
    if (!isEntity(definition)) throw invalid(`${name}(definition)`, 'a definition made by defineEntity', definition);
    validateString(key, `${name}(key)`);
    if (key.length === 0 || byteLength(key) > MAX_KEY_BYTES) throw invalid(`${name}(key)`, `a string of 1 to ${MAX_KEY_BYTES} bytes (UTF-8)`, key);
    return this.entityRef([definition.moduleUrl, definition.name, key]);
  }

  /** A ref from its address (a decoded one, or one made here). */
  entityRef(address: EntityAddress): EntityRefImpl {
    return new EntityRefImpl((this.#cluster?.routing ?? this.#host) as never, homeOf(address[1], address[2], this.#host.workers), address);
  }

  /** Whether the key of `address` lives on another node (in a cluster; never without one). */
  elsewhere(address: EntityAddress): boolean {
    return this.#cluster !== null && !this.#cluster.shards.map.here(address[1], address[2]);
  }

  // ---- in a cluster ----------------------------------------------------------------------------

  /** Entities in a cluster: keys live on the node that owns their shard, and their store is the one the nodes share. */
  useCluster(shards: EntityShards, routing: EntityRouting, forward: Forward): void {
    this.#cluster = { shards, routing, forward };
  }

  /** Main told this thread that its node took, or gave up, entity shards (cluster/entity-router.ts). */
  shardsChanged(op: 'acquire' | 'release', shards: readonly number[], modules: readonly (readonly [string, string])[]): Promise<void> {
    const cluster = this.#cluster;
    if (cluster === null) return Promise.resolve();
    // Shards taken one after another (as each claim is written) are read together: one look at the store for them all.
    const next = this.#nextAcquire;
    if (op === 'acquire' && next !== null) {
      next.shards.push(...shards);
      return next.done;
    }
    // One change at a time, in the order main made them (a shard given up and taken back).
    let change: Promise<void>;
    if (op === 'acquire') {
      const batch = { shards: [...shards], done: null as unknown as Promise<void> };
      this.#nextAcquire = batch;
      change = batch.done = this.#shardWork.then(() => {
        if (this.#nextAcquire === batch) this.#nextAcquire = null;
        return this.#acquire(cluster.shards, batch.shards, modules);
      });
    } else {
      this.#nextAcquire = null;
      change = this.#shardWork.then(() => this.#letGo(cluster.shards, shards));
    }
    this.#shardWork = change.catch(() => undefined);
    return change;
  }

  /**
   * Reads the shards this node took (their keys of this thread with messages, reminders or outbox
   * waiting), hands those keys what they had, then takes what waited for the shards. A read that
   * fails is tried again while the shards are still this node's.
   */
  async #acquire(cluster: EntityShards, shards: readonly number[], modules: readonly (readonly [string, string])[]): Promise<void> {
    for (;;) {
      const mine = shards.filter((s) => cluster.map.place(s) === ShardPlace.Here);
      if (mine.length === 0) return;
      try {
        const store = await cluster.store();
        this.#store = store;
        for (const [name, moduleUrl] of modules) store.rememberModule(name, moduleUrl);
        const ids = await store.acquire(new Set(mine));
        this.#recover(new Set(ids));
        cluster.ready(mine);
        return;
      } catch (error) {
        this.#host.diagnostics.report('warn', `entity shards could not be read (tried again in a second): ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }

  /**
   * Gives up shards: what waited for them goes to their new owner; what is being stored is stored,
   * each of their activations handles what it holds (up to a few seconds) and stops, their commits
   * are written; then what this thread read of them is forgotten. The new owner reads them after.
   */
  async #letGo(cluster: EntityShards, shards: readonly number[]): Promise<void> {
    cluster.unready(shards);
    const set = new Set(shards);
    const inSet = (id: string): boolean => {
      const [name, key] = splitId(id);
      return set.has(cluster.map.shardOf(name, key));
    };
    // Every store under way ends by itself (stored, or failed: its publish times out): waited for
    // whole, so that the next owner finds what was confirmed here.
    while ([...this.#storing.keys()].some(inSet)) await new Promise((resolve) => setTimeout(resolve, 5));
    await this.#activations.stopWhere(inSet, RELEASE_MS);
    const ids = new Set([...this.#seqs.keys(), ...this.#addresses.keys()].filter(inSet));
    const store = this.#store as Partial<ShardedStore>;
    if (store.settled === undefined || store.release === undefined) return;
    await store.settled(ids);
    for (const id of ids) {
      this.#seqs.delete(id);
      this.#addresses.delete(id);
    }
    // Their reminders fire on the next owner now, and what this thread cached of their outboxes
    // and marks is the next owner's to read from the store.
    this.#reminders.cancelWhere(inSet);
    this.#outbox.forget(inSet);
    for (const key of [...this.#accepted.keys()]) if (inSet(key.slice(0, key.lastIndexOf('\u0000')))) this.#accepted.delete(key);
    store.release(set);
  }

  /** An arrival that waited for its key to be read, which failed: refused as one that could not be stored. */
  #refuse(a: Arrival, receipt: Receipt | null, error: Error): void {
    const failure = error instanceof StorageError ? error : new StorageError(`cannot read the entity: ${error.message}`, { cause: error });
    const env = new Envelope(a.kind, a.type, a.payload, a.senderThread, a.senderKey, a.corr, a.priority);
    env.custody = a.custody;
    env.trace = a.trace;
    receipt?.(failure, false);
    this.#host.deadLetter(env, 0, 'storage-failed', failure);
  }

  // ---- the store ------------------------------------------------------------------------------

  /** Uses `opening` (a store on disk) from now on; what arrives meanwhile waits. Resolves once it is open and recovered. */
  useStore(opening: Promise<EntityStore>): Promise<void> {
    this.#held = [];
    this.#opened = opening.then(
      (store) => {
        this.#store = store;
        this.#recover();
        this.#releaseHeld();
      },
      (error: unknown) => {
        this.#releaseHeld(); // in memory after all: the error is createSystem's
        throw error;
      },
    );
    return this.#opened;
  }

  /** Opens the store on disk at `storage.path` (lmdb-store.ts) and uses it (useStore). */
  useStorage(storage: ResolvedStorage): Promise<void> {
    return this.useStore(openLmdbStore(storage.path, storage.durability));
  }

  /** Resolves once the store is open (rejects if it could not be). */
  ready(): Promise<void> {
    return this.#opened;
  }

  /** Bytes the store takes on disk (0 in memory). */
  storeBytes(): number {
    return this.#store.bytes();
  }

  close(): Promise<void> {
    this.#activations.close();
    this.#reminders.close();
    return this.#store.close();
  }

  #releaseHeld(): void {
    const held = this.#held ?? [];
    this.#held = null;
    for (const arrive of held) arrive();
  }

  // ---- messages ------------------------------------------------------------------------------

  /** A message for an entity whose key lives here: deduplicated, numbered, stored, then to its activation. */
  arrive(address: EntityAddress, a: Arrival, receipt: Receipt | null): void {
    if (this.#held !== null) {
      this.#held.push(() => this.arrive(address, a, receipt));
      return;
    }
    const host = this.#host;
    const id = idOf(address);
    const cluster = this.#cluster;
    if (cluster !== null) {
      const verdict = cluster.shards.admit(address, id, { again: () => this.arrive(address, a, receipt), fail: (error) => this.#refuse(a, receipt, error) });
      if (verdict === 'elsewhere') cluster.forward(address, a, receipt);
      if (verdict !== 'here') return;
    }
    const messageId = a.messageId ?? null;
    if (a.posted !== undefined) {
      this.#arrivePosted(address, id, a, messageId, a.posted, receipt);
      return;
    }
    const source = a.source ?? null;
    if ((messageId !== null && a.kind === EnvelopeKind.Tell && this.#duplicate(id, messageId)) || (source !== null && this.#outbox.taken(id, source))) {
      host.runtime.counters[STAT_DUPLICATES]!++;
      receipt?.(null, true);
      return;
    }
    const seq = (this.#seqs.get(id) ?? this.#store.lastSeq(id)) + 1;
    this.#seqs.set(id, seq);
    const env = new Envelope(a.kind, a.type, new Delivery(a.payload, seq, messageId, source, id, this), a.senderThread, a.senderKey, a.corr, a.priority);
    env.custody = a.custody;
    env.trace = a.trace;
    const store = this.#store;
    if (!store.durable) {
      this.#activation(address, id).enqueue(env);
      receipt?.(null, false);
      return;
    }
    store.rememberModule(address[1], address[0]);
    const record: StoredRecord = source === null ? [a.type, a.payload, messageId, a.trace ?? null] : [a.type, a.payload, messageId, a.trace ?? null, source];
    const storing: Storing = { id, address, env, receipt, failed: null, stored: false };
    let queue = this.#storing.get(id);
    if (queue === undefined) this.#storing.set(id, (queue = []));
    queue.push(storing);
    let put: Promise<void>;
    try {
      put = store.put(id, seq, encodeScratch(prepare(record)));
    } catch (error) {
      put = Promise.reject(error);
    }
    // The messages stored in one transaction share its promise: one callback for them all.
    if (put !== this.#putting) {
      const batch: Storing[] = [];
      this.#putting = put;
      this.#batch = batch;
      put.then(
        () => this.#stored(batch, null),
        (error: unknown) => this.#stored(batch, error instanceof StorageError ? error : new StorageError(`cannot store the message: ${(error as Error).message}`, { cause: error })),
      );
    }
    this.#batch.push(storing);
  }

  /**
   * A message main stored itself (node/entity-posts.ts): taken once (a replacement of this thread
   * may have read it from the store before its tell came), checked for a duplicate messageId
   * (dropped from the store if it is one), and handed to its activation, without storing it again.
   */
  #arrivePosted(address: EntityAddress, id: string, a: Arrival, messageId: string | null, n: number, receipt: Receipt | null): void {
    if (a.custody !== 0) this.#host.runtime.custody?.done(a.custody); // the store has it, not the custody log
    if (n <= (this.#posted.get(id) ?? 0)) {
      receipt?.(null, false); // taken from the store already
      return;
    }
    this.#posted.set(id, n);
    this.#host.runtime.counters[STAT_STORED]!++; // as if stored here: the store's, not this thread's alone
    if (messageId !== null && a.kind === EnvelopeKind.Tell && this.#duplicate(id, messageId)) {
      this.#dropPosted(id, -n);
      receipt?.(null, true);
      return;
    }
    const env = new Envelope(a.kind, a.type, new Delivery(a.payload, -n, messageId, null, id, this), a.senderThread, a.senderKey, a.corr, a.priority);
    env.trace = a.trace;
    this.#activation(address, id).enqueue(env);
    receipt?.(null, false);
  }

  /** A posted message (seq -n) whose messageId was seen before: a duplicate, out of the store. */
  #dropPosted(id: string, seq: number): void {
    this.#host.runtime.counters[STAT_DUPLICATES]!++;
    void this.#commit(id, NO_STATE, 0, seq, null, null, NO_CHANGES)?.catch(() => undefined);
  }

  /** Messages are stored (or could not be): each sender is told, and each key's are handed on in order. */
  #stored(batch: readonly Storing[], failed: StorageError | null): void {
    const custody = this.#host.runtime.custody;
    const counters = this.#host.runtime.counters;
    for (const storing of batch) {
      const { env, receipt } = storing;
      if (failed !== null) {
        storing.failed = failed;
        receipt?.(failed, false);
      } else {
        storing.stored = true;
        counters[STAT_STORED]!++; // the store's now: it outlives this thread
        // Stored: the store has it now, not the custody log (a replacement of this thread takes
        // it up from the store, once; from both it would be handled twice).
        if (env.custody !== 0) {
          custody?.done(env.custody);
          env.custody = 0;
        }
        receipt?.(null, false);
      }
      this.#handOn(storing.id);
    }
    this.#host.runtime.publishSoon();
  }

  /** Hands the stored messages of `id` to its activation, in order, up to the first still being stored. */
  #handOn(id: string): void {
    const queue = this.#storing.get(id)!;
    while (queue.length > 0 && (queue[0]!.stored || queue[0]!.failed !== null)) {
      const { address, env, failed } = queue.shift()!;
      if (failed !== null) {
        // Never stored: its sender was told, and may send it again with the same messageId.
        const { messageId } = env.payload as Delivery;
        if (messageId !== null) this.#accepted.delete(`${id}\u0000${messageId}`);
        this.#host.deadLetter(env, 0, 'storage-failed', failed);
      }
      else this.#activation(address, id).enqueue(env);
    }
    if (queue.length === 0) this.#storing.delete(id);
  }

  #duplicate(id: string, messageId: string): boolean {
    const key = `${id}\u0000${messageId}`;
    const now = this.#host.clock.now();
    if (this.#accepted.has(key) || this.#store.seen(id, messageId, now - DEDUP_WINDOW_MS)) return true;
    this.#accepted.set(key, now);
    return false;
  }

  // ---- DeliverySlot: how a delivery ends ------------------------------------------------------------------

  /**
   * State, the end of message `seq` (its dedup record, its source's mark), the handler's reminder
   * changes and what it sent to other entities (the outbox), in one transaction; what it sent goes
   * once that is done.
   */
  #commit(id: string, state: unknown, version: number, seq: number, messageId: string | null, source: SourceMark | null, by: HandlerChanges): Promise<void> | null {
    const { reminders, held, deleting } = by;
    const bytes = state === NO_STATE || deleting ? null : encodeStandalone(prepare([version, state], 'state'));
    const outbox = held === null ? null : this.#outbox.number(id, held);
    const tried = seq !== 0 && this.#tried.size > 0 && this.#tried.has(`${id}\u0000${seq}`);
    const extras = reminders === null && outbox === null && source === null && !deleting && !tried ? null : { reminders, outbox, mark: source, deleteAll: deleting, tried };
    const write: CommitWrite = { state: bytes, seq, messageId, at: messageId === null ? 0 : this.#host.clock.now(), extras };
    this.#activations.touch(id);
    const after = (): void => {
      if (seq !== 0 && this.#store.durable) this.#host.runtime.counters[STAT_STORED]!--; // ended in the store
      if (tried) this.#tried.delete(`${id}\u0000${seq}`); // its count of tries went with it
      // Its dedup record is readable in the store only now: until then the id stays remembered here.
      if (messageId !== null) this.#accepted.delete(`${id}\u0000${messageId}`);
      if (deleting) this.#reminders.cancelAll(id);
      if (reminders !== null) this.#reminders.apply(id, reminders);
      if (outbox !== null) this.#outbox.release(outbox);
    };
    if (!this.#store.durable) {
      void this.#store.commit(id, [write]);
      after();
      return null;
    }
    return this.#commits.commit(id, write).then(after);
  }

  /**
   * A tell or send by `sender`'s handler to the entity at `address`: if `sender` is an entity's
   * activation, held for its commit (outbox.ts) and true; else false (it goes now).
   */
  hold(sender: Cell | null, address: EntityAddress, type: string, payload: unknown, trace: string | undefined): boolean {
    const activation = runningActivation() ?? (sender !== null && sender.definition !== null && isEntity(sender.definition) ? (sender.args as EntityActivation) : undefined);
    if (activation === undefined || !activation.open) return false;
    checkPayload(payload);
    activation.hold({ address, type, payload, trace });
    return true;
  }

  /** A reminder is due: a message to its entity, stored, then the reminder moves on (or is gone). */
  #remindNow(id: string, name: string, due: number, everyMs: number): void {
    const host = this.#host;
    const address = this.#addresses.get(id) ?? this.#addressFromStore(id);
    if (address === undefined) return; // its module was never recorded: nothing can handle it
    host.runtime.counters[STAT_ACCEPTED]!++;
    const next = everyMs === 0 ? null : Math.max(due + everyMs, Math.ceil(host.clock.now()));
    const payload: Reminder = { reminder: name, due };
    // A handler that set, replaced or cancelled it meanwhile (or deleted its entity) has the last word.
    const version = this.#reminders.version(id, name);
    this.arrive(address, { kind: EnvelopeKind.Tell, type: name, payload, senderThread: host.self, senderKey: 0, corr: 0, priority: 0, custody: 0, trace: undefined, messageId: undefined }, (error) => {
      if (this.#reminders.version(id, name) !== version) return;
      if (error !== null) {
        this.#reminders.schedule(id, name, Math.ceil(host.clock.now()) + REMIND_RETRY_MS, everyMs); // not stored: again in a while
        return;
      }
      void this.#store.reminded(id, name, next, everyMs).catch(() => undefined);
      if (next !== null) this.#reminders.schedule(id, name, next, everyMs);
    });
  }

  #addressFromStore(id: string): EntityAddress | undefined {
    const [name, key] = splitId(id);
    const moduleUrl = this.#store.moduleOf(name);
    return moduleUrl === undefined ? undefined : [moduleUrl, name, key];
  }

  dead(id: string, seq: number, messageId: string | null, reason: DeadLetterReason, source: SourceMark | null): void {
    // Only a verdict on the message itself ends it in the store (and remembers its id and mark):
    // one that died with the process, its thread or its activation stays stored and is handled
    // after the next start; one that could not be stored was never there (its sender may retry).
    if (reason !== 'max-deliveries' && reason !== 'terminated' && reason !== 'unhandled') return;
    void this.#commit(id, NO_STATE, 0, seq, messageId, source, NO_CHANGES)?.catch(() => undefined);
  }

  // ---- activations ----------------------------------------------------------------------------

  /** The cell of `address`'s activation, started now if it has none. */
  #activation(address: EntityAddress, id: string): Cell {
    return this.#activations.running(id) ?? this.#activations.start(
      address,
      id,
      (id) => {
        this.#addresses.set(id, address);
        return activationOf(
          this.#host,
          () => this.#store,
          address[2],
          id,
          (state, version, delivery, changes) => this.#commit(id, state, version, delivery?.seq ?? 0, delivery?.messageId ?? null, delivery?.source ?? null, changes),
          () => this.#commits.reset(id),
        );
      },
      () => this.entityRef(address),
    );
  }

  /**
   * At start with a store on disk: the keys living here with stored messages get them again, in
   * order. The one a dead predecessor of this thread was handling when it died (its mark) counts
   * that as a try: a message that ends its thread every time is a max-deliveries dead letter after
   * MAX_DELIVER tries, instead of ending every replacement in turn.
   */
  #recover(only: ReadonlySet<string> | null = null): void {
    const host = this.#host;
    const store = this.#store;
    const mark = host.runtime.mark;
    const [diedHash, diedSeq] = [mark[0]!, mark[1]!];
    mark[0] = mark[1] = 0;
    for (const r of store.reminders()) {
      if (only !== null && !only.has(r.id)) continue;
      const [name, key] = splitId(r.id);
      if (homeOf(name, key, host.workers) === host.self) this.#reminders.schedule(r.id, r.name, r.due, r.everyMs);
    }
    for (const id of [...store.withMessages()]) {
      if (only !== null && !only.has(id)) continue;
      const [name, key] = splitId(id);
      if (homeOf(name, key, host.workers) !== host.self) continue;
      const moduleUrl = store.moduleOf(name);
      if (moduleUrl === undefined) continue;
      const address: EntityAddress = [moduleUrl, name, key];
      const cell = this.#activation(address, id);
      let last = 0;
      for (const { seq, record } of store.pending(id)) {
        const [type, payload, messageId, trace, source] = decodeOn(host, record) as StoredRecord;
        if (source !== undefined) this.#outbox.taken(id, source); // its mark, for resends that come again
        host.runtime.counters[STAT_ACCEPTED]!++; // accepted again in this process: the books balance
        host.runtime.counters[STAT_STORED]!++; // and stored, not held by this thread alone
        if (seq < 0) {
          // Posted by main: its tell, if one comes still, finds it taken. Its messageId was not
          // checked yet: a duplicate leaves the store now.
          this.#posted.set(id, -seq);
          if (messageId !== null && this.#duplicate(id, messageId)) {
            this.#dropPosted(id, seq);
            continue;
          }
        } else {
          if (messageId !== null) this.#accepted.set(`${id}\u0000${messageId}`, host.clock.now());
          last = seq;
        }
        const env = new Envelope(EnvelopeKind.Tell, type, new Delivery(payload, seq, messageId, source ?? null, id, this), host.self, 0, 0, 0);
        env.trace = trace ?? undefined;
        let tries = store.tries(id, seq);
        if (seq === diedSeq && idHash(id) === diedHash) void store.tried(id, seq, ++tries).catch(() => undefined);
        if (tries > 0) this.#tried.add(`${id}\u0000${seq}`);
        if (tries >= MAX_DELIVER) {
          host.deadLetter(env, 0, 'max-deliveries', new Error(`its thread died while handling it, ${tries} times`));
          continue;
        }
        redeliver(cell, env, Math.max(2, tries + 1)); // ctx.redelivered; ctx.deliveryCount counts the tries
      }
      this.#seqs.set(id, last);
    }
    this.#outbox.recover(only);
  }
}

const NO_CHANGES: HandlerChanges = { reminders: null, held: null, deleting: false };

/** Passed as the state to commit: nothing but the end of the message. */
const NO_STATE = Symbol('no state');
