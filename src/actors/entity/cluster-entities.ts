// A thread's entities in a cluster: refs route by shard (entity-routing.ts), keys live where their
// shard's node is (entity-shards.ts), and the store is the one the nodes share in NATS, opened on
// this thread at its first shard (cluster/shared-entity-store.ts, loaded only then). An arrival
// whose shard has left this node goes on through main, and its outcome comes back to its sender.

import type { ClusterStoreConfig } from '../cluster-options.js';
import type { RefHost } from '../actor-ref.js';
import { Envelope, EnvelopeKind } from '../cell/envelope.js';
import type { Cell } from '../cell/cell.js';
import type { CrossNodePort } from '../node/cross-node.js';
import type { ControlRecord } from '../node/wire.js';
import type { MessageOptions, SendResult } from '../types.js';
import type { ThreadRuntime } from '../../runtime/thread-runtime.js';
import type { Entities, Forward } from './entities.js';
import { homeOf } from './entity-ids.js';
import { EntityRouting } from './entity-routing.js';
import { EntityShards, type ShardedStore } from './entity-shards.js';
import { ShardMap } from './shard-map.js';

/** What a thread is given to take part in a cluster's entities. */
export interface ClusterEntitiesBoot {
  /** The shard map's shared memory (shard-map.ts), written by main. */
  readonly map: SharedArrayBuffer;
  readonly store: ClusterStoreConfig;
}

export interface ClusterEntityHost extends RefHost {
  readonly self: number;
  readonly workers: number;
  readonly runtime: ThreadRuntime;
  readonly crossNode: CrossNodePort;
  readonly entities: Entities;
  readonly outcomes: { reply(env: Envelope, value: unknown): void; replyError(env: Envelope, error: Error): void };
  current: Cell | null;
  control(thread: number, record: ControlRecord): void;
}

export function joinClusterEntities(host: ClusterEntityHost, boot: ClusterEntitiesBoot): ShardMap {
  const map = new ShardMap(boot.map);
  const routing = new EntityRouting(host, map, (address, type, payload, trace) => host.entities.hold(host.current, address, type, payload, trace));
  const open = async (): Promise<ShardedStore> => {
    const { openSharedStore } = await import('../../cluster/shared-entity-store.js');
    return openSharedStore(boot.store, (name, key) => homeOf(name, key, host.workers) === host.self, () => map.held());
  };
  const forward: Forward = (address, a, receipt) => {
    // Main carries it on from here: it leaves this thread's custody.
    if (a.custody !== 0) host.runtime.custody?.done(a.custody);
    const options: MessageOptions | undefined = a.messageId === undefined && a.trace === undefined ? undefined : { ...(a.messageId === undefined ? {} : { messageId: a.messageId }), ...(a.trace === undefined ? {} : { trace: a.trace }) };
    const source = a.source ?? null;
    try {
      if (a.kind === EnvelopeKind.Ask) {
        const env = new Envelope(EnvelopeKind.Ask, a.type, a.payload, a.senderThread, a.senderKey, a.corr, 0);
        host.crossNode.entity(address, 'ask', a.type, a.payload, options, source)!.then(
          (value) => host.outcomes.reply(env, value),
          (error: Error) => host.outcomes.replyError(env, error),
        );
      } else if (receipt !== null) {
        host.crossNode.entity(address, 'send', a.type, a.payload, options, source)!.then(
          (result) => receipt(null, (result as SendResult | undefined)?.duplicate === true),
          (error: Error) => receipt(error, false),
        );
      } else {
        void host.crossNode.entity(address, 'tell', a.type, a.payload, options, source);
      }
    } catch (error) {
      receipt?.(error as Error, false);
    }
  };
  host.entities.useCluster(new EntityShards(map, open), routing, forward);
  // A worker that starts late (a replacement of one that died) has missed the shards its node took.
  if (host.self !== 0) queueMicrotask(() => host.control(0, ['shards-want'])); // once the host is built
  return map;
}
