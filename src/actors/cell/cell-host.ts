// The contract between a cell and the host of its thread: what a cell (cell.ts) and the face its
// handlers see (context.ts) use of the node (node.ts), which provides it. Neither side imports
// the other's internals, and each can be read against this page alone.

import type { MailboxBounds } from '../../runtime/bounds-table.js';
import type { Clock } from '../../runtime/clock.js';
import type { ThreadRuntime } from '../../runtime/thread-runtime.js';
import type { ActorRefImpl } from '../actor-ref.js';
import type { CrossNodePort } from '../node/cross-node.js';
import type { Envelope } from './envelope.js';
import type { MailboxWait } from './mailbox-wait.js';
import type { PoolHost } from '../pool.js';
import type { ActorContext, AnyDefinition, DeadLetterReason, ExitReason, MessageOptions, SpawnOptions } from '../types.js';
import type { AnyEntityDefinition } from '../types.js';

/** Outcomes of messages, as a cell reports them (outcomes.ts). */
export interface MessageOutcomes<C = unknown> {
  handledTells(n: number): void;
  handled(env: Envelope, result: unknown): void;
  /** Ack mode: acknowledged by ctx.ack() or its handle (its answer, if an ask, comes separately). */
  acked(env: Envelope): void;
  failed(cell: C, env: Envelope, error: Error): void;
  unhandled(cell: C, env: Envelope): void;
  duplicate(env: Envelope): void;
  stashOverflow(cell: C, env: Envelope): void;
  evicted(cell: C, env: Envelope): void;
  attemptFailed(): void;
  maxDeliveries(cell: C, env: Envelope, error: Error, attempts: number): void;
  deliveryTerminated(cell: C, env: Envelope): void;
  reply(env: Envelope, value: unknown): void;
  replyFailure(cell: C, env: Envelope, error: Error): void;
}

/**
 * What a cell needs of the host of its thread (node.ts). `C` is the cell (cell.ts), named by a
 * type parameter so that this file and the cell's do not import each other.
 */
export interface CellHost<C> extends PoolHost {
  readonly self: number;
  readonly clock: Clock;
  readonly runtime: ThreadRuntime;
  readonly bounds: MailboxBounds;
  /** The cell whose handler runs now: the sender of what is sent meanwhile. */
  current: C | null;
  /** Async handlers in flight on this thread (at-most-once), for a forced stop's books. */
  inFlight: number;
  readonly stopReason: DeadLetterReason;
  idOf(key: number): string;
  refFor(thread: number, key: number): ActorRefImpl;
  newContext(cell: C): ActorContext<unknown>;
  // lifecycle
  spawn(definition: AnyDefinition, args: unknown, options: SpawnOptions | undefined, parent: C | null, routeeOf?: readonly [number, number] | null): ActorRefImpl;
  start(definition: AnyDefinition, args: unknown, options: SpawnOptions | undefined, parent: C | null): Promise<ActorRefImpl>;
  stopRef(ref: ActorRefImpl, graceful?: boolean, kill?: boolean): Promise<void>;
  stopCell(cell: C, reason: 'normal' | 'failed' | 'shutdown' | 'killed'): Promise<void>;
  stopChildren(cell: C): Promise<void>;
  startFailed(cell: C, error: Error): void;
  // the host's rooms a cell and its ctx reach (death-watch.ts, links.ts, topics.ts, supervision/across-threads.ts)
  readonly deathWatch: PoolHost['deathWatch'] & { watch(cell: C, ref: ActorRefImpl): void; unwatch(cell: C, ref: ActorRefImpl): void };
  readonly links: { link(cell: C, ref: ActorRefImpl): void; unlink(cell: C, ref: ActorRefImpl): void; signal(cell: C, reason: ExitReason): void };
  readonly topics: {
    publish(topic: string, type: string, payload: unknown, options: MessageOptions | undefined): number;
    subscribe(topic: string, ref: ActorRefImpl, group: string | undefined): void;
    unsubscribe(topic: string, ref: ActorRefImpl, group: string | undefined): void;
  };
  readonly supervision: { reportFailure(child: C, error: Error, normalExit?: boolean): void };
  offload(url: string, input: unknown, name?: string): Promise<unknown>;
  /** Registered names (node/names.ts). */
  readonly names: { lookup(name: string): Promise<ActorRefImpl | undefined> };
  /** The system is a node of a cluster; calls to other nodes go through this (node/cross-node.ts). */
  readonly clustered: boolean;
  readonly crossNode: CrossNodePort;
  /** Refs to entities by key (entity/entities.ts). */
  readonly entities: { ref(definition: AnyEntityDefinition, key: string, name?: string): ActorRefImpl };
  timerFired(cell: C, type: string, payload: unknown): void;
  /** What becomes of each message: counted, answered, or a dead letter. */
  readonly outcomes: MessageOutcomes<C>;
  /** Times the wait of one message in 1024, from its arrival in a mailbox to its handler starting. */
  readonly mailboxWait: MailboxWait;
  seen(cell: C, id: string, at: number): void;
  /** Copies of ack-mode tells (keepCopies), and pools' hand-backs (recovery/handover.ts). */
  readonly handover: PoolHost['handover'] & { replicates(key: number): boolean; held(cell: C, env: Envelope, seq: number): void; settled(cell: C, seq: number): void };
}
