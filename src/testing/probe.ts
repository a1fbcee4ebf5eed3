// TestProbe: an actor on the main thread that records every message it receives, so a test can
// wait for what an actor under test sends, wherever that actor runs, without sleeping.

import { AskTimeoutError, defineActor, type ActorContext, type ActorDefinition, type ActorRef, type ActorSystem, type AnyDefinition } from '../index.js';

export interface ProbeMessage {
  readonly type: string;
  readonly payload: unknown;
  /** The sending actor, if an actor sent it. */
  readonly sender: ActorRef<AnyDefinition> | undefined;
}

interface Waiter {
  readonly type: string | undefined;
  readonly resolve: (message: ProbeMessage) => void;
}

interface ProbeState {
  readonly queue: ProbeMessage[];
  readonly received: ProbeMessage[];
  waiter: Waiter | null;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyMessage = (ctx: ActorContext<unknown>, payload: any) => unknown;
/** A probe accepts any message type with any payload. */
export type ProbeDefinition = ActorDefinition<{ probe: number }, unknown, Record<string, AnyMessage>>;

const probes = new Map<number, ProbeState>();
let nextProbe = 0;

/** The type under which a probe records that an actor it watches ended. */
export const TERMINATED = 'terminated';
const WATCH = '@troupe/probe-watch';

function record(probe: number, message: ProbeMessage): void {
  const state = probes.get(probe);
  if (state === undefined) return;
  state.received.push(message);
  const waiter = state.waiter;
  if (waiter !== null && (waiter.type === undefined || waiter.type === message.type)) {
    state.waiter = null;
    waiter.resolve(message);
  } else {
    state.queue.push(message);
  }
}

const Probe = defineActor(import.meta.url, 'TestProbe', {
  init: (args: { probe: number }) => args.probe,
  handlers: {} as Record<string, AnyMessage>,
  onTerminated: (ctx, ref, reason) => {
    record(ctx.state, { type: TERMINATED, payload: { id: ref.id, reason }, sender: undefined });
  },
  receive: (ctx, type, payload) => {
    if (type === WATCH) {
      ctx.watch(payload as ActorRef<AnyDefinition>);
      return;
    }
    record(ctx.state, { type, payload, sender: ctx.sender });
  },
}) as unknown as ProbeDefinition;

export class TestProbe {
  /** Give this ref to the actors under test. */
  readonly ref: ActorRef<ProbeDefinition>;
  readonly #state: ProbeState = { queue: [], received: [], waiter: null };

  constructor(system: ActorSystem) {
    const id = ++nextProbe;
    probes.set(id, this.#state);
    this.ref = system.spawn(Probe, { probe: id }, { placement: { thread: 0 } });
  }

  /** The probe's ref typed as another actor's, for code that expects that actor. */
  refAs<D extends AnyDefinition>(): ActorRef<D> {
    return this.ref as unknown as ActorRef<D>;
  }

  /** Watches `ref`: when it ends for good, the probe records a `terminated` message. */
  watch(ref: ActorRef<AnyDefinition>): void {
    (this.ref as unknown as ActorRef<AnyDefinition> & { tell(type: string, payload: unknown): void }).tell(WATCH, ref);
  }

  /**
   * The next message must be the end of `ref` (watched with watch()); resolves to its reason
   * ('normal', 'failed', 'noproc', ...).
   */
  async expectTerminated(ref: ActorRef<AnyDefinition>, options: { timeoutMs?: number } = {}): Promise<string> {
    const message = await this.expectMessage(TERMINATED, options);
    const { id, reason } = message.payload as { id: string; reason: string };
    if (id !== ref.id) throw new Error(`expected ${ref.id} to end, but ${id} did`);
    return reason;
  }

  /** Everything received so far, expected or not, in arrival order. */
  get received(): readonly ProbeMessage[] {
    return this.#state.received;
  }

  /**
   * The next message not yet expected (of `type`, if given; messages of other types before it
   * are skipped and fail the expectation). Rejects with AskTimeoutError after `timeoutMs` of real
   * time (messages come from other threads, so this waits on real time, not the manual clock).
   */
  expectMessage(type?: string, options: { timeoutMs?: number } = {}): Promise<ProbeMessage> {
    const state = this.#state;
    const next = state.queue.shift();
    if (next !== undefined) return Promise.resolve(this.#check(next, type));
    const timeoutMs = options.timeoutMs ?? 3000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        state.waiter = null;
        reject(new AskTimeoutError(`expected a message${type === undefined ? '' : ` of type ${JSON.stringify(type)}`} within ${timeoutMs} ms, got none`));
      }, timeoutMs);
      state.waiter = {
        type: undefined,
        resolve: (message) => {
          clearTimeout(timer);
          try {
            resolve(this.#check(message, type));
          } catch (error) {
            reject(error);
          }
        },
      };
    });
  }

  /** Resolves if nothing arrives within `ms` of real time; rejects with what did arrive. */
  async expectNoMessage(ms = 100): Promise<void> {
    const state = this.#state;
    const early = state.queue.shift();
    if (early !== undefined) throw new Error(`expected no message, got ${describe(early)}`);
    const got = await new Promise<ProbeMessage | null>((resolve) => {
      const timer = setTimeout(() => {
        state.waiter = null;
        resolve(null);
      }, ms);
      state.waiter = {
        type: undefined,
        resolve: (message) => {
          clearTimeout(timer);
          resolve(message);
        },
      };
    });
    if (got !== null) throw new Error(`expected no message, got ${describe(got)}`);
  }

  #check(message: ProbeMessage, type: string | undefined): ProbeMessage {
    if (type !== undefined && message.type !== type) {
      throw new Error(`expected a message of type ${JSON.stringify(type)}, got ${describe(message)}`);
    }
    return message;
  }
}

function describe(message: ProbeMessage): string {
  let payload: string;
  try {
    payload = JSON.stringify(message.payload) ?? String(message.payload);
  } catch {
    payload = String(message.payload);
  }
  return `${JSON.stringify(message.type)} ${payload}`;
}
