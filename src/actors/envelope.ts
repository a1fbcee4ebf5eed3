// One message on its way through an actor's mailbox. Local tells build it directly; records from
// other threads are decoded into it. senderThread + corr address the reply of an ask.

export const enum EnvelopeKind {
  Tell = 0,
  Ask = 1,
  /** A graceful stop: processed in order after everything accepted before it. */
  Stop = 2,
}

export class Envelope {
  constructor(
    readonly kind: EnvelopeKind,
    readonly type: string,
    readonly payload: unknown,
    readonly senderThread: number,
    readonly senderKey: number,
    readonly corr: number,
  ) {}
}
