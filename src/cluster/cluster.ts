// A system in a cluster (createSystem({ cluster })): one NATS connection on the main thread, the
// membership of the nodes (membership.ts) and the gateway that carries calls between them
// (gateway.ts). `system.cluster` is this object: who is in, and 'join' / 'leave' events. Loaded
// only when the option is given (system.ts imports this module lazily), like NATS itself.

import { EventEmitter } from 'node:events';
import type { ActorRefImpl } from '../actors/actor-ref.js';
import type { ResolvedCluster } from '../actors/cluster-options.js';
import type { Logger } from '../actors/logger.js';
import type { ActorNode } from '../actors/node/node.js';
import { ActorInitializationError } from '../errors.js';
import type { AnyDefinition, SpawnOptions } from '../actors/types.js';
import type { ServedPool } from './services.js';
import { invalid } from '../validate.js';
import { Gateway } from './gateway.js';
import { EntityRouter } from './entity-router.js';
import { Membership, type ClusterMember, type MembershipEvents } from './membership.js';
import { ShardLease } from './shard-lease.js';
import { loadNats, type NatsConnection } from './nats.js';
import { PROTOCOL } from './wire-batch.js';

export type { ClusterMember, LeaveReason } from './membership.js';

export class Cluster extends EventEmitter<MembershipEvents> {
  /** This node's name. */
  readonly name: string;
  /** This node's system id (one per process start). */
  readonly id: string;
  /** How long after its last heartbeat a silent node is declared down, at most (ms). */
  readonly downWithinMs: number;
  readonly #nc: NatsConnection;
  readonly #membership: Membership;
  readonly #gateway: Gateway;
  #closed: Promise<void> | null = null;
  /** Actors this node placed on each other node since that node's load was last heard (by system id). */
  readonly #placed = new Map<string, { heard: number; at: number[] }>();
  readonly #heartbeatMs: number;
  readonly #entities: EntityRouter;

  /** @internal */
  constructor(options: ResolvedCluster, nc: NatsConnection, membership: Membership, gateway: Gateway, id: string, entities: EntityRouter) {
    super();
    this.#entities = entities;
    this.name = options.name;
    this.id = id;
    this.downWithinMs = options.downAfterMs + options.heartbeatMs;
    this.#heartbeatMs = options.heartbeatMs;
    this.#nc = nc;
    this.#membership = membership;
    this.#gateway = gateway;
    membership.on('join', (member) => {
      gateway.nodeBack(member.id);
      entities.rebalance();
      this.emit('join', member);
    });
    membership.on('leave', (member, reason) => {
      gateway.nodeGone(member.id);
      this.#placed.delete(member.id);
      entities.rebalance();
      this.emit('leave', member, reason);
    });
  }

