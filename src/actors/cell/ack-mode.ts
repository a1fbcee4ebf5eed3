// Ack mode (at-least-once): a message counts as handled only once its handler completes, acks,
// or its deferred ack settles; a throw, a nack or an overrun of ackWaitMs sends it again (after
// its redelivery delay), up to maxDeliver attempts, then it is a dead letter ('max-deliveries').
// At most maxAckPending attempts are outstanding at once; messages to send again go first.
// Copies of what an actor holds go to its spawner's thread when it is hosted elsewhere
// (keepCopies), so they survive its thread's death. A state machine over one cell's
// DeliveryState (delivery.ts).

import { asError } from '../../errors.js';
import type { Clock } from '../../runtime/clock.js';
import { invalid, isThenable, validateNumber } from '../../validate.js';
import type { CellStatus } from './cell-status.js';
import { callHandler, handlerTable } from '../define.js';
import type { Attempt, DeliveryState } from './delivery.js';
import type { Envelope } from './envelope.js';
import { EnvelopeKind } from './envelope.js';
import type { Mailbox } from './mailbox.js';
import type { AckHandle, ActorContext, AnyDefinition, ExitReason } from '../types.js';
import { callTraced, tracing } from '../trace.js';
import { isLaterOutcome, type LaterOutcome } from './later-outcome.js';

/** Messages per turn before the cell yields to other ready actors (as in a plain turn). */
const THROUGHPUT = 64;

/** A cell in ack mode, as this module sees it. */
export interface AckedCell {
  readonly key: number;
  status: CellStatus;
  busy: boolean;
  handled: number;
  readonly depth: number;
  readonly queue: Mailbox | null;
  readonly definition: AnyDefinition | null;
  readonly ctx: ActorContext<unknown>;
  /** Its delivery state, if it was spawned with a delivery option. */
  readonly delivery: DeliveryState | null;
  readonly node: {
    readonly clock: Clock;
    readonly runtime: { publishSoon(): void; readonly custody: { started(id: number): void; done(id: number): void } | null };
    current: AckedCell | null;
    readonly outcomes: {
      handled(env: Envelope, result: unknown): void;
      acked(env: Envelope): void;
      reply(env: Envelope, value: unknown): void;
      replyFailure(cell: AckedCell, env: Envelope, error: Error): void;
      attemptFailed(): void;
      maxDeliveries(cell: AckedCell, env: Envelope, error: Error, attempts: number): void;
      deliveryTerminated(cell: AckedCell, env: Envelope): void;
    };
    readonly links: { signal(cell: AckedCell, reason: ExitReason): void };
    readonly handover: { replicates(key: number): boolean; held(cell: AckedCell, env: Envelope, seq: number): void; settled(cell: AckedCell, seq: number): void };
  };
  more(): { failed: number };
  enqueue(env: Envelope): void;
  schedule(): void;
  /** Runs one message that is not a user message (a signal) or has no handler. */
  process(env: Envelope): void;
  /** The sender of the message being handled. */
  setSender(thread: number, key: number): void;
  /** Fails the actor (its supervision decides); the message goes to the new instance. */
  restart(error: Error): void;
  /** Aborts ctx.signal (the attempt it was given to is abandoned). */
  abortSignal(reason: () => Error): void;
  settleIdle(): void;
}

/**
 * Messages the actor holds outside its mailbox (taken on stop): those to send again, and those
 * whose deferred ack never came.
 */
export function takeRedeliveries(cell: AckedCell): { env: Envelope; count: number }[] {
  const d = cell.delivery;
  if (d === null) return [];
  const taken = [...d.redeliver];
  d.redeliver.length = 0;
  for (const attempt of d.deferred) {
    if (attempt.timer !== null) cell.node.clock.clearTimeout(attempt.timer);
    attempt.timer = null;
    attempt.settled = true;
    taken.push({ env: attempt.env, count: attempt.count + 1 });
  }
  d.deferred.clear();
  const failing = d.failing; // it failed after the later outcomes above: it goes after them
  d.failing = null;
  if (failing !== null && !failing.attempt.settled) taken.push({ env: failing.attempt.env, count: failing.attempt.count + 1 });
  return taken;
}

