// A ref to an actor on another node of a cluster: the same ActorRef (tell, send, ask), its host the
// part of this thread that carries messages to other nodes (node/cross-node.ts on a worker, the
// cluster's gateway on main). It names the actor's system (one per process start, so a node that
// restarts is a new one and old refs cannot reach its new actors) and that node's name.

import { registerWireClass } from '../runtime/codec.js';
import { invalid } from '../validate.js';
import { ActorRefImpl, checkRef, readRef, type RefHost, type WireRef } from './actor-ref.js';

export class RemoteRefImpl extends ActorRefImpl {
  /** The id of the actor's system (its node's incarnation). */
  readonly systemId: string;
  /** Its node's name. */
  readonly nodeName: string;

  constructor(host: RefHost, systemId: string, nodeName: string, thread: number, key: number) {
    super(host, thread, key);
    this.systemId = systemId;
    this.nodeName = nodeName;
  }

  override get id(): string {
    return `${this.systemId}.${this.key.toString(36)}`;
  }

  override toString(): string {
    return `ActorRef(${this.describe()}@${this.nodeName}:${this.thread})`;
  }

  override toJSON(): { id: string; thread: number; node: string } {
    return { id: this.id, thread: this.thread, node: this.nodeName };
  }
}

export function isRemoteRef(ref: ActorRefImpl): ref is RemoteRefImpl {
  return ref instanceof RemoteRefImpl;
}

/**
 * checkRef, for what works on this node's actors only so far (move, link, a topic's subscribers): a ref to another node's actor is refused with a typed error, never
 * taken for a local actor of the same number.
 */
export function checkLocalRef(ref: unknown, name: string): asserts ref is ActorRefImpl {
  checkRef(ref, name);
  if (ref instanceof RemoteRefImpl) throw invalid(name, `an actor of this node (${ref.describe()} is on node ${ref.nodeName}; not across nodes yet)`, ref.id);
}

// Read as any ref in its long form: a ref that comes home becomes a local one again.
registerWireClass<ActorRefImpl>(RemoteRefImpl, 0x43, (ref): WireRef => {
  const remote = ref as RemoteRefImpl;
  return [remote.thread, remote.key, remote.name ?? null, remote.systemId, remote.nodeName];
}, readRef);
