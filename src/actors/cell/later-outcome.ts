// A handler's outcome that stands only once a promise settles: its message is acked, and an ask
// answered, then; meanwhile the actor takes its next message. The commits of durable entities
// return it (entity/define-entity.ts), so that a key handles its next message while the commit
// of the last one is being written, and its answer still waits for that commit (the output
// gate). Only an actor in ack mode understands it (ack-mode.ts); a rejection undoes the attempt
// and every later one still waiting: they go again, in order, to a restarted actor.

/** Its brand: known by every copy of this module (a thread may load troupe twice, from dist and from source). */
const LATER = Symbol.for('troupe.laterOutcome');

export class LaterOutcome {
  readonly [LATER] = true;
  /** What the handler answered (an ask's reply, sent once `settled` resolves). */
  readonly value: unknown;
  readonly settled: Promise<unknown>;

  constructor(value: unknown, settled: Promise<unknown>) {
    this.value = value;
    this.settled = settled;
  }
}

export function isLaterOutcome(value: unknown): value is LaterOutcome {
  return typeof value === 'object' && value !== null && (value as { [LATER]?: boolean })[LATER] === true;
}