/** A message another member of its pool left unhandled (G4): delivered ahead of the queue, as attempt `count`. */
export function redeliver(cell: AckedCell, env: Envelope, count: number): void {
  const d = cell.delivery;
  if (d === null || !d.policy.ack) {
    cell.enqueue(env);
    return;
  }
  d.redeliver.push({ env, count });
  if (d.policy.keepCopies) replicate(cell, d, env);
  if (cell.status === 'running' && !cell.busy) cell.schedule();
}

/**
 * Ack mode, hosted away from its spawner's thread: a tell it now holds is copied there, so that
 * it goes again to the restarted actor should this thread die before it is done (at-least-once
 * across a thread's death).
 */
export function replicate(cell: AckedCell, d: DeliveryState, env: Envelope): void {
  if (!cell.node.handover.replicates(cell.key)) return;
  const seq = d.replicas.add(env);
  if (seq === 0) return;
  cell.node.handover.held(cell, env, seq);
  if (env.custody !== 0) {
    // The copy is its custody now: the log lets go of it, so that it goes again only once.
    cell.node.runtime.custody!.done(env.custody);
    env.custody = 0;
  }
}

/** The message is done with for good (handled, acked, or a dead letter): its copy can go. */
export function finished(cell: AckedCell, d: DeliveryState, env: Envelope): void {
  const seq = d.replicas.finish(env);
  if (seq !== 0) cell.node.handover.settled(cell, seq);
}

/** Ack mode: at most maxAckPending outstanding attempts; messages to send again go first. */
export function runAcked(cell: AckedCell, d: DeliveryState): void {
  if (d.waitTimer !== null || d.current !== null || d.failing !== null || d.deferred.size >= d.policy.maxAckPending) return;
  const node = cell.node;
  node.current = cell;
  try {
    for (let budget = THROUGHPUT; budget > 0; budget--) {
      let env: Envelope | undefined;
      let count = 1;
      const again = d.redeliver.shift();
      if (again !== undefined) {
        ({ env, count } = again);
      } else {
        env = cell.queue?.shift();
      }
      if (env === undefined) return;
      if (env.kind > EnvelopeKind.Ask || (handlerTable(cell.definition!)[env.type] === undefined && cell.definition!.spec.receive === undefined)) {
        cell.process(env);
        finished(cell, d, env);
      } else startAttempt(cell, d, env, count);
      if (cell.busy || cell.status !== 'running' || d.waitTimer !== null || d.current !== null || d.failing !== null || d.deferred.size >= d.policy.maxAckPending) return;
    }
  } finally {
    node.current = null;
  }
  if (cell.depth > 0 || d.redeliver.length > 0) cell.schedule();
}

function startAttempt(cell: AckedCell, d: DeliveryState, env: Envelope, count: number): void {
  const attempt: Attempt = { env, count, timer: null, settled: false, acked: false, deferred: false, later: false };
  d.current = attempt;
  cell.setSender(env.senderThread, env.senderKey);
  if (env.custody !== 0) cell.node.runtime.custody!.started(env.custody);
  const handler = handlerTable(cell.definition!)[env.type];
  let result: unknown;
  try {
    const receive = cell.definition!.spec.receive;
    if (env.trace === undefined && !tracing()) result = callHandler(cell.ctx, env.type, env.payload, handler, receive);
    else result = callTraced(env.trace, cell.ctx, env.type, env.payload, handler, receive);
  } catch (error) {
    attemptFailed(cell, d, attempt, error);
    return;
  }
  if (isThenable(result)) {
    cell.busy = true;
    // A synchronous handler cannot overrun: only an async one gets an ack deadline.
    if (!attempt.settled) attempt.timer = cell.node.clock.setTimeout(() => attemptExpired(cell, d, attempt), d.policy.ackWaitMs);
    // Settled outside a turn, perhaps while the thread is parked: publish what it counted.
    result.then(
      (value) => {
        ended(d, attempt);
        attemptDone(cell, d, attempt, value);
        cell.node.runtime.publishSoon();
      },
      (error) => {
        ended(d, attempt);
        attemptFailed(cell, d, attempt, error);
        cell.node.runtime.publishSoon();
      },
    );
    return;
  }
  attemptDone(cell, d, attempt, result);
}

