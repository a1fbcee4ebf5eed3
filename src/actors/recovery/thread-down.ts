// A thread died: what every other thread does about it. Asks waiting on its actors reject now
// (not at their timeout), actors linked to them get their exit, and actors here whose parent was
// there stop. With a replacement, what this thread sent there and was never read stays in the
// ring for it, except what cannot be delivered any more (dead letters, 'thread-crash'); watches
// of its actors are made again there; and each of its actors that this thread spawned is
// restarted there or declared gone, as its supervisor decides; the actors here that it made (its
// spawn records of them died with it) are handed to the replacement to keep. Without one, the
// thread is gone for good: nothing more is sent to it, and what it was sent and never read
// becomes dead letters.

import type { MessagePort } from 'node:worker_threads';
import { ActorFailedError } from '../../errors.js';
import type { DeathNotice, PeerRecovery } from '../../runtime/control.js';
import type { Cell } from '../cell/cell.js';
import type { DeadLetters } from '../node/dead-letters.js';
import type { DeathWatch } from '../node/death-watch.js';
import { Envelope, EnvelopeKind } from '../cell/envelope.js';
import type { Links } from '../node/links.js';
import type { NodeCore } from '../node/node-core.js';
import type { RemoteSpawns } from './remote-spawns.js';
import { seqOf, spawnerOf, type SpawnRecord } from '../node/wire.js';
import { DEFAULT_POLICY } from '../policy.js';

/** What recovery needs of the host beyond the shared core. */
export interface RecoveryHost extends NodeCore {
  readonly deadLetters: DeadLetters;
  readonly deathWatch: DeathWatch;
  readonly links: Links;
  readonly remote: RemoteSpawns;
  readonly spawnSeq: number;
  markDead(thread: number): void;
  stopCell(cell: Cell, reason: 'shutdown'): Promise<void>;
  lateReply(env: Envelope, value: unknown): void;
  /** Moves to the dead thread that had not landed (node/moves.ts) fail. */
  readonly moves: { threadGone(thread: number): void };
  /** Fences waiting for answers (node/fences.ts): the dead thread's will not come. */
  readonly fences: { threadGone(): void };
}

/** Returns what a replacement needs from this thread (null without one, or if already handled). */
export function threadDown(
  node: RecoveryHost,
  thread: number,
  death: DeathNotice,
  ports: { bigOut: MessagePort; bigIn: MessagePort } | null = null,
): PeerRecovery | null {
  if (node.isDead(thread) || thread === node.self) return null;
  // Everything the dead thread wrote here first (its last copies, reports and messages).
  node.runtime.drainFrom(thread);
  const cause = Object.assign(new Error(death.message), { kind: death.kind, code: death.code });
  node.asks.rejectThread(thread, (what) => new ActorFailedError(`ask ${what} failed: its thread died`, { cause }));
  node.moves.threadGone(thread);
  node.fences.threadGone();
  for (const cell of node.cells.values()) {
    node.links.threadDied(cell, thread);
    // Its parent died there: a child does not outlive its supervisor.
    if (cell.parentThread === thread && cell.parentKey !== 0) void node.stopCell(cell, 'shutdown');
  }
  if (ports === null) {
    node.markDead(thread);
    if (node.self === 0) node.bounds.freeHostedBy(thread);
    node.deathWatch.threadGone(thread);
    node.remote.forgetThread(thread);
    const { lost, inRing } = node.runtime.abandon(thread);
    node.deadLetters.threadCrash(thread, lost, inRing);
    return null;
  }
  const { join, lost, inRing, replies } = node.runtime.recover(thread, ports.bigOut, ports.bigIn);
  node.deadLetters.threadCrash(thread, lost, inRing);
  // Answers to asks made by actors that died there: late replies.
  for (let n = 0; n < replies; n++) node.lateReply(new Envelope(EnvelopeKind.Ask, 'ask', undefined, thread, 0, 0), undefined);
  // A restarted actor keeps its watchers; one that is not restarted ends their watch there.
  node.deathWatch.rewatch(thread);
  // What it made that lives here: its replacement keeps their spawn records from now on.
  const adopted = madeBy(node, thread);
  for (let at = 0; at < adopted.length; at += ADOPT_CHUNK) node.control(thread, ['adopt', adopted.slice(at, at + ADOPT_CHUNK)]);
  return { join, replicas: node.remote.replicaCount(thread), pending: node.remote.orphan(thread, cause), spawnSeq: node.spawnSeq };
}

/** Spawn records per 'adopt' record. */
const ADOPT_CHUNK = 256;

/**
 * The actors here that `thread` made (placed here, or moved here since) and that live on: their
 * spawn records died with it, and its replacement keeps them from now on, so that they are
 * restarted or declared gone if this thread dies in turn. A child whose parent was there stops.
 */
function madeBy(node: RecoveryHost, thread: number): [number, SpawnRecord][] {
  const adopted: [number, SpawnRecord][] = [];
  for (const cell of node.cells.values()) {
    const definition = cell.definition;
    if (spawnerOf(cell.key) !== thread || cell.ending || definition === null || (cell.parentKey !== 0 && cell.parentThread === thread)) continue;
    adopted.push([cell.key, node.remote.record(definition.moduleUrl, definition.name, cell.args, cell.parentThread, cell.parentKey, cell.policy === DEFAULT_POLICY ? null : cell.policy)]);
  }
  return adopted;
}

/** A replacement thread: its predecessor's actor `key` is not restarted (its spawner said so). */
export function predecessorGone(node: RecoveryHost, key: number): void {
  const held = node.arrivals.gone(key);
  if (held === null) return;
  node.liveness.markGone(spawnerOf(key), seqOf(key));
  if (held.messages !== undefined) {
    for (const env of held.messages) {
      node.arrivals.interrupted.delete(env);
      node.deadLetter(env, key, 'thread-crash');
    }
  }
  if (held.watchers !== undefined) for (const [watcherKey, watcherThread] of held.watchers) node.control(watcherThread, ['terminated', key, watcherKey, 'thread-exit']);
}
