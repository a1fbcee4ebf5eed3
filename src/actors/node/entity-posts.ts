// Messages from the main thread to entities, stored by main itself before they go. Main writes each
// into the store, as a plain lmdb put would, and once the store has it tells the key's thread,
// which hands it to the key's activation without writing it again. So a send resolves as soon as
// its message is flushed, with no receipt from the key's thread, and the key's thread spends
// nothing on storing it. A send with a messageId still waits for the key's thread: only there is
// it known whether the id was seen before (the duplicate is then dropped from the store).
//
// Main numbers what it posts in one sequence that outlives the process (it goes on from the
// highest number still stored). The store commits in order, so each key's thread is told of a
// key's messages in order; it takes each number once, whether its tell or the store (a restart, a
// replacement of the thread) brings it first (entities.ts). Only main posts: a worker that died
// would leave posts that no one tells of; what workers send is stored by the key's thread.

import { MessageTooLargeError, StorageError } from '../../errors.js';
import { encodeScratch, prepare } from '../../runtime/codec.js';
import { Envelope, EnvelopeKind } from '../cell/envelope.js';
import type { EntityAddress } from '../entity/entity-ref.js';
import { byteLength, idOf } from '../entity/entity-ids.js';
import type { EntityStore, StoredRecord } from '../entity/entity-store.js';
import type { NodeCore } from './node-core.js';
import type { SendResult } from '../types.js';
import { WIRE_ENTITY, WIRE_MESSAGE_ID, WIRE_RECEIPT, WIRE_TRACE } from './wire.js';

/** What main's store must do to take posts (lmdb-store.ts). */
type PostingStore = EntityStore & Required<Pick<EntityStore, 'post' | 'lastPost'>>;

/** A message being posted: what its tell to the key's thread needs once it is stored. */
interface Post {
  readonly kind: EnvelopeKind.Tell | EnvelopeKind.Ask;
  readonly thread: number;
  readonly address: EntityAddress;
  readonly type: string;
  readonly payload: unknown;
  readonly priority: number;
  readonly messageId: string | undefined;
  readonly trace: string | undefined;
  readonly senderKey: number;
  /** The ask's correlation id, or that of a send with a messageId (its receipt), or 0. */
  readonly corr: number;
  readonly n: number;
}

/** The posts of one store transaction, and how it ended. */
interface Batch {
  readonly posts: Post[];
  settled: boolean;
  failed: StorageError | null;
  /** The result of the sends (without a messageId) in it, once one asks for it (lastSent). */
  sent: Promise<SendResult> | null;
  resolve: ((result: SendResult) => void) | null;
  reject: ((error: Error) => void) | null;
}

/** More than a tell's record adds to the stored bytes and the address (the header, the framing of its parts). */
const TELL_OVERHEAD = 64;

const NOT_DUPLICATE: SendResult = Object.freeze({ duplicate: false });

function storageError(error: unknown): StorageError {
  return error instanceof StorageError ? error : new StorageError(`cannot store the message: ${(error as Error).message}`, { cause: error });
}

function batch(): Batch {
  return { posts: [], settled: false, failed: null, sent: null, resolve: null, reject: null };
}

export class EntityPosts {
  readonly #node: NodeCore;
  #store: PostingStore | null = null;
  #next = 0;
  /** The promise of the last post, and the posts that share it (one lmdb transaction). */
  #putting: Promise<void> | null = null;
  #batch: Batch = batch();
  /** Batches not yet told, oldest first: told in this order, whatever order their promises settle in. */
  readonly #batches: Batch[] = [];
  #inFlight = 0;
  #idle: (() => void)[] = [];

  constructor(node: NodeCore) {
    this.#node = node;
  }

  /** Posts into `store` from now on, if it takes posts (a store on disk, without a cluster). */
  use(store: EntityStore): void {
    if (store.post === undefined || store.lastPost === undefined) return;
    this.#store = store as PostingStore;
    this.#next = store.lastPost();
  }

  get active(): boolean {
    return this.#store !== null;
  }

