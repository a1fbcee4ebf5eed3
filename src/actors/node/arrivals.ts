// What reaches a thread for an actor that is not there (yet). Rings are ordered per pair of
// threads, not across them: a message (or a watch) can come through one ring before the actor's
// spawn record comes through another. Actor keys carry their spawner's sequence number, so a
// key above the last spawn seen from its spawner is "not yet spawned": what comes for it is held
// until the record arrives. A thread that replaces one that died also holds what comes for its
// predecessor's actors until their supervisors decide to restart them here or declare them gone.

import type { Envelope } from '../cell/envelope.js';
import { seqOf, spawnerOf } from './wire.js';

/** A replacement thread's start: what its predecessor hosted and who decides about it. */
export interface NodeRecovery {
  /** Keys of the dead thread's actors that other threads will restart here or declare gone. */
  readonly pending: readonly number[];
  /** Each thread's spawn sequence number when it learned of the death. */
  readonly lastSpawnSeq: readonly number[];
  /** The dead thread's last published spawn sequence number: keys up to it are of its life. */
  readonly seqBase: number;
}

/** What most spawns find held for them: nothing. */
const NOTHING_EARLY: { messages: undefined; watchers: undefined } = Object.freeze({ messages: undefined, watchers: undefined });

export class Arrivals {
  readonly #self: number;
  /** The last spawn sequence number seen from each thread. */
  readonly #lastSpawnSeq: number[];
  readonly #early = new Map<number, Envelope[]>();
  readonly #earlyWatchers = new Map<number, Map<number, number>>();
  /** A replacement thread: keys of its predecessor's actors that others will restart here or declare gone. */
  readonly #pending: Set<number> | null = null;
  /** A replacement thread: its predecessor's actors that were declared gone (not restarted). */
  readonly #gone = new Set<number>();
  /** A replacement thread: this thread's keys up to this sequence number belonged to its predecessor. */
  readonly seqBase: number = 0;
  /**
   * A replacement thread: messages from its predecessor's custody log whose handler had started
   * when it died (at most once: they go again only to an actor in ack mode).
   */
  readonly interrupted = new Set<Envelope>();

  constructor(self: number, threadCount: number, recovery: NodeRecovery | undefined) {
    this.#self = self;
    this.#lastSpawnSeq = new Array<number>(threadCount).fill(0);
    if (recovery !== undefined) {
      this.#pending = new Set(recovery.pending);
      recovery.lastSpawnSeq.forEach((seq, thread) => (this.#lastSpawnSeq[thread] = seq));
      this.seqBase = recovery.seqBase;
    }
  }

  /** True while what comes for `key` is to be held: its spawn record (or its fate) is still to come. */
  holds(key: number): boolean {
    const spawner = spawnerOf(key);
    return (spawner !== this.#self && seqOf(key) > this.#lastSpawnSeq[spawner]!) || this.#pending?.has(key) === true;
  }

  hold(key: number, env: Envelope): void {
    const held = this.#early.get(key);
    if (held === undefined) this.#early.set(key, [env]);
    else held.push(env);
  }

  /** A watch of an actor whose spawn record is still on another ring: held like a message. */
  holdWatch(key: number, watcherKey: number, watcherThread: number): void {
    const held = this.#earlyWatchers.get(key) ?? new Map<number, number>();
    held.set(watcherKey, watcherThread);
    this.#earlyWatchers.set(key, held);
  }

  readonly #earlyLinks = new Map<number, Map<number, number>>();

  /** A link to an actor on its way here (it moves here, moves.ts): held until it arrives. */
  holdLink(key: number, peerKey: number, peerThread: number): void {
    const held = this.#earlyLinks.get(key) ?? new Map<number, number>();
    held.set(peerKey, peerThread);
    this.#earlyLinks.set(key, held);
  }

  /** An unlink of one held. */
  unholdLink(key: number, peerKey: number): void {
    this.#earlyLinks.get(key)?.delete(peerKey);
  }

  /** The links held for `key` (peer key -> its thread), taken. */
  takeLinks(key: number): Map<number, number> | undefined {
    if (this.#earlyLinks.size === 0) return undefined;
    const held = this.#earlyLinks.get(key);
    this.#earlyLinks.delete(key);
    return held;
  }

  /** The spawn record for `key` arrived from `from`: returns what was held for it. */
  spawned(from: number, key: number): { messages: Envelope[] | undefined; watchers: Map<number, number> | undefined } {
    const seq = seqOf(key);
    if (seq > this.#lastSpawnSeq[from]!) this.#lastSpawnSeq[from] = seq;
    this.#pending?.delete(key);
    if (this.#early.size === 0 && this.#earlyWatchers.size === 0) return NOTHING_EARLY;
    const messages = this.#early.get(key);
    if (messages !== undefined) this.#early.delete(key);
    const watchers = this.#earlyWatchers.get(key);
    if (watchers !== undefined) this.#earlyWatchers.delete(key);
    return { messages, watchers };
  }

  /** What was held for `key` (an actor moving here, node/moves.ts): taken, and forgotten here. */
  take(key: number): { messages: Envelope[] | undefined; watchers: Map<number, number> | undefined } {
    if (this.#early.size === 0 && this.#earlyWatchers.size === 0) return NOTHING_EARLY;
    const messages = this.#early.get(key);
    if (messages !== undefined) this.#early.delete(key);
    const watchers = this.#earlyWatchers.get(key);
    if (watchers !== undefined) this.#earlyWatchers.delete(key);
    return { messages, watchers };
  }

  /** A replacement thread: true when `key` is an actor of its predecessor that is gone with it. */
  ofPredecessor(key: number): boolean {
    return (spawnerOf(key) === this.#self && seqOf(key) <= this.seqBase) || this.#gone.has(key);
  }

  /**
   * A replacement thread: its predecessor's actor `key` is not restarted. Returns what was held
   * for it (to dead-letter, and watchers to tell), or null if it was not pending.
   */
  gone(key: number): { messages: Envelope[] | undefined; watchers: Map<number, number> | undefined } | null {
    if (this.#pending?.delete(key) !== true) return null;
    this.#gone.add(key);
    const messages = this.#early.get(key);
    this.#early.delete(key);
    const watchers = this.#earlyWatchers.get(key);
    this.#earlyWatchers.delete(key);
    return { messages, watchers };
  }
}
