// What the fields of a ring record mean between two actor hosts: how an actor key is made, the
// flags carried in a record's priority byte, and the control records that hosts exchange.
// Shared by every part of a host that reads or writes records; imports nothing of the model.

import type { WireError } from '../../errors.js';
import type { EntityAddress } from '../entity/entity-ref.js';
import type { ActorRefImpl } from '../actor-ref.js';
import type { TimerData } from '../cell/timers.js';
import type { DeathNotice } from '../../runtime/control.js';
import type { LogLevel } from '../logger.js';
import type { ActorPolicy } from '../policy.js';
import type { DeadLetter, ExitReason, MessageOptions, RestartType } from '../types.js';

/** Actor keys: seq * KEY_SPAN + the spawning thread, so a thread can tell "not yet spawned" from "gone". */
export const KEY_SPAN = 1024;

/** The thread that spawned the actor with this key. */
export function spawnerOf(key: number): number {
  return key % KEY_SPAN;
}

/** The spawning thread's sequence number of the actor with this key. */
export function seqOf(key: number): number {
  return Math.floor(key / KEY_SPAN);
}

/** In a record's priority byte: the payload is [messageId, payload]. */
export const WIRE_MESSAGE_ID = 0x80;
/** In a record's priority byte (with WIRE_MESSAGE_ID): answer with a receipt, corr = its id (K6). */
export const WIRE_RECEIPT = 0x40;
/** In a record's priority byte: the payload is [trace, payload] (outermost of these wrappings; trace.ts). */
export const WIRE_TRACE = 0x10;
/** In a record's priority byte: the payload is [entity address, payload]; the target is found by the address (entity/entities.ts). */
export const WIRE_ENTITY = 0x08;
/** In a record's priority byte: a redelivery; the payload is [attempt, messageId | null, senderThread, payload]. */
export const WIRE_REDELIVERY = 0x20;

/** A message a stopped pool member left unhandled: type, payload, priority, messageId, next attempt, sender thread and key, trace. */
export type Returned = [type: string, payload: unknown, priority: number, messageId: string | null, attempt: number, senderThread: number, senderKey: number, trace?: string];

/** A copy of an ack-mode tell its host holds: type, payload, priority, messageId, sender thread and key, trace. */
export type Replica = [type: string, payload: unknown, priority: number, messageId: string | null, senderThread: number, senderKey: number, trace?: string];

/** Per actor: its key, tells it now holds (numbered copies), [from, to] ranges of numbers it finished with, and whether it stopped (all finished). */
export type ReplicaBatch = [key: number, held: [number, ...Replica][], done: number[], stopped: boolean];

/** What a spawn record carries: the definition by module and name, its args, its parent, its policy. */
export type SpawnRecord = [
  moduleUrl: string,
  name: string,
  args: unknown,
  parentThread: number,
  parentKey: number,
  policy: ActorPolicy | null,
  /** A restart after its thread died: the message ids it had seen, with when (dedup, K7). */
  seen?: [string, number][],
];

/** A message queued for an actor that moves: kind, type, payload, sender thread and key, ask correlation id, priority (with quiet), messageId, trace. */
export type MovedMessage = [kind: number, type: string, payload: unknown, senderThread: number, senderKey: number, corr: number, priority: number, messageId: string | null, trace: string | null];

/** An actor on its way to another thread (node/moves.ts): what it is, what it holds, who watches it. */
export type MoveRecord = [
  key: number,
  moduleUrl: string,
  name: string,
  args: unknown,
  policy: ActorPolicy | null,
  state: unknown,
  timers: TimerData[],
  nextTimer: number,
  watchers: [watcherKey: number, watcherThread: number][],
  watching: ActorRefImpl[],
  handled: number,
  failed: number,
  restarts: number[] | null,
  moves: number,
  links: ActorRefImpl[],
  trapExit: boolean,
  /** Its parent's key (0: none); a child moves with its parent, so its parent lives where it arrives. */
  parentKey: number,
  /** Its children, oldest first: they move with it, in the same round (node/moves.ts). */
  children: number[],
  /** As a supervisor: when the restarts in its window happened. */
  supervisorRestarts: readonly number[] | null,
  /** Spawned with a delivery option: the message ids its dedup table holds, [id, when]. */
  seen: [string, number][] | null,
];

/** Control records: notices between the hosts of two threads, in ring order. */
/** What of a call's options crosses to another node (an AbortSignal stays with its caller). */
export interface WireOptions {
  readonly priority?: MessageOptions['priority'];
  readonly messageId?: string;
  readonly trace?: string;
  readonly timeoutMs?: number;
  /** A message from an entity's outbox: its source key and number there (entity/outbox.ts). */
  readonly source?: readonly [sourceId: string, outSeq: number];
}

/** A call that a worker hands to main for another node: tell, or ask / send with its correlation id. */
export type CrossNodeCall = readonly [kind: 'tell' | 'ask' | 'send' | 'stop', corr: number, ref: ActorRefImpl, type: string, payload: unknown, options: WireOptions | null];

