// Entities across the cluster, on main. Each key belongs to a shard, and each shard to one node
// (the shard directory, shards.ts): this node's shards are marked in the shard map every thread
// reads (entity/shard-map.ts), and its threads are told to read the ones it takes and let go of
// the ones it gives up, before the directory hands them over. A call to a key whose shard is on
// another node goes to that node in its link (in order, with the other calls to it); one whose
// shard has no owner yet, or is being handed over, waits here until the directory names one.

import type { ActorNode } from '../actors/node/node.js';
import { checkCall, entityOptions } from '../actors/node/cross-node.js';
import type { AskSubject } from '../actors/node/ask.js';
import { portableDefinitions, portableDefinition } from '../actors/define.js';
import { isEntity } from '../actors/entity/define-entity.js';
import { byteLength, MAX_KEY_BYTES } from '../actors/entity/entity-ids.js';
import type { EntityAddress } from '../actors/entity/entity-ref.js';
import type { SourceMark } from '../actors/entity/entity-store.js';
import { ShardPlace, type ShardMap } from '../actors/entity/shard-map.js';
import type { Logger } from '../actors/logger.js';
import type { AnyDefinition, AskOptions, DeadLetterReason, MessageOptions, SendResult } from '../actors/types.js';
import { ActorInitializationError, NodeDownError, toWire } from '../errors.js';
import { undelivered, type Link } from './link.js';
import type { KV } from './nats.js';
import { ShardDirectory, type ShardOwner } from './shards.js';
import { Entry, ServiceCall, type Call } from './wire-batch.js';

/** How long a tell or send waits here for its shard to have an owner. */
const HOLD_MS = 30_000;
/** How long shard changes gather before the threads are told of them. */
const TELL_MS = 5;
/** After how long a thread that has not let go of the shards it gives up is reported. */
const RELEASE_MS = 10_000;

/** What the router needs of the gateway. */
export interface EntityRouterHost {
  /** The link to a member (null: it is gone). */
  linkToMember(member: ShardOwner): Link | null;
  /** True once the membership declared node `id` gone (it left, or was declared down). */
  isGone(id: string): boolean;
  expect<T>(link: Link, timeoutMs: number, about: AskSubject, type?: string): { corr: number; promise: Promise<T> };
  abortWith(corr: number, promise: Promise<unknown>, signal: AbortSignal | undefined): void;
  answer(systemId: string, nodeName: string, corr: number, ok: boolean, value: unknown): void;
  deadLetter(recipient: string, type: string, payload: unknown, reason: DeadLetterReason): void;
}

type Kind = 'tell' | 'ask' | 'send';

/** A call waiting for its shard to have an owner. */
interface Held {
  readonly go: () => void;
  readonly fail: (error: Error) => void;
}

export class EntityRouter {
  readonly #host: EntityRouterHost;
  readonly #node: ActorNode;
  readonly #map: ShardMap;
  readonly #self: ShardOwner;
  readonly #logger: Logger;
  readonly #definitions: ReadonlyMap<string, AnyDefinition> | null;
  #directory: ShardDirectory | null = null;
  readonly #held = new Map<number, Held[]>();
  /** Shard changes not yet told to the threads, in order, each with what waits for it. */
  readonly #changes: { op: 'acquire' | 'release'; shards: number[]; dones: (() => void)[] }[] = [];
  #telling = false;
  /** Per shard given up, the promise that the threads let go of it. */
  readonly #letGo = new Map<number, Promise<void>>();
  /** What each 'shards' record waits for: the threads yet to answer. */
  readonly #answers = new Map<number, { left: Set<number>; done: () => void }>();
  #corr = 0;
  /** The directory has been read (rebalancing and leaving wait for that). */
  #started = false;
  #closed = false;

  constructor(host: EntityRouterHost, node: ActorNode, map: ShardMap, self: ShardOwner, definitions: ReadonlyMap<string, AnyDefinition> | null, logger: Logger) {
    this.#host = host;
    this.#node = node;
    this.#map = map;
    this.#self = self;
    this.#definitions = definitions;
    this.#logger = logger;
  }

  /**
   * Reads the shard directory, follows it, and claims this node's share: in the background, tried
   * again every second until it succeeds (a NATS failover may take the directory's bucket away
   * for a few seconds). Until then, calls to entities of other nodes wait here.
   */
  start(bucket: () => Promise<KV>, members: () => readonly ShardOwner[]): void {
    void (async () => {
      for (let failures = 0; !this.#closed; failures++) {
        try {
          await this.#start(await bucket(), members);
          return;
        } catch (error) {
          this.#directory?.close();
          this.#directory = null;
          if (failures === 0) this.#logger.warn(`cluster: the entity shard directory could not be read yet (tried again every second): ${(error as Error).message}`);
          await new Promise((resolve) => setTimeout(resolve, 1000));
        }
      }
    })();
  }

