// send(): a tell that waits for room while the target's bounded mailbox (or the ring to its
// thread) is full, and resolves once the message is accepted, saying whether the receiver had
// seen its messageId already (K6). Waiters for one target are admitted first come, first served;
// each gives up after its timeoutMs with MailboxFullError.

import { MailboxFullError } from '../../errors.js';
import type { TimerHandle } from '../../runtime/clock.js';
import { STAT_DUPLICATES } from '../../runtime/layout.js';
import { invalid, validateNumber } from '../../validate.js';
import type { ActorRefImpl } from '../actor-ref.js';
import type { Cell } from '../cell/cell.js';
import type { NodeCore } from './node-core.js';
import type { SendOptions, SendResult } from '../types.js';
import { activeTrace, traceFor, untraced } from '../trace.js';

const DEFAULT_SEND_MS = 5000;
const NOT_DUPLICATE: SendResult = Object.freeze({ duplicate: false });
const DUPLICATE: SendResult = Object.freeze({ duplicate: true });
const ACCEPTED: Promise<SendResult> = Promise.resolve(NOT_DUPLICATE);
/** A receipt (whether the receiver had seen the messageId already) as send's result. */
const sendResult = (duplicate: unknown): SendResult => (duplicate === true ? DUPLICATE : NOT_DUPLICATE);

interface SendWaiter {
  readonly ref: ActorRefImpl;
  readonly type: string;
  readonly payload: unknown;
  readonly options: SendOptions | undefined;
  /** The actor that called send (its sender attribution and its admission during shutdown). */
  readonly sender: Cell | null;
  readonly resolve: (result: SendResult | Promise<SendResult>) => void;
  readonly reject: (error: Error) => void;
  timer: TimerHandle | null;
}

export class SendQueue {
  readonly #node: NodeCore;
  /** send() calls waiting for room, per target key, first come first served. */
  readonly #waiting = new Map<number, SendWaiter[]>();

  constructor(node: NodeCore) {
    this.#node = node;
  }