/** How an actor of another node is stopped: as stop(), stop({ graceful }), kill(). */
export type StopMode = 'stop' | 'graceful' | 'kill';

export type ControlRecord =
  | ['dl', DeadLetter]
  | ['diag', number, unknown] // a diagnostics event: its channel's bit, its payload (errors as WireError), to the main thread
  | ['log', LogLevel, string] // a line for the logger, to the main thread
  | ['child-stopped', number, number, number]
  | ['thread-down', number, DeathNotice]
  | ['watch', number, number] // target key, watcher key (the watcher's thread sent it)
  | ['unwatch', number, number]
  | ['terminated', number, number, ExitReason] // target key, watcher key (the target's thread sent it)
  | ['sub', string, number, number, string | null] // topic, subscriber thread, subscriber key, group
  | ['unsub', string, number, number, string | null]
  | ['unsub-all', number] // an actor that stopped: out of every topic and group
  | ['link', number, number] // target key, peer key (the peer's thread sent it)
  | ['unlink', number, number]
  | ['exit', number, number, ExitReason] // linked key, exited key (the exited one's thread sent it)
  | ['child-failed', number, number, WireError, RestartType, boolean] // parent key, child key, error, type, normal exit (the child's thread sent it)
  | ['gone', number] // an actor of a thread that died, not restarted (its spawner's thread sent it)
  | ['seen', number, string, number] // key, a message id it took, when (its host's thread sent it, to its spawner)
  | ['lookup', string, number] // a registered name, the asker's correlation id (to the main thread)
  | ['stop-all', number[], number, boolean, number] // keys to stop one at a time in this order, each allowed ms, whether each handles what it holds first, correlation id (answered: how many overran)
  | ['stop-work', number[], number] // keys, correlation id (answered: those whose stop has work to do, stop-all.ts)
  | ['returned', number, number, Returned[]] // pool id, the stopped member's key, what it left (its thread sent it, to the pool's)
  | ['replicas', ReplicaBatch[]] // copies of ack-mode tells, per actor (its host's thread sent it, to its spawner)
  | ['move', number, number, number] // key, the thread to move it to, correlation id (to its host; answered once it runs there)
  | ['fence', number] // id (answered by 'fenced' once read: everything before it in that ring was taken; fences.ts)
  | ['fenced', number] // id
  | ['move-in', MoveRecord] // an actor that moves here (its old host sent it); its queued messages follow
  | ['move-msgs', number, MovedMessage[], boolean] // key, messages queued for it, in order; the last record says so
  | ['move-watchers', number, [number, number][]] // key, watchers (key, thread) of an actor whose move did not happen
  | ['move-links', number, [number, number][]] // key, links (peer key, thread) made with an actor whose move did not happen
  | ['move-off', number, boolean] // key, back: a move here that did not happen (the actor stopped first; back: it stays where it was)
  | ['move-landed', number] // key: the actor that moved from the receiving thread runs on the sender's now
  | ['moved', number, number, number] // key, the thread it lives on now, its move count (to its spawner)
  | ['adopt', [number, SpawnRecord][]] // (key, spawn record) of actors the sender hosts that the receiver's predecessor made: kept there from now on
  | ['plan-sample', number] // correlation id: the planner asks for what was sampled (answered with a TrafficReport; sampling starts)
  | ['plan-off'] // the planner stopped or rests: nothing more is sampled until the next plan-sample
  | ['xn-call', CrossNodeCall] // a worker's call to an actor on another node (to main, whose cluster gateway carries it)
  | ['xn-answer', number, boolean, unknown] // correlation id, ok, the value or a WireError: the outcome of a worker's ask or send to another node
  | ['xn-watch', ActorRefImpl, number, number, boolean] // an actor on another node, the watcher's key, its alias there, watch (true) or unwatch: a worker's watch, to main
  | ['xn-terminated', number, number, ExitReason] // watcher key, the alias of the actor on another node it watched, why that ended (main to the watcher's thread)
  | ['xn-publish', string, string, unknown, WireOptions | null] // topic, type, payload, options: a worker's publish, for the other nodes and the groups (to main)
  | ['xn-service', number, string, 'tell' | 'ask' | 'send', string, unknown, WireOptions | null] // correlation id (0: a tell), service name, kind, type, payload, options: a worker's call to a service (to main)
  | ['xn-entity', number, EntityAddress, 'tell' | 'ask' | 'send', string, unknown, WireOptions | null] // correlation id (0: a tell), address, kind, type, payload, options: a worker's call to an entity whose shard is not on this node (to main)
  | ['shards', 'acquire' | 'release', number[], [name: string, moduleUrl: string][], number] // entity shards this node took or gives up, the entity modules main knows, correlation id (main to every worker; answered by 'shards-done')
  | ['shards-done', number] // correlation id: a worker read the shards it took, or let go of those it gave up
  | ['shards-want']; // a worker that starts (a replacement among them) asks main for the shards its node holds
