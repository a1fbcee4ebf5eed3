// What the rooms of one thread's actor host share: the host itself (node.ts) implements this,
// and each room (dead letters, death watch, links, topics, sends, inbound records) holds it.
// Rooms take each other's types at most, never each other's code; the node, which builds and
// wires them all, is imported by none of them.

import type { MailboxBounds } from '../../runtime/bounds-table.js';
import type { Clock } from '../../runtime/clock.js';
import type { Liveness } from '../../runtime/liveness.js';
import type { ThreadRuntime } from '../../runtime/thread-runtime.js';
import type { ActorRefImpl } from '../actor-ref.js';
import type { Arrivals } from './arrivals.js';
import type { CrossNodePort } from './cross-node.js';
import type { AskTable } from './ask.js';
import type { Cell } from '../cell/cell.js';
import type { IntMap } from '../../runtime/int-map.js';
import type { Envelope } from '../cell/envelope.js';
import type { DeadLetterReason, MessageOptions, SendResult } from '../types.js';
import type { RecordWriter } from './records.js';
import type { ControlRecord } from './wire.js';
import type { EntityAddress } from '../entity/entity-ref.js';

export interface NodeCore {
  readonly self: number;
  readonly threadCount: number;
  readonly runtime: ThreadRuntime;
  /** Writes this thread's records into other threads' rings, each kind by name. */
  readonly records: RecordWriter;
  readonly clock: Clock;
  readonly asks: AskTable;
  readonly bounds: MailboxBounds;
  /** Which actors are gone, on every thread (runtime/liveness.ts). */
  readonly liveness: Liveness;
  /** The cells hosted on this thread, by key. */
  readonly cells: IntMap<Cell>;
  /** What arrives for actors before their spawn record, and a replacement's predecessor's actors. */
  readonly arrivals: Arrivals;
  /** The cell whose handler is running right now (the sender of what it sends). */
  current: Cell | null;
  /** Why messages die when their actor stops ('shutdown' during a shutdown). */
  readonly stopReason: DeadLetterReason;
  readonly askTimeoutMs: number;
  /** The host of refs to actors on other nodes (cross-node.ts). */
  readonly crossNode: CrossNodePort;
  /** Threads that died for good, or are between a death and their replacement. */
  isDead(thread: number): boolean;
  idOf(key: number): string;
  refFor(thread: number, key: number): ActorRefImpl;
  /** A control notice to another thread; a dead thread gets none (nothing there can act on it). */
  control(thread: number, record: ControlRecord): void;
  /**
   * Refuses a message from here to `ref` (shutdown, a dead thread, a congested ring) by throwing;
   * follows a move (the ref learns where its actor lives now): false when that is this thread.
   */
  admit(ref: ActorRefImpl): boolean;
  /** Where the actor behind `ref` lives now (it may have moved, moves.ts); the ref learns it. */
  locate(ref: ActorRefImpl): number;
  /**
   * Calls `then` once where the actor behind `ref` lives is settled: at once, unless it is on its
   * way to another thread (a move's fence), which may yet be undone; then when it has left or stayed.
   */
  whenPlaced(ref: ActorRefImpl, then: () => void): void;
  /** The thread the actor `key` lives on now, given the one last known (it may have moved). */
  whereIs(known: number, key: number): number;
  /** True while the actor `key` is live where it was spawned (never moved, not gone): one load. */
  unmoved(key: number): boolean;
  /** True while the actor `key` is on its way here (it moved here and has not arrived). */
  expecting(key: number): boolean;
  tell(ref: ActorRefImpl, type: string, payload: unknown, options: MessageOptions | undefined, receipt?: number): void;
  /** Entities: what an entity's handler sends to entities is held for its commit (entity/outbox.ts). */
  readonly entities: { hold(sender: Cell | null, address: EntityAddress, type: string, payload: unknown, trace: string | undefined): boolean };
  /** Main's messages to entities, stored by main itself (entity-posts.ts): whether it posts, and a send's result for its last post. */
  readonly posts: { readonly active: boolean; lastSent(): Promise<SendResult> };
  /** An accepted message that will not be handled: one dead letter, and its ask is answered. */
  deadLetter(env: Envelope, recipientKey: number, reason: DeadLetterReason, error?: Error, deliveryCount?: number): void;
}
