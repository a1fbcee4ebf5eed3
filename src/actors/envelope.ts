// One message on its way through an actor's mailbox. Local tells build it directly; records from
// other threads are decoded into it. senderThread + corr address the reply of an ask.

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

/** Why an actor ended, as its watchers learn it. */
export type ExitReason = 'normal' | 'failed' | 'shutdown' | 'noproc' | 'thread-exit' | 'killed';

/** Exits that fail a linked actor that does not trap exits. */
export function isAbnormal(reason: ExitReason): boolean {
  return reason === 'failed' || reason === 'thread-exit' || reason === 'killed' || reason === 'noproc';
}

export interface TerminatedNotice {
  readonly thread: number;
  readonly key: number;
  readonly reason: ExitReason;
}

export class Envelope {
  constructor(
    readonly kind: EnvelopeKind,
    readonly type: string,
    readonly payload: unknown,
    readonly senderThread: number,
    readonly senderKey: number,
    readonly corr: number,
    /** 0..3, higher first. */
    readonly priority: number = 0,
    /** Set by the sender for dedup (MessageOptions.messageId). */
    readonly messageId: string | undefined = undefined,
  ) {}
}
