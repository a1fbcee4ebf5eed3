// What stats() reports: every thread's counters and histograms, read from its control block in
// shared memory, so a snapshot costs no messages and sees a stalled thread too. The conservation
// law reads accepted = handled + (deadLetters - lateReplies) + duplicates, at every quiescent point.

import type { ControlBlock } from '../runtime/control-block.js';
import { mergeHistograms, readHistogram, type DurationHistogram } from '../runtime/histogram.js';
import {
  HIST_ASK_ERROR,
  HIST_ASK_OK,
  HIST_ASK_TIMEOUT,
  HIST_MAILBOX_WAIT,
  STAT_ACCEPTED,
  STAT_BUSY_NS,
  STAT_CUSTODY_BYTES,
  STAT_DEAD_LETTERS,
  STAT_DL_QUIET,
  STAT_DL_REASONS,
  STAT_DUPLICATES,
  STAT_FAILED,
  STAT_HANDLED,
  STAT_LONGEST_TURN_MS,
  STAT_MSGS_IN,
  STAT_MSGS_OUT,
  STAT_OTHER_DEAD,
  STAT_REJECTED,
  STAT_RESTARTS,
  MIGRATED_IN,
  MIGRATED_OUT,
  STAT_SINCE,
  STAT_SPILLED,
  STAT_SPILL_BYTES,
  STAT_UNHANDLED_REJECTIONS,
  STAT_UNKEPT,
  ThreadState,
} from '../runtime/layout.js';
import type { Topology } from '../runtime/topology.js';
import { DEAD_LETTER_REASONS, DEAD_LETTER_SLOT } from './dead-letter-reasons.js';
import type { DeadLetterReason } from './types.js';

export type { DurationHistogram } from '../runtime/histogram.js';

/** Dead letters by reason: every reason, 0 for those that never happened. */
export type DeadLettersByReason = Readonly<Record<DeadLetterReason, number>>;

/**
 * Asks from the ask to its settling, by outcome: `ok` (answered), `error` (rejected: the handler
 * failed, the actor stopped, its thread died, the ask was aborted or shutdown came first),
 * `timeout` (AskTimeoutError). Counted on the asking thread.
 */
export interface AskDurations {
  readonly ok: DurationHistogram;
  readonly error: DurationHistogram;
  readonly timeout: DurationHistogram;
}

export interface ThreadStats {
  readonly thread: number;
  readonly actors: number;
  readonly messagesIn: number;
  readonly messagesOut: number;
  readonly accepted: number;
  readonly handled: number;
  readonly failed: number;
  readonly deadLetters: number;
  /** Tells and asks refused because a bounded mailbox was full (never accepted: not dead letters). */
  readonly rejected: number;
  /**
   * Of deadLetters, the replies that found no asker (late-reply): not accepted messages, so the
   * conservation law reads accepted = handled + (deadLetters - lateReplies) + duplicates.
   */
  readonly lateReplies: number;
  /** Tells dropped as duplicates by dedup (accepted, then settled without being handled). */
  readonly duplicates: number;
  readonly spilled: number;
  /** Bytes this thread holds in its sender-side spills right now (rings were full). */
  readonly spillBytes: number;
  /** The longest scheduler slice so far, in ms: a long handler shows here before it is a stall. */
  readonly longestTurnMs: number;
  /** Worker threads: promises rejected with no handler (counted and survived, not fatal). */
  readonly unhandledRejections: number;
  /** Of deadLetters, those of messages that dead-letter listeners sent: counted, not reported to them (no loops). */
  readonly listenerDeadLetters: number;
  /** Bytes waiting in the rings into this thread. */
  readonly ringBytesUsed: number;
  /** Worker threads: bytes in its custody log (what it took from its rings and has not finished). */
  readonly custodyBytes: number;
  /** Worker threads: messages it took while its custody log was full (they would die with it). */
  readonly unkept: number;
  /** Share of wall time spent in scheduler turns since the thread started, 0..1. */
  readonly busyRatio: number;
  readonly parked: boolean;
  /** False while the thread is dead: after it exited unexpectedly, until its replacement runs. */
  readonly alive: boolean;
  /** Times this thread died and was replaced. */
  readonly replaced: number;
  /** Of deadLetters, how many for each reason (they add up to deadLetters). */
  readonly deadLettersByReason: DeadLettersByReason;
  /** Restarts of actors hosted on the thread: each incarnation after the first, whoever decided it. */
  readonly restarts: number;
  /**
   * Times the wake-up audit found the thread asleep with messages waiting in its rings, and woke
   * it (runtime/wake-audit.ts): a missed wake-up, which is a bug in troupe. 0 unless there is one.
   */
  readonly lateWakes: number;
  /** Actors that moved from this thread to another (system.move), and to this thread from another. */
  readonly movedOut: number;
  readonly movedIn: number;
  /** Asks made on this thread (start()'s included), from the ask to its settling. */
  readonly askDuration: AskDurations;
  /**
   * Sampled, one user message in 1024 arriving on the thread: the time from its arrival in an
   * actor's mailbox to its handler starting (what never reaches a handler is not counted).
   */
  readonly mailboxWait: DurationHistogram;
}

