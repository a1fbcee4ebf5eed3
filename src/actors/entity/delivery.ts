// What an entity's handler is given, wrapped, as the payload of a message that came to it through
// its key's thread (entities.ts): the payload itself, its sequence number and messageId, and how
// to end it. The committing handler (define-entity.ts) unwraps it and commits the state it left
// together with the end of this message; a message that dies instead is ended by its dead letter.

import type { DeadLetterReason } from '../types.js';
import type { SourceMark } from './entity-store.js';

/** Where a delivery is ended: its key's thread's entities. */
export interface DeliverySlot {
  /** The message became a dead letter: ended for good, except when it dies with the process or thread (it is handled after restart). */
  dead(id: string, seq: number, messageId: string | null, reason: DeadLetterReason, source: SourceMark | null): void;
}

export class Delivery {
  readonly payload: unknown;
  readonly seq: number;
  readonly messageId: string | null;
  /** It came from another entity's outbox: its source and number there (outbox.ts). */
  readonly source: SourceMark | null;
  readonly #id: string;
  readonly #slot: DeliverySlot;

  constructor(payload: unknown, seq: number, messageId: string | null, source: SourceMark | null, id: string, slot: DeliverySlot) {
    this.payload = payload;
    this.seq = seq;
    this.messageId = messageId;
    this.source = source;
    this.#id = id;
    this.#slot = slot;
  }

  dead(reason: DeadLetterReason): void {
    this.#slot.dead(this.#id, this.seq, this.messageId, reason, this.source);
  }
}