  async #start(kv: KV, members: () => readonly ShardOwner[]): Promise<void> {
    const directory = new ShardDirectory(kv, this.#map.count, this.#self, members, this.#logger, (shard) => this.#letGo.get(shard) ?? Promise.resolve());
    this.#directory = directory;
    directory.on('acquired', (shard) => {
      this.#map.set(shard, ShardPlace.Here);
      this.#letGo.delete(shard);
      this.#change('acquire', shard);
      this.#flush(shard);
    });
    directory.on('released', (shard) => {
      this.#map.set(shard, ShardPlace.Elsewhere);
      let done!: () => void;
      this.#letGo.set(shard, new Promise<void>((resolve) => (done = resolve)));
      this.#change('release', shard, done);
    });
    directory.on('owner', (shard) => {
      if (this.#map.place(shard) === ShardPlace.Unknown && directory.ownerOf(shard) !== null) this.#map.set(shard, ShardPlace.Elsewhere);
      this.#flush(shard);
    });
    await directory.start();
    this.#started = true;
  }

  /** The shard directory, once read (null before). */
  get directory(): ShardDirectory | null {
    return this.#started ? this.#directory : null;
  }

  /** One pass of the directory's rules (the members changed, or a heartbeat went by). */
  rebalance(): void {
    if (!this.#started) return;
    void this.#directory?.rebalance().catch((error: unknown) => this.#logger.warn(`cluster: the shard directory could not be read or written: ${(error as Error).message}`));
  }

  /** This node leaves: its shards are handed over (each once what lives on it here has stopped). */
  async leave(): Promise<void> {
    if (this.#started) await this.#directory?.leave();
  }

  close(): void {
    this.#closed = true;
    this.#directory?.close();
    for (const [shard, held] of [...this.#held]) {
      this.#held.delete(shard);
      for (const h of held) h.fail(new NodeDownError('this node left the cluster before the entity\'s shard had an owner'));
    }
  }

  /** A thread did what a 'shards' record told it. */
  done(from: number, corr: number): void {
    const waiting = this.#answers.get(corr);
    if (waiting === undefined || !waiting.left.delete(from) || waiting.left.size > 0) return;
    this.#answers.delete(corr);
    waiting.done();
  }

  /** A thread died: nothing waits for its answers (what it held is in the store, for whoever reads it next). */
  threadGone(thread: number): void {
    for (const corr of [...this.#answers.keys()]) this.done(thread, corr);
  }

  /** A thread started (a replacement of one that died): it reads the shards this node holds. */
  wanted(from: number): void {
    if (!this.#started) return; // it is told of each as this node takes it
    const here: number[] = [];
    for (let shard = 0; shard < this.#map.count; shard++) if (this.#map.place(shard) === ShardPlace.Here) here.push(shard);
    if (here.length > 0) this.#node.control(from, ['shards', 'acquire', here, this.#modules(), 0]);
  }

  // ---- calls -------------------------------------------------------------------------------

  /** A call to an entity from this node: to the thread of its key if its shard is here, else to its owner (or held for one). */
  call(address: EntityAddress, kind: Kind, type: string, payload: unknown, options: AskOptions | undefined, source: SourceMark | null): Promise<unknown> | undefined {
    checkCall(type, payload);
    const shard = this.#map.shardOf(address[1], address[2]);
    if (this.#map.place(shard) === ShardPlace.Here) return this.#here(address, kind, type, payload, options, source);
    const owner = this.#directory?.ownerOf(shard) ?? null;
    const link = owner === null || owner.id === this.#self.id ? null : this.#host.linkToMember(owner);
    if (link === null) return this.#hold(shard, address, kind, type, payload, options, source);
    const wire = entityOptions(options, source);
    const code = kind === 'tell' ? ServiceCall.Tell : kind === 'ask' ? ServiceCall.Ask : ServiceCall.Send;
    if (kind === 'tell') {
      link.push([Entry.ToEntity, code, 0, address[1], address[2], type, payload, wire]);
      return undefined;
    }
    const timeoutMs = kind === 'ask' ? (options?.timeoutMs ?? this.#node.askTimeoutMs) : options?.timeoutMs !== undefined ? options.timeoutMs + 1000 : 60_000;
    const { corr, promise } = this.#host.expect<unknown>(link, timeoutMs, () => `${kind} to entity ${address[1]}/${address[2]} on node ${owner!.name}`, type);
    this.#host.abortWith(corr, promise, options?.signal);
    link.push([Entry.ToEntity, code, corr, address[1], address[2], type, payload, wire]);
    // Not received there (the node left, or died, as it was sent): to the shard's next owner. So
    // too a send left unanswered because the membership declared its node gone (it left, or was
    // declared down), if it may go twice: its messageId (or its outbox mark) has the key's store
    // take it once, whichever node had it first. Any other failure (a node that is still a
    // member, this node's connection closed) is the caller's, as before.
    const again = (error: Error): boolean =>
      undelivered.has(error) || (error instanceof NodeDownError && kind === 'send' && (options?.messageId !== undefined || source !== null) && this.#host.isGone(owner!.id));
    return promise.catch((error: Error) => (again(error) ? this.#after(shard, owner!, address, kind, type, payload, options, source)! : Promise.reject(error)));
  }

  /** A tell to an entity that node `failed` did not receive (its batch found no one there): sent again, to the shard's next owner. */
  again(call: Extract<Call, { 0: Entry.ToEntity }>, failed: ShardOwner): boolean {
    const [, , , name, key, type, payload, options] = call;
    const address = this.#addressOf(name, key);
    if (address === null) return false;
    this.#after(this.#map.shardOf(name, key), failed, address, 'tell', type, payload, (options ?? undefined) as AskOptions | undefined, options?.source ?? null);
    return true;
  }

  /** A call that `failed` did not receive: made again if the shard has another owner now, else held until it has. */
  #after(shard: number, failed: ShardOwner, address: EntityAddress, kind: Kind, type: string, payload: unknown, options: AskOptions | undefined, source: SourceMark | null): Promise<unknown> | undefined {
    const owner = this.#directory?.ownerOf(shard) ?? null;
    if (owner !== null && owner.id !== failed.id) return this.call(address, kind, type, payload, options, source);
    return this.#hold(shard, address, kind, type, payload, options, source);
  }

  /** A call to an entity from another node: found by its definition's name among this node's own, then routed as any. */
  take(systemId: string, nodeName: string, call: Extract<Call, { 0: Entry.ToEntity }>): void {
    const [, code, corr, name, key, type, payload, options] = call;
    const kind: Kind = code === ServiceCall.Tell ? 'tell' : code === ServiceCall.Ask ? 'ask' : 'send';
    const answer = (ok: boolean, value: unknown): void => {
      if (kind !== 'tell') this.#host.answer(systemId, nodeName, corr, ok, ok ? value : toWire(value));
    };
    const address = this.#addressOf(name, key);
    if (address === null) {
      const why = new ActorInitializationError(`node ${this.#self.name} has no entity definition named ${JSON.stringify(name)} that another node may address (its own code defines it in a module file, under a name no other of its definitions has), or the key is not one`);
      if (kind === 'tell') this.#host.deadLetter(`${name}/${key}`, type, payload, 'decode-failed');
      answer(false, why);
      return;
    }
    const given = (options ?? undefined) as AskOptions | undefined;
    try {
      const outcome = this.call(address, kind, type, payload, given, options?.source ?? null);
      outcome?.then(
        (value) => answer(true, value),
        (error: unknown) => answer(false, error),
      );
    } catch (error) {
      if (kind === 'tell') this.#host.deadLetter(`${name}/${key}`, type, payload, 'decode-failed');
      answer(false, error);
    }
  }

  /** The address here of entity `name`'s key `key` from the wire: by its definition's name among this node's own (null: none, or no key). */
  #addressOf(name: string, key: string): EntityAddress | null {
    const definition = this.#definitions === null ? portableDefinition(name) : (this.#definitions.get(name) ?? null);
    if (definition === null || !isEntity(definition) || key.length === 0 || byteLength(key) > MAX_KEY_BYTES) return null;
    return [definition.moduleUrl, name, key];
  }

  /** To the key's thread on this node. */
  #here(address: EntityAddress, kind: Kind, type: string, payload: unknown, options: AskOptions | undefined, source: SourceMark | null): Promise<unknown> | undefined {
    if (source !== null) {
      // From another node's outbox: stored here once, with its mark (entity/outbox.ts).
      return new Promise<SendResult>((resolve, reject) => {
        this.#node.sendToEntity(address, type, payload, options?.trace, source, (error, duplicate) => (error === null ? resolve({ duplicate }) : reject(error)));
      });
    }
    const ref = this.#node.entities.entityRef(address);
    if (kind === 'tell') {
      ref.tell(type, payload, options as MessageOptions | undefined);
      return undefined;
    }
    return kind === 'ask' ? ref.ask(type, payload, options) : ref.send(type, payload, options);
  }

  /** Waits for shard `shard` to have an owner (or to be this node's again), then goes on; a tell that waits too long is a dead letter. */
  #hold(shard: number, address: EntityAddress, kind: Kind, type: string, payload: unknown, options: AskOptions | undefined, source: SourceMark | null): Promise<unknown> | undefined {
    const limit = kind === 'ask' ? (options?.timeoutMs ?? this.#node.askTimeoutMs) : HOLD_MS;
    const why = (): Error => new NodeDownError(`entity ${address[1]}/${address[2]} could not be reached for ${limit} ms (its shard ${shard} had no owner that took it)`);
    if (kind === 'tell') {
      const held: Held = {
        go: () => {
          clearTimeout(timer);
          try {
            this.call(address, kind, type, payload, options, source);
          } catch (error) {
            this.#logger.warn(`cluster: a tell to entity ${address[1]}/${address[2]} failed: ${(error as Error).message}`);
          }
        },
        fail: () => {
          clearTimeout(timer);
          this.#host.deadLetter(`${address[1]}/${address[2]}`, type, payload, 'node-down');
        },
      };
      const timer = setTimeout(() => this.#drop(shard, held, why()), limit);
      push(this.#held, shard, held);
      return undefined;
    }
    return new Promise<unknown>((resolve, reject) => {
      const held: Held = {
        go: () => {
          clearTimeout(timer);
          try {
            this.call(address, kind, type, payload, options, source)!.then(resolve, reject);
          } catch (error) {
            reject(error);
          }
        },
        fail: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => this.#drop(shard, held, why()), limit);
      push(this.#held, shard, held);
    });
  }

  #drop(shard: number, held: Held, error: Error): void {
    const list = this.#held.get(shard);
    const at = list?.indexOf(held) ?? -1;
    if (at < 0) return;
    list!.splice(at, 1);
    if (list!.length === 0) this.#held.delete(shard);
    held.fail(error);
  }

  /** The owner of `shard` changed: what waited for it goes on, in order (it may wait again). */
  #flush(shard: number): void {
    const held = this.#held.get(shard);
    if (held === undefined) return;
    const owner = this.#directory?.ownerOf(shard) ?? null;
    if (owner === null || (owner.id === this.#self.id && this.#map.place(shard) !== ShardPlace.Here)) return;
    this.#held.delete(shard);
    for (const h of held) h.go();
  }

  // ---- telling the threads -----------------------------------------------------------------

  /** Tells the threads that host entities of this turn's shard changes; `done` once a release is let go of everywhere. */
  /** Tells the threads of a shard change, a few milliseconds later, with the others made by then, in order; `done` once they let go of a shard given up. */
  #change(op: 'acquire' | 'release', shard: number, done?: () => void): void {
    const last = this.#changes.at(-1);
    if (last !== undefined && last.op === op) last.shards.push(shard);
    else this.#changes.push({ op, shards: [shard], dones: [] });
    if (done !== undefined) this.#changes.at(-1)!.dones.push(done);
    if (this.#telling) return;
    this.#telling = true;
    // Claims are written one by one: those of a few milliseconds go to the threads together.
    setTimeout(() => {
      this.#telling = false;
      const modules = this.#modules();
      for (const { op: each, shards, dones } of this.#changes.splice(0)) {
        const all = (): void => dones.forEach((d) => d());
        if (each === 'acquire') {
          this.#send('acquire', shards, modules, all);
          continue;
        }
        // Handed over only once every thread let go (or died): never while one may still write.
        const slow = setTimeout(() => this.#logger.warn(`cluster: threads have not let go of entity shards ${shards.join(', ')} after ${RELEASE_MS} ms: their hand-over waits`), RELEASE_MS);
        this.#send('release', shards, [], () => {
          clearTimeout(slow);
          all();
        });
      }
    }, TELL_MS);
  }


  #send(op: 'acquire' | 'release', shards: number[], modules: [string, string][], done: () => void): void {
    const node = this.#node;
    if (node.workers === 0) {
      void node.entities.shardsChanged(op, shards, modules).then(done, done);
      return;
    }
    const corr = ++this.#corr;
    const left = new Set<number>();
    for (let t = 1; t <= node.workers; t++) if (!node.isDead(t)) left.add(t);
    if (left.size === 0) {
      done();
      return;
    }
    this.#answers.set(corr, { left, done });
    for (const t of left) node.control(t, ['shards', op, shards, modules, corr]);
  }

  /** The entity definitions this node's threads may activate by name: [name, module URL]. */
  #modules(): [string, string][] {
    const definitions = this.#definitions === null ? portableDefinitions() : [...this.#definitions.values()];
    return definitions.filter(isEntity).map((d) => [d.name, d.moduleUrl]);
  }
}

function push(map: Map<number, Held[]>, shard: number, held: Held): void {
  const list = map.get(shard);
  if (list === undefined) map.set(shard, [held]);
  else list.push(held);
}
