// Control records from another thread, each handed to the room it is for. One switch over the
// ControlRecord union (wire.ts), so that every notice a host can receive is listed in one place.

import type { DeathNotice, PeerRecovery } from '../../runtime/control.js';
import { STAT_RING_IN } from '../../runtime/layout.js';
import type { DeadLetters } from './dead-letters.js';
import type { DeathWatch } from './death-watch.js';
import type { DiagnosticsRelay } from './diagnostics-relay.js';
import type { CrossNodePort } from './cross-node.js';
import type { Links } from './links.js';
import type { Fences } from './fences.js';
import type { Moves } from './moves.js';
import type { TrafficSampler } from './traffic-sample.js';
import type { Names } from './names.js';
import type { NodeCore } from './node-core.js';
import type { Handover } from '../recovery/handover.js';
import type { RemoteSpawns } from '../recovery/remote-spawns.js';
import type { SupervisionWire } from '../supervision/across-threads.js';
import { withWork } from './stop-all.js';
import type { Topics } from './topics.js';
import type { ControlRecord } from './wire.js';
import type { AskOptions, MessageOptions } from '../types.js';
import { answerRecord } from './cross-node.js';

/** The rooms a control record can be for. */
export interface ControlHost extends NodeCore {
  readonly deadLetters: DeadLetters;
  readonly diagnostics: DiagnosticsRelay;
  readonly deathWatch: DeathWatch;
  readonly links: Links;
  readonly topics: Topics;
  readonly supervision: SupervisionWire;
  readonly remote: RemoteSpawns;
  readonly handover: Handover;
  readonly names: Names;
  readonly moves: Moves;
  readonly fences: Fences;
  readonly sampler: TrafficSampler;
  readonly crossNode: CrossNodePort;
  readonly entities: NodeCore['entities'] & { shardsChanged(op: 'acquire' | 'release', shards: readonly number[], modules: readonly (readonly [string, string])[]): Promise<void> };
  threadDown(thread: number, death: DeathNotice): PeerRecovery | null;
  predecessorGone(key: number): void;
  stopInOrder(keys: readonly number[], timeoutMs: number, handleHeld: boolean): Promise<number>;
  isDead(thread: number): boolean;
}

/** A call to or from another node: one that fails is reported, and the thread reads on. */
function crossNode(node: ControlHost, from: number, record: ControlRecord): void {
  try {
    switch (record[0]) {
      case 'xn-call':
        node.crossNode.fromWorker(from, record[1]);
        return;
      case 'xn-answer':
        node.crossNode.answered(record[1], record[2], record[3]);
        return;
      case 'xn-watch':
        node.crossNode.watch(record[1], from, record[2], record[3], record[4]);
        return;
      case 'xn-publish':
        node.crossNode.publish(record[1], record[2], record[3], (record[4] ?? undefined) as MessageOptions | undefined);
        return;
      case 'xn-terminated':
        node.deathWatch.remoteEnded(record[1], record[2], record[3]);
        return;
      case 'xn-service': {
        const [, corr, name, kind, type, payload, options] = record;
        const outcome = node.crossNode.service(name, kind, type, payload, (options ?? undefined) as AskOptions | undefined);
        outcome?.then(
          (value) => node.control(from, answerRecord(corr, true, value)),
          (error: unknown) => node.control(from, answerRecord(corr, false, error)),
        );
        return;
      }
      case 'xn-entity': {
        const [, corr, address, kind, type, payload, options] = record;
        const outcome = node.crossNode.entity(address, kind, type, payload, (options ?? undefined) as AskOptions | undefined, options?.source ?? null);
        outcome?.then(
          (value) => node.control(from, answerRecord(corr, true, value)),
          (error: unknown) => node.control(from, answerRecord(corr, false, error)),
        );
        return;
      }
      case 'shards-done':
        node.crossNode.shardsDone(from, record[1]);
        return;
      case 'shards-want':
        node.crossNode.shardsWanted(from);
        return;
      default:
        return;
    }
  } catch (error) {
    node.diagnostics.report('warn', `cluster: a call of thread ${from} to another node failed: ${(error as Error).message}`);
  }
}