  send(ref: ActorRefImpl, type: string, payload: unknown, options: SendOptions | undefined): Promise<SendResult> {
    try {
      const timeoutMs = options?.timeoutMs === undefined ? DEFAULT_SEND_MS : validateNumber(options.timeoutMs, 'options.timeoutMs', 0, 2 ** 31);
      const signal = options?.signal;
      if (signal !== undefined) {
        if (!(signal instanceof AbortSignal)) throw invalid('options.signal', 'an AbortSignal', signal);
        if (signal.aborted) return Promise.reject(signal.reason); // nothing is sent
      }
      // An entity's handler sending to an entity: held for the handler's commit (entity/outbox.ts).
      // It resolves at once: the message is in the outbox, and goes once the handler commits
      // (awaited there, it would wait for the very commit that waits for the handler).
      if (ref.entity !== undefined && this.#node.entities.hold(this.#node.current, ref.entity, type, payload, traceFor(options?.trace))) return ACCEPTED;
      if (!this.#waiting.has(ref.key)) {
        try {
          return this.#sendNow(ref, type, payload, options);
        } catch (error) {
          if (!(error instanceof MailboxFullError) || timeoutMs === 0) throw error;
        }
      }
      return new Promise<SendResult>((resolve, reject) => {
        const clock = this.#node.clock;
        let done = (): void => undefined; // stops listening to the signal, once settled
        const waiter: SendWaiter = {
          ref,
          type,
          payload,
          // The trace active now goes with it, whenever room comes (trace.ts).
          options: options?.trace === undefined && activeTrace() !== undefined ? { ...options, trace: activeTrace() } : options,
          sender: this.#node.current,
          resolve: (result) => (done(), resolve(result)),
          reject: (error) => (done(), reject(error)),
          timer: null,
        };
        let queue = this.#waiting.get(ref.key);
        if (queue === undefined) {
          queue = [];
          this.#waiting.set(ref.key, queue);
          this.#retry(ref.key, 0);
        }
        queue.push(waiter);
        /** Takes the waiter out of the queue (a timeout, an abort); false if it was admitted already. */
        const leave = (): boolean => {
          const q = this.#waiting.get(ref.key);
          const at = q?.indexOf(waiter) ?? -1;
          if (at < 0) return false;
          q!.splice(at, 1);
          if (q!.length === 0) this.#waiting.delete(ref.key);
          return true;
        };
        waiter.timer = clock.setTimeout(() => {
          if (leave()) waiter.reject(new MailboxFullError(`no room in the mailbox of actor ${ref.id} within ${timeoutMs} ms`));
        }, timeoutMs);
        if (signal !== undefined) {
          // Aborted while it waits for room: it gives up, and nothing is sent.
          const abort = (): void => {
            if (!leave()) return;
            if (waiter.timer !== null) clock.clearTimeout(waiter.timer);
            waiter.reject(signal.reason as Error);
          };
          signal.addEventListener('abort', abort, { once: true });
          done = () => signal.removeEventListener('abort', abort);
        }
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * One tell for send(): throws as tell does. With a messageId, the result says whether the
   * receiver had seen that id already (K6): known at once on this thread, from a receipt that the
   * receiving thread sends back otherwise.
   */
  #sendNow(ref: ActorRefImpl, type: string, payload: unknown, options: SendOptions | undefined): Promise<SendResult> {
    const node = this.#node;
    node.locate(ref); // it may have moved (moves.ts)
    // Flow control: send waits while messages to the target's thread spill past the mark.
    if (ref.thread !== node.self && node.runtime.isBacklogged(ref.thread)) throw new MailboxFullError(`thread ${ref.thread} is behind: messages to it are past the high-water mark`);
    if (options?.messageId === undefined && ref.entity === undefined) {
      node.tell(ref, type, payload, options);
      return ACCEPTED;
    }
    // To an entity: accepted once stored. Main stores it itself (entity-posts.ts): the promise of
    // its store transaction says so, shared by the sends in it. Otherwise the key's thread stores
    // it, and says so in a receipt (entities.ts); so does it for one with a messageId (was it a
    // duplicate?).
    if (options?.messageId === undefined && ref.entity !== undefined && ref.thread !== node.self && node.posts.active) {
      node.tell(ref, type, payload, options);
      return node.posts.lastSent();
    }
    const counters = node.runtime.counters;
    if (ref.thread === node.self && ref.entity === undefined) {
      // The mailbox decides synchronously: the duplicates counter moves if and only if it was one.
      const before = counters[STAT_DUPLICATES]!;
      node.tell(ref, type, payload, options);
      return Promise.resolve(counters[STAT_DUPLICATES]! > before ? DUPLICATE : NOT_DUPLICATE);
    }
    const { corr, promise } = node.asks.open(node.askTimeoutMs, () => `receipt for ${type} to ${ref.id}`, ref.thread === node.self ? -1 : ref.thread, '', sendResult);
    try {
      node.tell(ref, type, payload, options, corr);
    } catch (error) {
      node.asks.reject(corr, error as Error);
      void promise.catch(() => undefined);
      throw error;
    }
    return promise;
  }

  /** True while sends of `cell`'s own wait for room. */
  waitingFrom(cell: Cell): boolean {
    for (const queue of this.#waiting.values()) for (const waiter of queue) if (waiter.sender === cell) return true;
    return false;
  }

  /** Admits the waiters for `key` in order while there is room; looks again soon while there is not. */
  #retry(key: number, attempt: number): void {
    const node = this.#node;
    const retry = (): void => {
      const queue = this.#waiting.get(key);
      if (queue === undefined) return;
      while (queue.length > 0) {
        const waiter = queue[0]!;
        const before = node.current;
        node.current = waiter.sender;
        let result: Promise<SendResult>;
        try {
          // Under no trace but its own (kept in its options): this retry runs in another waiter's context.
          result = untraced(() => this.#sendNow(waiter.ref, waiter.type, waiter.payload, waiter.options));
        } catch (error) {
          if (error instanceof MailboxFullError) {
            this.#retry(key, attempt + 1);
            return;
          }
          queue.shift();
          if (waiter.timer !== null) node.clock.clearTimeout(waiter.timer);
          waiter.reject(error as Error);
          continue;
        } finally {
          node.current = before;
        }
        queue.shift();
        if (waiter.timer !== null) node.clock.clearTimeout(waiter.timer);
        waiter.resolve(result);
      }
      this.#waiting.delete(key);
    };
    // Poll: room appears when the host starts a message, which it does not announce. The first
    // looks come on the next event-loop turns, later ones every millisecond.
    if (attempt < 64) setImmediate(retry);
    else setTimeout(retry, 1);
  }
}
