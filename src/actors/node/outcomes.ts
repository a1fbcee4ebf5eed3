// What becomes of each accepted message: handled (counted; an ask gets its answer), failed (an
// ask gets the failure), a duplicate, or a dead letter with its reason (an ask gets an error).
// Every path of the conservation law accepted = handled + dead-lettered + duplicates ends here.

import { ActorFailedError, ActorStoppedError, MailboxFullError, UnhandledMessageError, toWire } from '../../errors.js';
import { checkPayload } from '../../runtime/codec.js';
import { STAT_ACCEPTED, STAT_DUPLICATES, STAT_FAILED, STAT_HANDLED } from '../../runtime/layout.js';
import type { Cell } from '../cell/cell.js';
import type { MessageOutcomes } from '../cell/cell-host.js';
import type { DeadLetters } from './dead-letters.js';
import { EnvelopeKind, type Envelope } from '../cell/envelope.js';
import type { NodeCore } from './node-core.js';
import type { DeadLetterReason } from '../types.js';

/** What outcomes need of the host beyond the shared core. */
export interface OutcomeHost extends NodeCore {
  readonly deadLetters: DeadLetters;
}

export class Outcomes implements MessageOutcomes<Cell> {
  readonly #node: OutcomeHost;

  constructor(node: OutcomeHost) {
    this.#node = node;
  }

  /** `n` tells handled synchronously by one cell's run. */
  handledTells(n: number): void {
    this.#node.runtime.counters[STAT_HANDLED]! += n;
  }

  handled(env: Envelope, result: unknown): void {
    this.#node.runtime.counters[STAT_HANDLED]!++;
    if (env.custody !== 0) this.#node.runtime.custody!.done(env.custody);
    if (env.kind === EnvelopeKind.Ask) this.reply(env, result);
  }

  acked(env: Envelope): void {
    this.#node.runtime.counters[STAT_HANDLED]!++;
    if (env.custody !== 0) this.#node.runtime.custody!.done(env.custody);
  }

  failed(cell: Cell, env: Envelope, error: Error): void {
    const counters = this.#node.runtime.counters;
    counters[STAT_HANDLED]!++;
    counters[STAT_FAILED]!++;
    if (env.custody !== 0) this.#node.runtime.custody!.done(env.custody);
    this.replyFailure(cell, env, error);
  }

  /** An attempt that failed and will be retried (or dead-lettered): a failure, not yet an outcome. */
  attemptFailed(): void {
    this.#node.runtime.counters[STAT_FAILED]!++;
  }

  /** A tell dropped by dedup: accepted, and settled as a duplicate. */
  duplicate(env: Envelope): void {
    this.#node.runtime.counters[STAT_DUPLICATES]!++;
    if (env.custody !== 0) this.#node.runtime.custody!.done(env.custody);
  }

  unhandled(cell: Cell, env: Envelope): void {
    this.deadLetter(env, cell.key, 'unhandled');
    if (env.kind === EnvelopeKind.Ask) {
      this.replyError(env, new UnhandledMessageError(`actor ${this.#node.idOf(cell.key)} has no handler for ${JSON.stringify(env.type)}`));
    }
  }

  /** A message for a cell waiting out a backoff whose stash is full: a dead letter. */
  stashOverflow(cell: Cell, env: Envelope): void {
    this.deadLetter(env, cell.key, 'restart-stash-full', new MailboxFullError(`actor ${this.#node.idOf(cell.key)} is restarting and its stash is full`));
  }

  /** A drop-oldest mailbox was full: the message it let go is a dead letter. */
  evicted(cell: Cell, env: Envelope): void {
    this.deadLetter(env, cell.key, 'mailbox-full', new MailboxFullError(`the mailbox of actor ${this.#node.idOf(cell.key)} is full: the oldest message of the lowest priority was dropped`));
  }

  maxDeliveries(cell: Cell, env: Envelope, error: Error, attempts: number): void {
    const failure = new ActorFailedError(`actor ${this.#node.idOf(cell.key)} gave up on ${JSON.stringify(env.type)} after ${attempts} attempts: ${error.message}`, { cause: error });
    this.deadLetter(env, cell.key, 'max-deliveries', failure, attempts);
  }

  deliveryTerminated(cell: Cell, env: Envelope): void {
    const attempt = cell.attempt?.count ?? 1;
    this.deadLetter(env, cell.key, 'terminated', new ActorFailedError(`actor ${this.#node.idOf(cell.key)} ended ${JSON.stringify(env.type)} with ctx.term()`), attempt);
  }

  /** A pool with no members was sent a message: accepted here, and a dead letter (no-routee). */
  noRoutee(type: string, payload: unknown): void {
    const node = this.#node;
    node.runtime.counters[STAT_ACCEPTED]!++;
    node.deadLetters.noRoutee(type, payload, node.current === null ? 0 : node.current.key);
  }

  /** An accepted message that will not be handled: one dead letter, and its ask is answered. */
  deadLetter(env: Envelope, recipientKey: number, reason: DeadLetterReason, error?: Error, deliveryCount = 1): void {
    if (env.kind === EnvelopeKind.Ask && reason !== 'unhandled') {
      this.replyError(env, error ?? new ActorStoppedError(`actor ${this.#node.idOf(recipientKey)} is stopped`));
    }
    if (env.custody !== 0) this.#node.runtime.custody!.done(env.custody);
    this.#node.deadLetters.record(env, recipientKey, reason, deliveryCount);
  }

  // ---- replies --------------------------------------------------------------------------------

  /** Answers an ask (nothing for a tell): on this thread at once, else through the ring. */
  reply(env: Envelope, value: unknown): void {
    if (env.kind !== EnvelopeKind.Ask) return;
    const node = this.#node;
    if (env.senderThread === node.self) {
      try {
        checkPayload(value, 'reply'); // refused here as it would be on its way to another thread
      } catch (error) {
        this.replyError(env, error as Error);
        return;
      }
      if (!node.asks.resolve(env.corr, value)) this.lateReply(env, value);
      return;
    }
    if (node.isDead(env.senderThread)) {
      this.lateReply(env, value); // the asker's thread died: nobody waits for this any more
      return;
    }
    try {
      node.records.reply(env.senderThread, env.senderKey, env.corr, value);
    } catch (error) {
      this.replyError(env, error as Error);
    }
  }

  /** An ask whose handler failed gets the failure (a tell, nothing). */
  replyFailure(cell: Cell, env: Envelope, error: Error): void {
    if (env.kind !== EnvelopeKind.Ask) return;
    this.replyError(env, new ActorFailedError(`actor ${this.#node.idOf(cell.key)} failed handling ${JSON.stringify(env.type)}: ${error.message}`, { cause: error }));
  }

  /** A reply that found no asker: a dead letter of its own ('late-reply'). */
  lateReply(env: Envelope, value: unknown): void {
    this.#node.deadLetters.lateReply(env.type, value, env.senderThread, env.senderKey);
  }

  /** Answers an ask with a failure. */
  replyError(env: Envelope, error: Error): void {
    const node = this.#node;
    if (env.senderThread === node.self) {
      if (!node.asks.reject(env.corr, error)) this.lateReply(env, error);
      return;
    }
    if (node.isDead(env.senderThread)) {
      this.lateReply(env, error);
      return;
    }
    node.records.replyError(env.senderThread, env.senderKey, env.corr, toWire(error));
  }
}
