// At-least-once delivery and dedup for one actor, kept on its host. In ack mode a message stays
// outstanding from the start of its handler until the handler completes (the ack) or it is
// settled explicitly; a throw, a nack or an ack timeout sends it again, with deliveryCount + 1,
// after the configured delay, ahead of everything queued behind it. After maxDeliver attempts it
// becomes a dead letter. A handler may defer its message's ack past its own end (ctx.deferAck):
// the actor then takes its next message while at most maxAckPending are outstanding. With 1 (the
// default) order is strict; above 1 a redelivery may overtake later messages (K5).
//
// Dedup: a message carrying a messageId already seen within dedupWindowMs is not enqueued. The
// table lives with the actor's cell, so it survives restarts; its size is bounded (oldest first
// out), and expired ids are swept as new ones arrive.

import type { TimerHandle } from '../../runtime/clock.js';
import { invalid, validateBoolean, validateInteger, validateKeys, validateNumber, validateObject } from '../../validate.js';
import type { Envelope } from './envelope.js';
import type { DeliveryOptions } from '../types.js';

export interface DeliveryPolicy {
  readonly ack: boolean;
  readonly ackWaitMs: number;
  readonly maxDeliver: number;
  /** Delay before attempt n + 1 is backoffMs[n - 1] (the last one repeats); none: at once. */
  readonly backoffMs: readonly number[];
  readonly dedupWindowMs: number;
  readonly dedupMax: number;
  readonly maxAckPending: number;
  readonly keepCopies: boolean;
  /** Whether its handlers may settle their messages (ctx.ack and the rest): not where each message's outcome settles it (an entity's commit). */
  readonly manualAck: boolean;
}


export function resolveDelivery(o: DeliveryOptions | undefined): DeliveryPolicy | null {
  if (o === undefined) return null;
  validateObject(o, 'options.delivery');
  validateKeys(o, 'options.delivery', ['mode', 'ackWaitMs', 'maxDeliver', 'backoffMs', 'dedupWindowMs', 'dedupMax', 'maxAckPending', 'keepCopies']);
  if (o.mode !== undefined && o.mode !== 'at-most-once' && o.mode !== 'at-least-once') {
    throw invalid('options.delivery.mode', "'at-most-once' or 'at-least-once'", o.mode);
  }
  let backoffMs: number[] = [];
  if (o.backoffMs !== undefined) {
    if (!Array.isArray(o.backoffMs)) throw invalid('options.delivery.backoffMs', 'an array of delays in ms', o.backoffMs);
    backoffMs = o.backoffMs.map((d, i) => validateNumber(d, `options.delivery.backoffMs[${i}]`, 0, 2 ** 31));
  }
  if (o.keepCopies === true && o.mode !== 'at-least-once') throw invalid('options.delivery.keepCopies', "mode: 'at-least-once' with it (copies are kept until a message is acked)", o.keepCopies);
  return {
    ack: o.mode === 'at-least-once',
    ackWaitMs: o.ackWaitMs === undefined ? 30_000 : validateNumber(o.ackWaitMs, 'options.delivery.ackWaitMs', 1, 2 ** 31 - 1),
    maxDeliver: o.maxDeliver === undefined ? 5 : validateInteger(o.maxDeliver, 'options.delivery.maxDeliver', 1, 1_000_000),
    backoffMs,
    dedupWindowMs: o.dedupWindowMs === undefined ? 120_000 : validateNumber(o.dedupWindowMs, 'options.delivery.dedupWindowMs', 0, 2 ** 31),
    dedupMax: o.dedupMax === undefined ? 100_000 : validateInteger(o.dedupMax, 'options.delivery.dedupMax', 1, 1 << 24),
    maxAckPending: o.maxAckPending === undefined ? 1 : validateInteger(o.maxAckPending, 'options.delivery.maxAckPending', 1, 1 << 20),
    keepCopies: validateBoolean(o.keepCopies, 'options.delivery.keepCopies'),
    manualAck: true,
  };
}

/** One attempt at handling a message. */
export interface Attempt {
  readonly env: Envelope;
  /** 1 for the first attempt. */
  readonly count: number;
  timer: TimerHandle | null;
  /** Settled (acked, nacked, terminated, or abandoned at its deadline): later outcomes are ignored. */
  settled: boolean;
  /** Settled by an explicit ctx.ack(): counted as handled; an ask still gets the handler's answer. */
  acked: boolean;
  /** ctx.deferAck() was called: the handler's end does not ack it. */
  deferred: boolean;
  /** Its handler ended with a LaterOutcome (later-outcome.ts): settled when that does. */
  later: boolean;
  /** Abandoned at its ack deadline while its async handler still runs (DeliveryState.abandoned counts it). */
  running?: boolean;
}


/**
 * The messages an actor holds that have a copy elsewhere, numbered in the order they came. They
 * finish nearly in that order (a redelivery or a deferred ack may reorder a few), so finishing
 * one looks from the oldest: no hash of the message object per message.
 */