  /**
   * @internal The NATS connection closed for good (the client gave up reconnecting) while the
   * system runs: every other node is out of reach; they leave (reason 'down'), and calls to them fail.
   */
  connectionLost(logger: Logger, lease?: { lost(): void }): void {
    if (this.#closed !== null) return; // a close of this node's own
    logger.error('cluster: the NATS connection is closed for good: every other node is out of reach');
    lease?.lost(); // its entity shards cannot be held either
    this.#gateway.connectionLost();
    for (const member of this.#membership.lost()) {
      this.#gateway.nodeGone(member.id);
      this.emit('leave', member, 'down');
    }
  }

  /** The nodes in the cluster now, this one among them (`self: true`). */
  members(): ClusterMember[] {
    return this.#membership.members();
  }

  /** The live node named `name`, if any. */
  member(name: string): ClusterMember | undefined {
    return this.#membership.byName(name);
  }

  /**
   * @internal The actor registered (system.register) as `name` on the other nodes (or only on
   * `node`): asked of all at once, the first member (in members() order) that has it wins.
   */
  async find(name: string, node?: string): Promise<ActorRefImpl | undefined> {
    const members = this.#membership.members().filter((m) => !m.self && (node === undefined || m.name === node));
    const found = await Promise.all(members.map((m) => this.#gateway.lookupOn(m, name)));
    return found.find((ref) => ref !== null) ?? undefined;
  }

  /**
   * @internal For placement 'cluster': the member with the fewest live actors per thread. Every
   * member's count (this node's too) is the one its last heartbeat wrote; the actors this node
   * placed on it since are added, so that a burst of starts between two heartbeats spreads. When
   * a new count is heard, what this node placed within the heartbeat before is still added (it
   * may not have been counted yet).
   */
  pick(): ClusterMember {
    const now = performance.now();
    let best: ClusterMember | null = null;
    let bestLoad = Infinity;
    for (const member of this.#membership.members()) {
      let placed = this.#placed.get(member.id);
      if (placed === undefined || placed.heard !== member.actors) {
        const recent = placed === undefined ? [] : placed.at.filter((t) => t > now - this.#heartbeatMs);
        this.#placed.set(member.id, (placed = { heard: member.actors, at: recent }));
      }
      const load = (member.actors + placed.at.length) / Math.max(1, member.threads);
      if (load < bestLoad || (load === bestLoad && Math.random() < 0.5)) {
        best = member;
        bestLoad = load;
      }
    }
    this.#placed.get(best!.id)!.at.push(now);
    return best!;
  }

  /** @internal Whether a pool of this node serves `name`. */
  serves(name: string): boolean {
    return this.#gateway.services.serves(name);
  }

  /** @internal A pool of this node serves the cluster under `name`. */
  serve(name: string, pool: ServedPool): void {
    this.#gateway.services.serve(name, pool);
  }

  /** @internal Resolves once what NATS had routed to this pool was taken. */
  unserve(name: string, pool: ServedPool): Promise<void> {
    return this.#gateway.services.unserve(name, pool);
  }

  /**
   * @internal At the start of a shutdown: this node's pools serve no more (what was routed here
   * is taken first), and its entity shards go to the other nodes (each once its activations here
   * have stopped).
   */
  async stopServing(timeoutMs: number): Promise<void> {
    // Each shard's hand-over is a write to NATS: bounded too (a NATS cluster without a quorum answers none).
    let timer: NodeJS.Timeout | undefined;
    const handedOver = Promise.race([this.#entities.leave().catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    await Promise.all([this.#gateway.services.close(timeoutMs), handedOver]);
    clearTimeout(timer);
  }

  /** @internal system.start with placement { node }: the actor starts there; resolves with its ref. */
  startOn(node: string, definition: AnyDefinition, args: unknown, options: SpawnOptions): Promise<ActorRefImpl> {
    const member = this.#membership.byName(node);
    if (member === undefined) return Promise.reject(invalid('options.placement.node', `a node of the cluster (${this.#membership.members().map((m) => m.name).join(', ')})`, node));
    return this.#gateway.spawnOn(member, definition, args, options);
  }

  /** @internal Leaves the cluster: what was sent is handed over first (up to timeoutMs), then the others see this node leave. */
  close(timeoutMs: number): Promise<void> {
    this.#closed ??= (async () => {
      this.#entities.close();
      await this.#gateway.close(timeoutMs);
      await this.#membership.leave();
      await this.#nc.drain().catch(() => this.#nc.close());
    })();
    return this.#closed;
  }
}

/** Connects, starts reading this node's inbox, then joins: resolves once the members present are known. */
export async function joinCluster(options: ResolvedCluster, node: ActorNode, threads: number, logger: Logger, load: () => number): Promise<Cluster> {
  const nats = await loadNats();
  let nc: NatsConnection;
  try {
    nc = await nats.connect({ ...options.connection, servers: [...options.servers], name: `troupe:${options.name}` });
  } catch (error) {
    throw new ActorInitializationError(`could not connect to NATS at ${options.servers.join(', ')}: ${(error as Error).message}`, { cause: error });
  }
  try {
    const gateway = new Gateway(node, nc, options.namespace, options.name, logger, options.definitions);
    node.crossNode = gateway;
    const entities = new EntityRouter(gateway, node, node.shardMap!, { id: node.systemId, name: options.name }, options.definitions, logger);
    gateway.entities = entities;
    gateway.listen();
    const kv = await nats.bucket(nc, `${options.namespace}-members`, options.downAfterMs, options.replicas);
    const membership = new Membership(kv, { id: node.systemId, name: options.name, threads, protocol: PROTOCOL }, options.heartbeatMs, logger, load);
    const lease = new ShardLease(node.shardMap!, () => entities.directory, options.downAfterMs, logger);
    membership.onBeat = (sentAt) => lease.beat(sentAt);
    const cluster = new Cluster(options, nc, membership, gateway, node.systemId, entities);
    node.names.elsewhere = (name) => cluster.find(name);
    // Asks waiting on a node are checked at each heartbeat: one that died fails them then.
    const probe = setInterval(() => {
      gateway.probe();
      lease.check();
      entities.rebalance();
    }, options.heartbeatMs);
    probe.unref();
    let joined = false;
    void nc.closed().then(() => {
      clearInterval(probe);
      if (joined) cluster.connectionLost(logger, lease); // not a join that failed (closed below)
    });
    await membership.start();
    // The members are known: the shards this node should hold are claimed (in a bucket of their own, no TTL).
    entities.start(
      () => nats.bucket(nc, `${options.namespace}-shards`, 0, options.replicas),
      () => membership.members().map((m) => ({ id: m.id, name: m.name })),
    );
    joined = true;
    return cluster;
  } catch (error) {
    await nc.close();
    throw error instanceof ActorInitializationError ? error : new ActorInitializationError(`could not join the cluster: ${(error as Error).message}`, { cause: error });
  }
}
