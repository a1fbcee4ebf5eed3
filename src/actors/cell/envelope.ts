// One message on its way through an actor's mailbox. Local tells build it directly; records from
// other threads are decoded into it. senderThread + corr address the reply of an ask.

import type { ExitReason } from '../types.js';

export const enum EnvelopeKind {
  Tell = 0,
  Ask = 1,
  /** A graceful stop: processed in order after everything accepted before it. */
  Stop = 2,
  /** A watched actor stopped: payload is a TerminatedNotice. Not a user message (not counted). */
  Terminated = 3,
  /** A linked actor exited: payload is a TerminatedNotice. Not a user message (not counted). */
  Exit = 4,
}


/** Exits that fail a linked actor that does not trap exits. */
export function isAbnormal(reason: ExitReason): boolean {
  return reason === 'failed' || reason === 'thread-exit' || reason === 'killed' || reason === 'noproc';
}

export interface TerminatedNotice {
  readonly thread: number;
  readonly key: number;
  readonly reason: ExitReason;
}

/** A priority flag: the message was sent by a dead-letter listener. */
export const QUIET = 4;

/**
 * Seven fields, not ten: kind, priority and the sender's thread share one small integer, and a
 * tell's messageId shares the slot of an ask's correlation id (a tell has none). An envelope
 * waits in a mailbox between the send and the handler, so its size is memory traffic on the
 * hottest path (72 bytes instead of 96 on a 64-bit heap).
 */
export class Envelope {
  /** kind (3 bits) | priority << 3 (2 bits) | quiet << 5 (1 bit) | senderThread << 6. */
  readonly #meta: number;
  readonly type: string;
  readonly payload: unknown;
  readonly senderKey: number;
  /** An ask's correlation id, or a tell's messageId (or 0). */
  readonly #corrOrId: number | string;
  /** Its id in this thread's custody log, if it came through a ring (runtime/custody-log.ts); else 0. */
  custody = 0;
  /** The trace context it carries (trace.ts), if any. */
  trace: string | undefined = undefined;

  constructor(
    kind: EnvelopeKind,
    type: string,
    payload: unknown,
    senderThread: number,
    senderKey: number,
    corr: number,
    /** 0..3, higher first; plus QUIET (sent by a dead-letter listener). */
    priority = 0,
    /** Set by the sender for dedup (MessageOptions.messageId); tells only. */
    messageId: string | undefined = undefined,
  ) {
    this.#meta = kind | (priority << 3) | (senderThread << 6);
    this.type = type;
    this.payload = payload;
    this.senderKey = senderKey;
    this.#corrOrId = messageId ?? corr;
  }

  get kind(): EnvelopeKind {
    return this.#meta & 7;
  }

  get priority(): number {
    return (this.#meta >> 3) & 3;
  }

  get senderThread(): number {
    return this.#meta >>> 6;
  }

  /** Sent by a dead-letter listener: should it die too, it is counted, not reported again (X2). */
  get quiet(): boolean {
    return (this.#meta & (QUIET << 3)) !== 0;
  }

  get corr(): number {
    const c = this.#corrOrId;
    return typeof c === 'number' ? c : 0;
  }

  get messageId(): string | undefined {
    const c = this.#corrOrId;
    return typeof c === 'string' ? c : undefined;
  }
}

/** The type of the ask that start() and ctx.startChild() make: answered by the runtime once the actor has started. */
export const STARTED = '@troupe/started';