/** Ends the attempt's hold on the actor; false if it was abandoned (its outcome is ignored). */
function release(cell: AckedCell, d: DeliveryState, attempt: Attempt): boolean {
  if (d.current !== attempt) return false;
  d.current = null;
  if (attempt.timer !== null) cell.node.clock.clearTimeout(attempt.timer);
  attempt.timer = null;
  cell.busy = false;
  return true;
}

function attemptDone(cell: AckedCell, d: DeliveryState, attempt: Attempt, value: unknown): void {
  if (!release(cell, d, attempt)) return;
  if (d.undo !== null) {
    undoLater(cell, d, d.undo, attempt.settled ? null : attempt); // it ran on a state that is being undone
    return;
  }
  if (!attempt.settled && isLaterOutcome(value)) {
    awaitOutcome(cell, d, attempt, value);
  } else if (!attempt.settled && attempt.deferred) {
    // Its ack comes later, through its handle; an ask gets the handler's answer now.
    d.deferred.add(attempt);
    attempt.timer ??= cell.node.clock.setTimeout(() => deferredExpired(cell, d, attempt), d.policy.ackWaitMs);
    cell.node.outcomes.reply(attempt.env, value);
  } else if (!attempt.settled) {
    attempt.settled = true;
    cell.handled++;
    cell.node.outcomes.handled(attempt.env, value);
    finished(cell, d, attempt.env);
  } else if (attempt.acked) {
    cell.node.outcomes.reply(attempt.env, value); // counted at the explicit ack; the answer comes now
  }
  if (cell.status === 'stopping') cell.settleIdle();
  else if (cell.depth > 0 || d.redeliver.length > 0) cell.schedule();
}

/**
 * The handler ended with a LaterOutcome: the message stays outstanding (as a deferred ack does,
 * counted against maxAckPending) until its promise settles; then it is acked and an ask gets its
 * answer. No deadline: the promise always settles.
 */
function awaitOutcome(cell: AckedCell, d: DeliveryState, attempt: Attempt, outcome: LaterOutcome): void {
  attempt.later = true;
  d.deferred.add(attempt);
  outcome.settled.then(
    () => {
      if (attempt.settled || !d.deferred.delete(attempt)) return; // taken by a stop, or undone
      conclude(cell, d, attempt, 'ack', 0);
      cell.node.outcomes.reply(attempt.env, outcome.value);
      cell.node.runtime.publishSoon();
      const failing = d.failing;
      if (failing !== null && !hasLater(d)) {
        d.failing = null; // what it failed after is committed: now its retry and the restart
        failNow(cell, d, failing.attempt, failing.error);
        return;
      }
      if (cell.status === 'running') cell.schedule(); // a slot is free again
    },
    (error: unknown) => {
      if (attempt.settled || !d.deferred.has(attempt)) return;
      if (d.current !== null) d.undo ??= asError(error); // undone once the running handler ends
      else undoLater(cell, d, asError(error), null);
      cell.node.runtime.publishSoon();
    },
  );
}

/**
 * A LaterOutcome failed: its attempt and every later one still waiting (their outcomes built on
 * it), then `last` (the handler that was running meanwhile), are undone. They go again in the
 * order they came, to a restarted actor: its state is from before them.
 */
function undoLater(cell: AckedCell, d: DeliveryState, error: Error, last: Attempt | null): void {
  d.undo = null;
  const undone: Attempt[] = [];
  for (const attempt of d.deferred) {
    if (!attempt.later) continue;
    d.deferred.delete(attempt);
    undone.push(attempt);
  }
  const failing = d.failing;
  d.failing = null;
  if (failing !== null) {
    if (!failing.attempt.settled) undone.push(failing.attempt); // it failed after them: it goes after them
    else if (failing.attempt.acked) cell.node.outcomes.replyFailure(cell, failing.attempt.env, failing.error); // settled by itself: done with
  }
  if (last !== null) undone.push(last);
  const queued = d.redeliver.length;
  for (const attempt of undone) {
    attempt.settled = true;
    retry(cell, d, attempt, error, 0);
  }
  // They came before anything queued to go again meanwhile (a nack made while they waited).
  if (queued > 0) d.redeliver.unshift(...d.redeliver.splice(queued));
  cell.more().failed++;
  cell.node.outcomes.attemptFailed();
  cell.node.links.signal(cell, 'failed');
  if (cell.status === 'stopping') {
    cell.settleIdle();
    return;
  }
  cell.restart(error);
}