/** User messages between threads: row `from`, column `to` (what a planner of placement reads). */
export interface Traffic {
  /** Written by thread `from` into its ring to thread `to` since the start; the diagonal is 0 (a thread's own messages take no ring). */
  readonly messages: readonly (readonly number[])[];
  /** The same per second, over the time since the previous stats() of this system (for the first, since the system started). */
  readonly perSecond: readonly (readonly number[])[];
}

/** The traffic matrix at a point in time: what perSecond is measured against. */
export interface TrafficSample {
  readonly at: number;
  readonly messages: readonly (readonly number[])[];
}

/** The traffic between threads now, with rates since `previous`. */
export function readTraffic(topology: Topology, previous: TrafficSample): { traffic: Traffic; sample: TrafficSample } {
  const at = performance.now();
  const n = topology.threadCount;
  const messages = Array.from({ length: n }, (_, from) => Array.from({ length: n }, (_, to) => topology.messagesBetween(from, to)));
  const seconds = Math.max(1e-3, (at - previous.at) / 1000);
  const perSecond = messages.map((row, from) => row.map((count, to) => Math.max(0, count - (previous.messages[from]?.[to] ?? 0)) / seconds));
  return { traffic: { messages, perSecond }, sample: { at, messages } };
}

export interface SystemStats {
  readonly threads: readonly ThreadStats[];
  /** User messages between threads, and their rates. */
  readonly traffic: Traffic;
  readonly accepted: number;
  readonly handled: number;
  readonly failed: number;
  readonly deadLetters: number;
  readonly lateReplies: number;
  readonly rejected: number;
  readonly duplicates: number;
  readonly listenerDeadLetters: number;
  readonly deadLettersByReason: DeadLettersByReason;
  readonly restarts: number;
  /** Missed wake-ups the wake-up audit found and woke, every thread's added up (see ThreadStats). */
  readonly lateWakes: number;
  /** Moves of actors between threads, every thread's added up. */
  readonly moves: number;
  /** Every thread's, added up. */
  readonly askDuration: AskDurations;
  /** Every thread's, added up. */
  readonly mailboxWait: DurationHistogram;
  /** With options.spareThread: whether the spare is ready to take a dead thread's place, and how often one did. */
  readonly spare: { readonly ready: boolean; readonly used: number } | null;
  /** With options.storage: the bytes the entity store takes on disk (lmdb grows its map as needed). */
  readonly storage: { readonly bytes: number } | null;
}