export function dispatchControl(node: ControlHost, from: number, record: ControlRecord): void {
  switch (record[0]) {
    case 'xn-call':
    case 'xn-answer':
    case 'xn-watch':
    case 'xn-publish':
    case 'xn-service':
    case 'xn-entity':
    case 'shards-done':
    case 'shards-want':
    case 'xn-terminated':
      crossNode(node, from, record);
      return;
    case 'shards': {
      const [, op, shards, modules, corr] = record;
      node.entities.shardsChanged(op, shards, modules).then(
        () => node.control(from, ['shards-done', corr]),
        (error: unknown) => node.diagnostics.report('error', `cluster: entity shards could not be ${op === 'acquire' ? 'taken' : 'given up'}: ${(error as Error).message}`),
      );
      return;
    }
    case 'dl':
      node.deadLetters.toListeners(record[1]);
      return;
    case 'diag':
      node.diagnostics.received(record[1], record[2]);
      return;
    case 'log':
      node.diagnostics.report(record[1], record[2]);
      return;
    case 'thread-down':
      node.threadDown(record[1], record[2]);
      return;
    case 'child-failed':
      node.supervision.onChildFailed(from, record[1], record[2], record[3], record[4], record[5]);
      return;
    case 'child-stopped':
      node.supervision.onChildStopped(record[1], record[2], record[3]);
      return;
    case 'watch':
      node.deathWatch.onWatch(from, record[1], record[2]);
      return;
    case 'unwatch':
      node.deathWatch.onUnwatch(record[1], record[2]);
      return;
    case 'terminated':
      node.deathWatch.onTerminated(from, record[1], record[2], record[3]);
      return;
    case 'link':
      node.links.onLink(from, record[1], record[2]);
      return;
    case 'unlink':
      node.links.onUnlink(record[1], record[2]);
      return;
    case 'exit':
      node.links.onExit(from, record[1], record[2], record[3]);
      return;
    case 'sub':
      node.topics.onSubscribe(record[1], record[2], record[3], record[4]);
      return;
    case 'unsub':
      node.topics.onUnsubscribe(record[1], record[3], record[4]);
      return;
    case 'unsub-all':
      node.topics.onStopped(record[1]);
      return;
    case 'gone':
      node.predecessorGone(record[1]);
      return;
    case 'replicas':
      for (const [key, held, done, stopped] of record[1]) {
        node.remote.replicas(from, key, held, done);
        if (stopped) node.remote.replicasDone(from, key);
      }
      return;
    case 'returned':
      node.runtime.counters[STAT_RING_IN]! += record[3].length; // in this thread's custody now
      node.handover.reroute(record[1], record[2], record[3]);
      return;
    case 'seen':
      node.remote.seen(from, record[1], record[2], record[3]);
      return;
    case 'lookup':
      node.names.answer(from, record[1], record[2]);
      return;
    case 'stop-work':
      node.records.reply(from, 0, record[2], withWork(node, record[1]));
      return;
    case 'move':
      node.moves.onMoveRequest(from, record[1], record[2], record[3]);
      return;
    case 'fence':
      node.fences.onFence(from, record[1]);
      return;
    case 'fenced':
      node.fences.onFenced(record[1]);
      return;
    case 'move-in':
      node.moves.onMoveIn(record[1]);
      return;
    case 'move-msgs':
      node.moves.onMoveMsgs(from, record[1], record[2], record[3]);
      return;
    case 'move-watchers':
      node.moves.onMoveWatchers(record[1], record[2]);
      return;
    case 'move-links':
      node.moves.onMoveLinks(record[1], record[2]);
      return;
    case 'move-landed':
      node.moves.onLanded(record[1]);
      return;
    case 'move-off':
      node.moves.onMoveOff(from, record[1], record[2]);
      return;
    case 'moved':
      node.moves.onMoved(record[1], record[2], record[3]);
      return;
    case 'adopt':
      for (const [key, spawn] of record[1]) node.remote.add(key, from, spawn);
      return;
    case 'plan-sample':
      node.records.reply(from, 0, record[1], node.sampler.report());
      return;
    case 'plan-off':
      node.sampler.stop();
      return;
    case 'stop-all': {
      const corr = record[4];
      void node
        .stopInOrder(record[1], record[2], record[3])
        .catch(() => 0) // a stop that threw still ends: the spawner is answered either way
        .then((forced) => {
          if (!node.isDead(from)) node.records.reply(from, 0, corr, forced);
        });
      return;
    }
  }
}