/** A deferred ack that did not come within ackWaitMs: the message goes again. */
function deferredExpired(cell: AckedCell, d: DeliveryState, attempt: Attempt): void {
  attempt.timer = null;
  if (attempt.later) return; // its LaterOutcome alone settles it
  if (!d.deferred.delete(attempt) || attempt.settled) return;
  attempt.settled = true;
  retry(cell, d, attempt, new Error(`not acknowledged within ${d.policy.ackWaitMs} ms`), d.delayBefore(attempt.count + 1));
  cell.schedule();
}

/** ctx.deferAck(): the current message stays outstanding past its handler, until its handle settles it. */
export function deferAck(cell: AckedCell): AckHandle {
  const d = cell.delivery;
  if (d === null || !d.policy.ack) throw invalid('ctx.deferAck()', "an actor spawned with delivery: { mode: 'at-least-once' }", 'deferAck');
  if (!d.policy.manualAck) throw invalid('ctx.deferAck()', 'an actor whose handlers settle their messages (an entity\'s commit settles each of its messages)', 'deferAck');
  const attempt = d.current;
  if (attempt === null) throw invalid('ctx.deferAck()', 'a call from the handler of a message', 'deferAck');
  attempt.deferred = true;
  const settle = (verb: 'ack' | 'nack' | 'in-progress' | 'term', delayMs = 0): void => {
    if (d.current === attempt) {
      settleAttempt(cell, verb, delayMs); // the handler is still running: as ctx.ack() and the rest
      return;
    }
    if (attempt.settled || attempt.later || !d.deferred.has(attempt)) return; // idempotent; late calls change nothing; a LaterOutcome settles its own
    if (verb === 'in-progress') {
      if (attempt.timer !== null) cell.node.clock.clearTimeout(attempt.timer);
      attempt.timer = cell.node.clock.setTimeout(() => deferredExpired(cell, d, attempt), d.policy.ackWaitMs);
      return;
    }
    d.deferred.delete(attempt);
    conclude(cell, d, attempt, verb, delayMs);
    cell.node.runtime.publishSoon(); // a deferred ack comes whenever its handle is settled
    if (cell.status === 'running') cell.schedule(); // a slot is free again
  };
  return {
    ack: () => settle('ack'),
    nack: (delayMs = 0) => settle('nack', validateNumber(delayMs, 'ackHandle.nack(delayMs)', 0, 2 ** 31)),
    inProgress: () => settle('in-progress'),
    term: () => settle('term'),
  };
}

function attemptFailed(cell: AckedCell, d: DeliveryState, attempt: Attempt, thrown: unknown): void {
  if (!release(cell, d, attempt)) return;
  if (d.undo !== null) {
    undoLater(cell, d, d.undo, attempt.settled ? null : attempt); // after the attempts being undone, in order
    return;
  }
  const error = asError(thrown);
  if (hasLater(d)) {
    // Earlier outcomes are still being committed: the restarted actor must start from them.
    d.failing = { attempt, error };
    return;
  }
  failNow(cell, d, attempt, error);
}

/** Whether LaterOutcomes of earlier attempts still wait. */
function hasLater(d: DeliveryState): boolean {
  for (const attempt of d.deferred) if (attempt.later) return true;
  return false;
}

/** A handler failed: its message goes again (or is given up) and the actor restarts. */
function failNow(cell: AckedCell, d: DeliveryState, attempt: Attempt, error: Error): void {
  cell.more().failed++;
  cell.node.outcomes.attemptFailed();
  cell.node.links.signal(cell, 'failed');
  if (!attempt.settled) {
    attempt.settled = true;
    retry(cell, d, attempt, error, d.delayBefore(attempt.count + 1));
  } else if (attempt.acked) {
    cell.node.outcomes.replyFailure(cell, attempt.env, error);
  }
  if (cell.status === 'stopping') {
    cell.settleIdle();
    return;
  }
  cell.restart(error); // a throw still fails the actor; the message goes to the new instance
}