  /**
   * Stores a message for the entity at `address` (on worker `thread`) and tells that thread once it
   * is stored. Throws what encoding throws (a payload that cannot be sent), or StorageError.
   */
  post(kind: EnvelopeKind.Tell | EnvelopeKind.Ask, thread: number, address: EntityAddress, type: string, payload: unknown, priority: number, messageId: string | undefined, trace: string | undefined, senderKey: number, corr: number): void {
    const store = this.#store!;
    const id = idOf(address);
    const record: StoredRecord = [type, payload, messageId ?? null, trace ?? null];
    const bytes = encodeScratch(prepare(record));
    // Refused now, as its tell would be: once stored, no one is left to tell. (Its tell carries the
    // address and number, not the type: bounded by the stored bytes and those.)
    const max = this.#node.runtime.maxMessageBytes;
    const length = bytes.length + byteLength(address[0]) + byteLength(address[1]) + byteLength(address[2]) + TELL_OVERHEAD;
    if (length > max) throw new MessageTooLargeError(`message of ${length} bytes exceeds maxMessageBytes ${max}`);
    const n = this.#next + 1;
    store.rememberModule(address[1], address[0]); // in the same transaction: recovery finds its definition
    let put: Promise<void>;
    try {
      put = store.post(id, n, bytes);
    } catch (error) {
      throw storageError(error);
    }
    this.#next = n;
    // The posts of one transaction share its promise: one callback for them all.
    if (put !== this.#putting) {
      const next = batch();
      this.#putting = put;
      this.#batch = next;
      this.#batches.push(next);
      put.then(
        () => this.#settle(next, null),
        (error: unknown) => this.#settle(next, storageError(error)),
      );
    }
    this.#batch.posts.push({ kind, thread, address, type, payload, priority, messageId, trace, senderKey, corr, n });
    this.#inFlight++;
  }

  /**
   * What a send without a messageId resolves with, for the message just posted: shared by the
   * sends of one store transaction (no promise of each one's own), settled once they are told.
   */
  lastSent(): Promise<SendResult> {
    const last = this.#batch;
    return (last.sent ??= new Promise<SendResult>((resolve, reject) => {
      last.resolve = resolve;
      last.reject = reject;
    }));
  }

  /** Resolves once every post made so far is stored (or failed) and told. */
  settled(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** A batch is stored (or could not be): it and those after it that are, in order, are told. */
  #settle(batch: Batch, failed: StorageError | null): void {
    batch.settled = true;
    batch.failed = failed;
    const batches = this.#batches;
    let told = 0;
    while (told < batches.length && batches[told]!.settled) this.#stored(batches[told++]!);
    if (told === 0) return;
    batches.splice(0, told);
    this.#node.runtime.publishSoon();
    if (this.#inFlight === 0 && this.#idle.length > 0) for (const resolve of this.#idle.splice(0)) resolve();
  }

  /** Posts are stored (or could not be): each key's thread is told, in order, and each send answered. */
  #stored({ posts, failed, resolve, reject }: Batch): void {
    for (const p of posts) {
      if (failed !== null) this.#failed(p, failed);
      else {
        try {
          this.#tell(p);
        } catch (error) {
          // Its tell could not be written: out of the store again, and a dead letter. (Its size
          // was checked before it was stored, with room for what the tell adds: a send that
          // shares its transaction's result is not expected here.)
          void this.#store!.commit(idOf(p.address), [{ state: null, seq: -p.n, messageId: null, at: 0, extras: null }]).catch(() => undefined);
          this.#failed(p, error as Error);
        }
      }
    }
    this.#inFlight -= posts.length;
    if (failed === null) resolve?.(NOT_DUPLICATE);
    else reject?.(failed);
  }

  #tell(p: Post): void {
    const node = this.#node;
    let payload = p.payload;
    let priority = p.priority | WIRE_ENTITY;
    if (p.messageId !== undefined) {
      payload = [p.messageId, payload];
      priority |= WIRE_MESSAGE_ID;
    }
    let wrapped: unknown = [p.address, payload, null, p.n];
    if (p.trace !== undefined) {
      wrapped = [p.trace, wrapped];
      priority |= WIRE_TRACE;
    }
    if (p.kind === EnvelopeKind.Ask) {
      node.records.ask(p.thread, 0, p.senderKey, priority, p.corr, wrapped, p.type);
      return;
    }
    // A send with a messageId waits for the key's thread to say whether it was a duplicate (its
    // receipt); one without shares its transaction's result (lastSent).
    if (p.corr !== 0) priority |= WIRE_RECEIPT;
    node.records.tell(p.thread, 0, p.senderKey, priority, p.corr, wrapped, p.type);
  }

  /** Not stored, or not told: a dead letter with its reason, and the send or ask it answers rejects. */
  #failed(p: Post, error: Error): void {
    const node = this.#node;
    if (p.corr !== 0) node.asks.reject(p.corr, error);
    const env = new Envelope(EnvelopeKind.Tell, p.type, p.payload, node.self, p.senderKey, 0, p.priority, p.messageId);
    env.trace = p.trace;
    node.deadLetter(env, 0, error instanceof MessageTooLargeError ? 'too-large' : 'storage-failed', error);
  }
}