export class ReplicaQueue {
  #envs: (Envelope | null)[] = [];
  #head = 0;
  /** The number of the message at #head. */
  #first = 1;
  #live = 0;

  get size(): number {
    return this.#live;
  }

  /** Numbers `env` (each message once: a retry keeps its number). */
  add(env: Envelope): number {
    this.#envs.push(env);
    this.#live++;
    return this.#first + this.#envs.length - 1 - this.#head;
  }

  /** Its number if it has one (then forgotten), else 0. */
  finish(env: Envelope): number {
    const envs = this.#envs;
    for (let i = this.#head; i < envs.length; i++) {
      if (envs[i] !== env) continue;
      envs[i] = null;
      this.#live--;
      const seq = this.#first + i - this.#head;
      while (this.#head < envs.length && envs[this.#head] === null) {
        this.#head++;
        this.#first++;
      }
      if (this.#head > 1024 && this.#head * 2 > envs.length) {
        this.#envs = envs.slice(this.#head);
        this.#head = 0;
      }
      return seq;
    }
    return 0;
  }
}

export class DeliveryState {
  readonly policy: DeliveryPolicy;
  /** The attempt in progress, in ack mode. */
  current: Attempt | null = null;
  /** Messages to send again before anything queued, in order: each with its next attempt number (also from a pool, G4). */
  readonly redeliver: { env: Envelope; count: number }[] = [];
  /** Attempts whose handler ended with their ack deferred, not settled yet. */
  readonly deferred = new Set<Attempt>();
  /**
   * Hosted on another thread than its spawner's: the tells it holds and has not finished with,
   * each copied to the spawner's thread under a number, so they can go again should this thread
   * die. Empty otherwise.
   */
  readonly replicas = new ReplicaQueue();
  /** Waiting out a redelivery delay: the actor takes nothing else meanwhile. */
  waitTimer: TimerHandle | null = null;
  /** A LaterOutcome failed while a handler ran: undone with the others once that handler ends (ack-mode.ts). */
  undo: Error | null = null;
  /**
   * A handler failed while earlier LaterOutcomes still waited: its retry and the restart wait for
   * them (the restarted actor starts from what they commit); the actor takes nothing meanwhile.
   */
  failing: { readonly attempt: Attempt; readonly error: Error } | null = null;
  /** Async handlers abandoned at their ack deadline that have not ended yet (their work is not done). */
  abandoned = 0;
  readonly #seen = new Map<string, number>();

  constructor(policy: DeliveryPolicy) {
    this.policy = policy;
  }

  /** The delay before attempt `next` (2, 3, ...). */
  delayBefore(next: number): number {
    const b = this.policy.backoffMs;
    if (b.length === 0) return 0;
    return b[Math.min(next - 2, b.length - 1)]!;
  }

  /**
   * Why the actor cannot move to another thread now (node/moves.ts), or null: between messages,
   * with nothing outstanding, its delivery state is its policy and its dedup table, and both go.
   * `inHandler`: a move waits for the handler to end (the attempt it runs is not a reason).
   */
  unmovable(inHandler: boolean): string | null {
    if (this.policy.keepCopies) return 'copies of its messages are kept by number on its spawner\'s thread (delivery.keepCopies)';
    if (!inHandler && (this.current !== null || this.failing !== null || this.undo !== null)) return 'a message of its is still being settled';
    if (this.abandoned > 0) return 'a handler of its abandoned at its ack deadline is still running';
    if (this.deferred.size > 0) return 'messages of its wait for their deferred acks: it can move once they are settled';
    if (this.redeliver.length > 0 || this.waitTimer !== null) return 'messages of its wait to be delivered again: it can move once they are';
    return null;
  }

  /** The message ids its dedup table holds, oldest first: [id, when] pairs (a move takes them along). */
  seenEntries(): [string, number][] {
    return [...this.#seen];
  }

  /** Ids seen before (a restart on a new thread after the old one died, or a move): [id, when] pairs. */
  remember(entries: readonly (readonly [string, number])[]): void {
    for (const [id, at] of entries) this.#seen.set(id, at);
  }

  /** True if `id` was seen within the window (and remembers it otherwise). */
  isDuplicate(id: string, now: number): boolean {
    const seen = this.#seen;
    const at = seen.get(id);
    if (at !== undefined && now - at < this.policy.dedupWindowMs) return true;
    if (at !== undefined) seen.delete(id); // expired: remembered anew below, at the end
    // Sweep from the oldest: expired ids, and any beyond the size bound.
    for (const [oldId, oldAt] of seen) {
      if (seen.size < this.policy.dedupMax && now - oldAt < this.policy.dedupWindowMs) break;
      seen.delete(oldId);
    }
    seen.set(id, now);
    return false;
  }
}
