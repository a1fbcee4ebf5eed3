// The way to one other node: the calls for it, in the order they were made, sent as batches (one
// NATS request each, flushed at the end of the turn or once MAX_CALLS wait), at most WINDOW
// batches unanswered at a time. The other node answers a batch once it has taken every call in it
// (handed each to its actor's thread), so a node that cannot keep up slows its senders' batches
// rather than being sent more than it reads (NATS would cut off a slow reader). A batch of answers
// only is published without a request: its asker waits for it, bounded by its own asks. A request that no
// one receives says the node is gone: its calls fail as such (gateway.ts), none is left waiting.

import { MessageTooLargeError } from '../errors.js';
import { encodeBatch, Entry, type Call } from './wire-batch.js';

/**
 * Errors that calls failed with because no one received their batch: they were not delivered, so
 * a call to an entity may go to its shard's next owner instead (entity-router.ts).
 */
export const undelivered = new WeakSet<Error>();

/** Calls per batch at most. */
export const MAX_CALLS = 1024;
/** Batches sent and not yet answered, per node. */
export const WINDOW = 4;

export interface LinkHost {
  /** This system's id and node name, as refs in a batch name them. */
  readonly stamp: readonly [string, string];
  /** The largest NATS message the server takes. */
  readonly maxPayload: number;
  /** Sends a batch; resolves when the node has taken it. */
  request(subject: string, bytes: Uint8Array): Promise<void>;
  /** Sends a batch that no one waits to hear was taken (answers only). */
  post(subject: string, bytes: Uint8Array): void;
  /** Calls that did not reach the node: `gone`, because no one there received them. */
  failed(link: Link, calls: Call[], error: Error, gone: boolean): void;
}

/** A call that no one waits on the receipt of: what answers a call of the other node. */
function oneWay(call: Call): boolean {
  return call[0] === Entry.Answer || call[0] === Entry.Terminated;
}

export class Link {
  readonly systemId: string;
  readonly nodeName: string;
  readonly subject: string;
  /** The node left or was declared down: calls to it fail at once. */
  gone = false;
  /** Asks and sends (their correlation ids) waiting for an answer from this node. */
  readonly waiting = new Set<number>();
  readonly #host: LinkHost;
  #queue: Call[] = [];
  #inFlight = 0;
  /** The batches sent and not yet taken. */
  readonly #sent = new Set<Call[]>();
  #pinging = false;
  #scheduled = false;
  /** Resolves when nothing is queued or unanswered (close waits for it). */
  #idle: (() => void) | null = null;

  /** The pool this link reaches on whichever node serves it (a service's subject), or null: a node's inbox. */
  readonly service: string | null;

  constructor(host: LinkHost, systemId: string, nodeName: string, subject: string, service: string | null = null) {
    this.#host = host;
    this.systemId = systemId;
    this.nodeName = nodeName;
    this.subject = subject;
    this.service = service;
  }

  get queued(): number {
    return this.#queue.length;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  push(call: Call): void {
    this.#queue.push(call);
    if (this.#queue.length >= MAX_CALLS) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(this.#flushSoon);
    }
  }

  /**
   * Takes every call out, queued or sent and not yet taken (the node is gone): what was sent may
   * have been handled before the node died, but no answer will say so.
   */
  drop(): Call[] {
    const calls = [...[...this.#sent].flat(), ...this.#queue];
    this.#queue = [];
    this.#sent.clear();
    this.#inFlight = 0; // their requests may still settle: #answered ignores what is no longer in #sent
    this.#checkIdle();
    return calls;
  }

  /** Asks whether anyone reads the node's inbox, outside the window (which a dead node may hold full). */
  ping(): void {
    if (this.#pinging || this.gone) return;
    this.#pinging = true;
    let bytes: Uint8Array;
    try {
      bytes = encodeBatch(this.#host.stamp, [[Entry.Ping]]);
    } catch {
      return;
    }
    this.#host.request(this.subject, bytes).then(
      () => void (this.#pinging = false),
      (error: Error & { isNoResponders?: () => boolean }) => {
        this.#pinging = false;
        if (typeof error.isNoResponders === 'function' && error.isNoResponders()) this.#host.failed(this, [], error, true);
      },
    );
  }

  /** Sends what is queued, as far as the window allows. */
  flush(): void {
    while (this.#queue.length > 0 && this.#inFlight < WINDOW) {
      const calls = this.#queue.length <= MAX_CALLS ? this.#queue : this.#queue.splice(0, MAX_CALLS);
      if (calls === this.#queue) this.#queue = [];
      this.#send(calls);
    }
    this.#checkIdle();
  }

  /** Resolves once all that was queued has been answered or failed. */
  whenIdle(): Promise<void> {
    if (this.#queue.length === 0 && this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const before = this.#idle;
      this.#idle = () => {
        before?.();
        resolve();
      };
    });
  }

  readonly #flushSoon = (): void => {
    this.#scheduled = false;
    this.flush();
  };

  #send(calls: Call[]): void {
    let bytes: Uint8Array;
    try {
      bytes = encodeBatch(this.#host.stamp, calls);
    } catch (error) {
      this.#split(calls, error as Error);
      return;
    }
    if (bytes.length > this.#host.maxPayload) {
      this.#split(calls, new MessageTooLargeError(`a message of ${bytes.length} bytes encoded, over the NATS server's max_payload (${this.#host.maxPayload})`));
      return;
    }
    if (calls.every(oneWay)) {
      // Answers and notices only: their asker waits for them, not for a word that they arrived.
      this.#host.post(this.subject, bytes);
      return;
    }
    this.#inFlight++;
    this.#sent.add(calls);
    this.#host.request(this.subject, bytes).then(
      () => this.#answered(calls),
      (error: Error & { isNoResponders?: () => boolean }) => {
        // Already failed with the rest if the node was found unreachable or gone meanwhile.
        if (!this.#answered(calls)) return;
        this.#host.failed(this, calls, error, typeof error.isNoResponders === 'function' && error.isNoResponders());
      },
    );
  }

  /** A batch that cannot go as one: halves, in order, down to the one call that cannot go at all. */
  #split(calls: Call[], error: Error): void {
    if (calls.length === 1) {
      if (calls[0]![0] !== Entry.Ping) this.#host.failed(this, calls, error, false);
      return;
    }
    const half = calls.length >> 1;
    this.#send(calls.slice(0, half));
    this.#send(calls.slice(half));
  }

  /** A batch's request settled: false if it had been taken out with the rest (drop). */
  #answered(calls: Call[]): boolean {
    if (!this.#sent.delete(calls)) return false;
    this.#inFlight--;
    if (!this.gone) this.flush();
    else this.#checkIdle();
    return true;
  }

  #checkIdle(): void {
    if (this.#idle !== null && this.#queue.length === 0 && this.#inFlight === 0) {
      const idle = this.#idle;
      this.#idle = null;
      idle();
    }
  }
}