/** One snapshot of every thread's published counters. */
export function readStats(ctl: ControlBlock, topology: Topology, counts: { replaced(thread: number): number; lateWakes(thread: number): number }, spare: SystemStats['spare'], traffic: Traffic, storage: SystemStats['storage'] = null): SystemStats {
  const now = performance.now();
  const threads: ThreadStats[] = [];
  for (let thread = 0; thread < topology.threadCount; thread++) {
    const s = ctl.stats(thread);
    const h = ctl.histograms(thread);
    const m = ctl.migrations(thread);
    const elapsed = Math.max(1, now - s[STAT_SINCE]!);
    const state = ctl.state(thread);
    threads.push({
      thread,
      actors: ctl.actors(thread),
      messagesIn: s[STAT_MSGS_IN]!,
      messagesOut: s[STAT_MSGS_OUT]!,
      accepted: s[STAT_ACCEPTED]!,
      handled: s[STAT_HANDLED]!,
      failed: s[STAT_FAILED]!,
      deadLetters: s[STAT_DEAD_LETTERS]! + s[STAT_OTHER_DEAD]!,
      lateReplies: s[STAT_OTHER_DEAD]!,
      rejected: s[STAT_REJECTED]!,
      duplicates: s[STAT_DUPLICATES]!,
      spilled: s[STAT_SPILLED]!,
      spillBytes: s[STAT_SPILL_BYTES]!,
      longestTurnMs: s[STAT_LONGEST_TURN_MS]!,
      unhandledRejections: s[STAT_UNHANDLED_REJECTIONS]!,
      listenerDeadLetters: s[STAT_DL_QUIET]!,
      ringBytesUsed: topology.unreadBytesInto(thread),
      custodyBytes: s[STAT_CUSTODY_BYTES]!,
      unkept: s[STAT_UNKEPT]!,
      busyRatio: Math.min(1, s[STAT_BUSY_NS]! / elapsed),
      parked: ctl.parked(thread),
      alive: state !== ThreadState.Dead && state !== ThreadState.Unused,
      replaced: counts.replaced(thread),
      lateWakes: counts.lateWakes(thread),
      deadLettersByReason: byReason((reason) => s[STAT_DL_REASONS + DEAD_LETTER_SLOT[reason]]!),
      restarts: s[STAT_RESTARTS]!,
      movedOut: m[MIGRATED_OUT]!,
      movedIn: m[MIGRATED_IN]!,
      askDuration: { ok: readHistogram(h, HIST_ASK_OK), error: readHistogram(h, HIST_ASK_ERROR), timeout: readHistogram(h, HIST_ASK_TIMEOUT) },
      mailboxWait: readHistogram(h, HIST_MAILBOX_WAIT),
    });
  }
  const sum = (f: (t: ThreadStats) => number): number => threads.reduce((a, t) => a + f(t), 0);
  return {
    threads,
    traffic,
    accepted: sum((t) => t.accepted),
    handled: sum((t) => t.handled),
    failed: sum((t) => t.failed),
    deadLetters: sum((t) => t.deadLetters),
    lateReplies: sum((t) => t.lateReplies),
    rejected: sum((t) => t.rejected),
    duplicates: sum((t) => t.duplicates),
    listenerDeadLetters: sum((t) => t.listenerDeadLetters),
    deadLettersByReason: byReason((reason) => sum((t) => t.deadLettersByReason[reason])),
    restarts: sum((t) => t.restarts),
    lateWakes: sum((t) => t.lateWakes),
    moves: sum((t) => t.movedOut),
    askDuration: {
      ok: mergeHistograms(threads.map((t) => t.askDuration.ok)),
      error: mergeHistograms(threads.map((t) => t.askDuration.error)),
      timeout: mergeHistograms(threads.map((t) => t.askDuration.timeout)),
    },
    mailboxWait: mergeHistograms(threads.map((t) => t.mailboxWait)),
    spare,
    storage,
  };
}

function byReason(count: (reason: DeadLetterReason) => number): DeadLettersByReason {
  const out = {} as Record<DeadLetterReason, number>;
  for (const reason of DEAD_LETTER_REASONS) out[reason] = count(reason);
  return out;
}

/** Accepted messages not yet handled or dead-lettered, across all threads (Infinity if counters moved while read). */
export function unsettled(ctl: ControlBlock, threadCount: number): number {
  let settledBefore = 0;
  for (let t = 0; t < threadCount; t++) {
    const s = ctl.stats(t);
    settledBefore += s[STAT_HANDLED]! + s[STAT_DEAD_LETTERS]! + s[STAT_DUPLICATES]!;
  }
  let accepted = 0;
  for (let t = 0; t < threadCount; t++) accepted += ctl.stats(t)[STAT_ACCEPTED]!;
  let settledAfter = 0;
  for (let t = 0; t < threadCount; t++) {
    const s = ctl.stats(t);
    settledAfter += s[STAT_HANDLED]! + s[STAT_DEAD_LETTERS]! + s[STAT_DUPLICATES]!;
  }
  return settledBefore === settledAfter ? accepted - settledAfter : Number.POSITIVE_INFINITY;
}