/** An async handler ended: if it had been abandoned, it no longer keeps the actor from moving. */
function ended(d: DeliveryState, attempt: Attempt): void {
  if (attempt.running !== true) return;
  attempt.running = false;
  d.abandoned--;
}

/** ackWaitMs passed with the handler still running: abandon it and send the message again. */
function attemptExpired(cell: AckedCell, d: DeliveryState, attempt: Attempt): void {
  attempt.timer = null;
  if (d.current !== attempt || attempt.settled) return;
  release(cell, d, attempt);
  // Its handler goes on meanwhile: the actor stays on this thread until it ends (moves.ts).
  attempt.running = true;
  d.abandoned++;
  if (d.undo !== null) {
    cell.abortSignal(() => d.undo!);
    undoLater(cell, d, d.undo, attempt);
    return;
  }
  attempt.settled = true;
  const overrun = new Error(`not acknowledged within ${d.policy.ackWaitMs} ms`);
  cell.abortSignal(() => overrun); // the abandoned handler's work ends with it
  retry(cell, d, attempt, overrun, d.delayBefore(attempt.count + 1));
  if (cell.status === 'stopping') cell.settleIdle();
  else cell.schedule();
}

/** Sends the message again after `delayMs`, or dead-letters it once maxDeliver is reached. */
function retry(cell: AckedCell, d: DeliveryState, attempt: Attempt, error: Error, delayMs: number): void {
  if (attempt.count >= d.policy.maxDeliver) {
    cell.node.outcomes.maxDeliveries(cell, attempt.env, error, attempt.count);
    finished(cell, d, attempt.env);
    return;
  }
  d.redeliver.push({ env: attempt.env, count: attempt.count + 1 });
  if (delayMs > 0) {
    d.waitTimer = cell.node.clock.setTimeout(() => {
      d.waitTimer = null;
      cell.schedule();
    }, delayMs);
  }
}

/** ctx.ack / nack / inProgress / term, on the attempt in progress. */
export function settleAttempt(cell: AckedCell, verb: 'ack' | 'nack' | 'in-progress' | 'term', delayMs = 0): void {
  const d = cell.delivery;
  if (d === null || !d.policy.ack) throw invalid(`ctx.${verb === 'in-progress' ? 'inProgress' : verb}()`, "an actor spawned with delivery: { mode: 'at-least-once' }", verb);
  if (!d.policy.manualAck) throw invalid(`ctx.${verb === 'in-progress' ? 'inProgress' : verb}()`, 'an actor whose handlers settle their messages (an entity\'s commit settles each of its messages)', verb);
  const attempt = d.current;
  if (attempt === null || attempt.settled) return; // acks are idempotent; late ones change nothing
  if (verb === 'in-progress') {
    if (attempt.timer !== null) {
      cell.node.clock.clearTimeout(attempt.timer);
      attempt.timer = cell.node.clock.setTimeout(() => attemptExpired(cell, d, attempt), d.policy.ackWaitMs);
    }
    return;
  }
  conclude(cell, d, attempt, verb, delayMs);
}

/** Settles an attempt for good, from its handler (ctx.ack and the rest) or its deferred handle. */
function conclude(cell: AckedCell, d: DeliveryState, attempt: Attempt, verb: 'ack' | 'nack' | 'term', delayMs: number): void {
  attempt.settled = true;
  if (attempt.timer !== null) cell.node.clock.clearTimeout(attempt.timer);
  attempt.timer = null;
  if (verb === 'ack') {
    attempt.acked = true; // read only while its handler runs on (the answer of an acked ask)
    cell.handled++;
    cell.node.outcomes.acked(attempt.env);
    finished(cell, d, attempt.env);
  } else if (verb === 'nack') {
    retry(cell, d, attempt, new Error('nacked'), delayMs);
  } else {
    cell.node.outcomes.deliveryTerminated(cell, attempt.env);
    finished(cell, d, attempt.env);
  }
}

/** The actor stopped: its attempt in progress and its redelivery wait end (their timers too). */
export function endAttempts(cell: AckedCell, d: DeliveryState): void {
  if (d.waitTimer !== null) cell.node.clock.clearTimeout(d.waitTimer);
  if (d.current?.timer != null) cell.node.clock.clearTimeout(d.current.timer);
  d.waitTimer = null;
  d.current = null;
  d.undo = null;
}
