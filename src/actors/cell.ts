// One live actor on its host thread: state, mailbox, status and lifecycle. The definition is
// data; the cell runs it. One message at a time: an async handler keeps the cell busy until it
// settles. A handler that throws fails this cell only; the cell restarts within its limit.

import { ActorFailedError, DeathPactError, asError } from '../errors.js';
import type { MailboxBounds } from '../runtime/bounds-table.js';
import type { Clock, TimerHandle } from '../runtime/clock.js';
import type { Runnable, ThreadRuntime } from '../runtime/thread-runtime.js';
import type { ActorRefImpl } from './actor-ref.js';
import { definitionSupervision, handlerTable } from './define.js';
import { DeliveryState, type Attempt } from './delivery.js';
import { Envelope, EnvelopeKind, STARTED, isAbnormal, type TerminatedNotice } from './envelope.js';
import { Mailbox } from './mailbox.js';
import type { ActorPolicy } from './policy.js';
import type { PoolHost } from './pool.js';
import { Supervisor } from './supervision.js';
import { ActorTimers } from './timers.js';
import type { AckHandle, ActorContext, AnyDefinition, DeadLetterReason, ExitReason, MessageOptions, SpawnOptions } from './types.js';
import { invalid, validateNumber } from '../validate.js';

/** Outcomes of messages, as a cell reports them (outcomes.ts). */
export interface MessageOutcomes {
  handledTells(n: number): void;
  handled(env: Envelope, result: unknown): void;
  failed(cell: Cell, env: Envelope, error: Error): void;
  unhandled(cell: Cell, env: Envelope): void;
  duplicate(): void;
  stashOverflow(cell: Cell, env: Envelope): void;
  evicted(cell: Cell, env: Envelope): void;
  attemptFailed(): void;
  maxDeliveries(cell: Cell, env: Envelope, error: Error, attempts: number): void;
  deliveryTerminated(cell: Cell, env: Envelope): void;
  reply(env: Envelope, value: unknown): void;
  replyFailure(cell: Cell, env: Envelope, error: Error): void;
}

/**
 * What a cell needs of the host of its thread (node.ts): the cell says what it uses, the host
 * provides it, and neither file imports the other's internals.
 */
export interface CellHost extends PoolHost {
  readonly self: number;
  readonly clock: Clock;
  readonly runtime: ThreadRuntime;
  readonly bounds: MailboxBounds;
  /** The cell whose handler runs now: the sender of what is sent meanwhile. */
  current: Cell | null;
  /** Async handlers in flight on this thread (at-most-once), for a forced stop's books. */
  inFlight: number;
  readonly stopReason: DeadLetterReason;
  idOf(key: number): string;
  refFor(thread: number, key: number): ActorRefImpl;
  newContext(cell: Cell): ActorContext<unknown>;
  // lifecycle
  spawn(definition: AnyDefinition, args: unknown, options: SpawnOptions | undefined, parent: Cell | null, routeeOf?: readonly [number, number] | null): ActorRefImpl;
  start(definition: AnyDefinition, args: unknown, options: SpawnOptions | undefined, parent: Cell | null): Promise<ActorRefImpl>;
  stopRef(ref: ActorRefImpl, graceful?: boolean, kill?: boolean): Promise<void>;
  stopCell(cell: Cell, reason: 'normal' | 'failed' | 'shutdown' | 'killed'): Promise<void>;
  stopChildren(cell: Cell): Promise<void>;
  startFailed(cell: Cell, error: Error): void;
  reportFailure(child: Cell, error: Error, normalExit?: boolean): void;
  // what handlers reach through ctx
  watch(cell: Cell, ref: ActorRefImpl): void;
  unwatch(cell: Cell, ref: ActorRefImpl): void;
  link(cell: Cell, ref: ActorRefImpl): void;
  unlink(cell: Cell, ref: ActorRefImpl): void;
  exitSignals(cell: Cell, reason: ExitReason): void;
  publish(topic: string, type: string, payload: unknown, options: MessageOptions | undefined): number;
  subscribe(topic: string, ref: ActorRefImpl, group: string | undefined): void;
  unsubscribe(topic: string, ref: ActorRefImpl, group: string | undefined): void;
  offload(url: string, input: unknown, name?: string): Promise<unknown>;
  timerFired(cell: Cell, type: string, payload: unknown): void;
  /** What becomes of each message: counted, answered, or a dead letter. */
  readonly outcomes: MessageOutcomes;
  seen(cell: Cell, id: string, at: number): void;
  // copies of ack-mode tells (keepCopies)
  replicates(key: number): boolean;
  replicaHeld(cell: Cell, env: Envelope, seq: number): void;
  replicaSettled(cell: Cell, seq: number): void;
}

/** 'suspended': failed under a supervising parent (or halted by it), waiting for its directive. */
export type CellStatus = 'starting' | 'running' | 'restarting' | 'suspended' | 'stopping' | 'stopped';

/** Messages per turn before the cell yields to other ready actors. */
const THROUGHPUT = 64;

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function';
}

/**
 * The parts of a cell that most actors never use: watches, restart and backoff bookkeeping,
 * timers, supervision, at-least-once state, stop promises. One pointer in the cell until needed
 * (about 100 bytes less per idle actor).
 */
class Rare {
  /** Actors this one watches, by key. */
  watching: Map<number, ActorRefImpl> | null = null;
  /** Actors watching this one: watcher key -> watcher thread. */
  watchers: Map<number, number> | null = null;
  /** Why this actor ends, for its watchers. */
  exitReason: ExitReason = 'normal';
  stopping: Promise<void> | null = null;
  restarts: number[] | null = null;
  /** Backoff bookkeeping, only for actors spawned with a backoff. */
  backoff: { inARow: number; runningSince: number; timer: TimerHandle | null } | null = null;
  idle: (() => void)[] | null = null;
  stopped: { promise: Promise<void>; resolve: () => void } | null = null;
  timers: ActorTimers | null = null;
  /** Its side as a supervisor (undefined: not looked up yet; null: it does not supervise). */
  supervisor: Supervisor | null | undefined = undefined;
  /** Under a supervising parent: the failure it reported, and who waits for it to run again. */
  lastError: Error | null = null;
  whenRunning: (() => void)[] | null = null;
  /** Ack mode and dedup, for actors spawned with a delivery option. */
  delivery: DeliveryState | null = null;
  /** Messages whose handler threw (and hooks that failed). */
  failed = 0;
  /** Linked actors, by key. */
  links: Map<number, ActorRefImpl> | null = null;
  trapExit = false;
}

export class Cell implements Runnable {
  readonly node: CellHost;
  readonly key: number;
  readonly parentThread: number;
  readonly parentKey: number;
  readonly args: unknown;
  readonly policy: ActorPolicy;
  /** The actor's state (what ctx.state reads and writes). */
  state: unknown = undefined;
  #ctx: ActorContext<unknown> | null = null;
  #definition: AnyDefinition | null = null;
  status: CellStatus = 'starting';
  scheduled = false;
  busy = false;
  handled = 0;
  queue: Mailbox | null = null;
  /** Children: actor key (unique system-wide) -> thread. Numbers, not refs: 56 bytes less per child. */
  children: Map<number, number> | null = null;
  /** What most actors never need, allocated on first use (see Rare). */
  #rare: Rare | null = null;
  #ref: ActorRefImpl | null = null;
  /** The sender of the message being handled (numbers, not the envelope: no write barrier). */
  #senderThread = 0;
  #senderKey = 0;

  constructor(
    node: CellHost,
    key: number,
    definition: AnyDefinition | null,
    args: unknown,
    parentThread: number,
    parentKey: number,
    policy: ActorPolicy,
  ) {
    this.node = node;
    this.key = key;
    this.definition = definition;
    this.args = args;
    this.parentThread = parentThread;
    this.parentKey = parentKey;
    this.policy = policy;
    const bound = policy.mailbox;
    if (bound !== null) {
      this.queue = bound.overflow === 'drop-oldest' ? new Mailbox(null, -1, bound.capacity) : new Mailbox(node.bounds, node.bounds.entryOf(key));
    }
    if (policy.delivery !== null) this.#more().delivery = new DeliveryState(policy.delivery);
  }

  /** Refs to the children, oldest first. */
  childRefs(): ActorRefImpl[] {
    const refs: ActorRefImpl[] = [];
    if (this.children !== null) for (const [key, thread] of this.children) refs.push(this.node.refFor(thread, key));
    return refs;
  }

  /** What handlers and hooks get; created on first use. */
  get ctx(): ActorContext<unknown> {
    return (this.#ctx ??= this.node.newContext(this));
  }

  #more(): Rare {
    return (this.#rare ??= new Rare());
  }

  get watching(): Map<number, ActorRefImpl> | null {
    return this.#rare === null ? null : this.#rare.watching;
  }
  set watching(value: Map<number, ActorRefImpl> | null) {
    this.#more().watching = value;
  }
  get watchers(): Map<number, number> | null {
    return this.#rare === null ? null : this.#rare.watchers;
  }
  set watchers(value: Map<number, number> | null) {
    this.#more().watchers = value;
  }
  get exitReason(): ExitReason {
    return this.#rare === null ? 'normal' : this.#rare.exitReason;
  }
  set exitReason(value: ExitReason) {
    this.#more().exitReason = value;
  }
  get links(): Map<number, ActorRefImpl> | null {
    return this.#rare === null ? null : this.#rare.links;
  }
  set links(value: Map<number, ActorRefImpl> | null) {
    this.#more().links = value;
  }
  get trapExit(): boolean {
    return this.#rare !== null && this.#rare.trapExit;
  }
  set trapExit(on: boolean) {
    this.#more().trapExit = on;
  }

  get failed(): number {
    return this.#rare === null ? 0 : this.#rare.failed;
  }

  get stopping(): Promise<void> | null {
    return this.#rare === null ? null : this.#rare.stopping;
  }
  set stopping(value: Promise<void> | null) {
    this.#more().stopping = value;
  }

  /** Created on first use: most actors never set a timer. */
  get timers(): ActorTimers {
    return (this.#more().timers ??= new ActorTimers(this.node.clock, (type, payload) => this.node.timerFired(this, type, payload)));
  }

  /** Cancels every timer (on stop and on restart). */
  cancelTimers(): void {
    const rare = this.#rare;
    if (rare === null) return;
    rare.timers?.cancelAll();
    const b = rare.backoff;
    if (b !== null && b.timer !== null) {
      this.node.clock.clearTimeout(b.timer);
      b.timer = null;
    }
  }

  get definition(): AnyDefinition | null {
    return this.#definition;
  }

  set definition(definition: AnyDefinition | null) {
    this.#definition = definition;
  }

  get self(): ActorRefImpl {
    return (this.#ref ??= this.node.refFor(this.node.self, this.key));
  }

  get sender(): ActorRefImpl | undefined {
    if (this.#senderKey === 0) return undefined;
    return this.node.refFor(this.#senderThread, this.#senderKey);
  }

  /** Stopping or stopped: it accepts no more messages. */
  get ending(): boolean {
    return this.status === 'stopping' || this.status === 'stopped';
  }

  get depth(): number {
    return this.queue === null ? 0 : this.queue.length;
  }

  /**
   * Puts a plain tell (lane 0, no message id, not quiet) in the mailbox, without an Envelope when
   * nothing else applies (no bounds, no dedup or copies, no backoff stash). The caller checked
   * that the cell is not stopping.
   */
  tell(type: string, payload: unknown, senderThread: number, senderKey: number): void {
    const queue = (this.queue ??= new Mailbox());
    const rare = this.#rare;
    if (!queue.plain || (rare !== null && (rare.delivery !== null || (rare.backoff !== null && rare.backoff.timer !== null)))) {
      this.enqueue(new Envelope(EnvelopeKind.Tell, type, payload, senderThread, senderKey, 0));
      return;
    }
    queue.pushTell(type, payload, senderThread, senderKey);
    if (this.status === 'running' && !this.busy && !this.scheduled) {
      this.scheduled = true;
      this.node.runtime.schedule(this);
    }
  }

  /** Puts a message in the mailbox; the caller checked that the cell is not stopping. */
  enqueue(env: Envelope): void {
    const queue = (this.queue ??= new Mailbox());
    const rare = this.#rare;
    const d = rare === null ? null : rare.delivery;
    if (d !== null && env.messageId !== undefined && env.kind === EnvelopeKind.Tell) {
      const now = this.node.clock.now();
      if (d.isDuplicate(env.messageId, now)) {
        queue.discard(env);
        this.node.outcomes.duplicate();
        return;
      }
      this.node.seen(this, env.messageId, now); // kept by its spawner too: the table outlives this thread (K7)
    }
    if (rare !== null && rare.backoff !== null && rare.backoff.timer !== null && queue.length >= this.policy.stashCapacity && env.kind !== EnvelopeKind.Terminated) {
      queue.discard(env);
      this.node.outcomes.stashOverflow(this, env);
      return;
    }
    const evicted = queue.push(env);
    if (d !== null && d.policy.keepCopies && env.kind === EnvelopeKind.Tell) this.#replicate(d, env);
    if (evicted !== undefined) {
      this.node.outcomes.evicted(this, evicted);
      if (d !== null) this.#finished(d, evicted);
    }
    if (this.status === 'running' && !this.busy && !this.scheduled) {
      this.scheduled = true;
      this.node.runtime.schedule(this);
    }
  }

  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.node.runtime.schedule(this);
  }

  run(): void {
    this.scheduled = false;
    if (this.busy) return;
    if (this.status === 'starting' || this.status === 'restarting') {
      this.#start();
      return;
    }
    if (this.status !== 'running') return;
    if (this.policy.delivery !== null && this.policy.delivery.ack) {
      this.#runAcked(this.#rare!.delivery!);
      return;
    }
    const queue = this.queue;
    if (queue === null) return;
    // The node's current actor (sender of any tell made now) is this one for the whole batch.
    const node = this.node;
    const handlers = handlerTable(this.#definition!); // once per batch
    const ctx = this.ctx;
    node.current = this;
    // Tells take #process's path written out here (deliberately the same steps, without the
    // call and the kind checks: that was most of the gap to the bare-mailbox floor). Tells that
    // a handler settled synchronously are counted once per batch, not per message.
    let handled = 0;
    try {
      for (let budget = THROUGHPUT; budget > 0 && queue.length > 0; budget--) {
        // A plain tell comes without an Envelope (see mailbox.ts); one is built only if it is
        // needed after all (no handler, a throw, an async handler).
        let env: Envelope | undefined;
        let type = queue.takeTell();
        let payload: unknown;
        if (type !== undefined) {
          payload = queue.payload;
          queue.payload = undefined;
          this.#senderThread = queue.senderThread;
          this.#senderKey = queue.senderKey;
        } else {
          env = queue.shift()!;
          if (env.kind !== EnvelopeKind.Tell) {
            this.#process(env);
            if (this.busy || this.status !== 'running') return;
            continue;
          }
          type = env.type;
          payload = env.payload;
          this.#senderThread = env.senderThread;
          this.#senderKey = env.senderKey;
        }
        const handler = handlers[type];
        if (handler === undefined) {
          this.#process(env ?? this.#plain(type, payload));
          if (this.busy || this.status !== 'running') return;
          continue;
        }
        let result: unknown;
        try {
          result = handler(ctx as never, payload);
        } catch (error) {
          this.#fail(env ?? this.#plain(type, payload), error);
          return;
        }
        if (isThenable(result)) {
          this.#awaitHandler(env ?? this.#plain(type, payload), result);
          return;
        }
        handled++;
        if (this.status !== 'running') return;
      }
    } finally {
      node.current = null;
      if (handled > 0) {
        this.handled += handled;
        node.outcomes.handledTells(handled);
      }
    }
    if (queue.length > 0) this.schedule();
  }

  /** The Envelope of the plain tell being handled (its sender is the current one). */
  #plain(type: string, payload: unknown): Envelope {
    return new Envelope(EnvelopeKind.Tell, type, payload, this.#senderThread, this.#senderKey, 0);
  }

  // ---- start and restart ----------------------------------------------------------------------

  #start(): void {
    const definition = this.definition;
    if (definition === null) return; // still loading its module; the node schedules us later
    let state: unknown;
    try {
      state = definition.spec.init(this.args);
    } catch (error) {
      this.#startFailed(error);
      return;
    }
    if (isThenable(state)) {
      this.busy = true;
      state.then(
        (s) => this.#initialized(s),
        (error) => this.#startFailed(error),
      );
      return;
    }
    this.#initialized(state);
  }

  #initialized(state: unknown): void {
    this.busy = false;
    this.state = state;
    const onStart = this.definition!.spec.onStart;
    if (onStart !== undefined) {
      let result: unknown;
      try {
        result = onStart(this.ctx as never);
      } catch (error) {
        this.#startFailed(error);
        return;
      }
      if (isThenable(result)) {
        this.busy = true;
        result.then(
          () => this.#running(),
          (error) => this.#startFailed(error),
        );
        return;
      }
    }
    this.#running();
  }

  #running(): void {
    this.busy = false;
    this.#ranAgain();
    if (this.status === 'stopping') {
      this.#settleIdle();
      return;
    }
    this.status = 'running';
    if (this.policy.backoff !== null) (this.#more().backoff ??= { inARow: 0, runningSince: 0, timer: null }).runningSince = this.node.clock.now();
    if (this.depth > 0 || (this.#rare?.delivery?.redeliver.length ?? 0) > 0) this.schedule();
  }

  #startFailed(thrown: unknown): void {
    this.busy = false;
    if (this.status === 'stopping') {
      this.#settleIdle();
      return;
    }
    // A first start that fails ends the actor (ActorInitializationError); a restart that fails
    // counts as one more failure and is retried within the restart limits (R3).
    if (this.status === 'restarting') this.#restart(asError(thrown));
    else this.node.startFailed(this, asError(thrown));
  }

  // ---- messages -------------------------------------------------------------------------------

  #process(env: Envelope): void {
    if (env.kind === EnvelopeKind.Stop) {
      void this.node.stopCell(this, 'normal');
      return;
    }
    if (env.kind === EnvelopeKind.Terminated) {
      this.#terminated(env.payload as TerminatedNotice);
      return;
    }
    if (env.kind === EnvelopeKind.Exit) {
      this.#linkedExit(env.payload as TerminatedNotice);
      return;
    }
    if (env.type === STARTED && env.kind === EnvelopeKind.Ask) {
      this.handled++; // start() asked: it has started, since messages wait until it has
      this.node.outcomes.handled(env, null);
      return;
    }
    const handler = handlerTable(this.#definition!)[env.type];
    const fallback = handler === undefined ? this.#definition!.spec.receive : undefined;
    if (handler === undefined && fallback === undefined) {
      this.node.outcomes.unhandled(this, env);
      return;
    }
    this.#senderThread = env.senderThread;
    this.#senderKey = env.senderKey;
    const node = this.node;
    let result: unknown;
    try {
      result = handler !== undefined ? handler(this.ctx as never, env.payload) : fallback!(this.ctx as never, env.type, env.payload);
    } catch (error) {
      this.#fail(env, error);
      return;
    }
    if (isThenable(result)) {
      this.#awaitHandler(env, result);
      return;
    }
    this.handled++;
    node.outcomes.handled(env, result);
  }

  /** An async handler: the actor is busy until it settles (counted in flight, for a forced stop). */
  #awaitHandler(env: Envelope, result: PromiseLike<unknown>): void {
    const node = this.node;
    this.busy = true;
    node.inFlight++;
    result.then(
      (value) => {
        node.inFlight--;
        this.#settled(env, value);
      },
      (error) => {
        node.inFlight--;
        this.#fail(env, error);
      },
    );
  }

  // ---- at-least-once delivery ------------------------------------------------------------------

  /** The attempt in progress (ack mode), for ctx.deliveryCount. */
  get attempt(): Attempt | null {
    return this.#rare?.delivery?.current ?? null;
  }

  /** Ack mode: the message whose attempt is running now, if any. */
  get currentAttempt(): Envelope | null {
    return this.#rare?.delivery?.current?.env ?? null;
  }

  /** A restart on a new thread: the message ids its dedup table had taken (K7). */
  rememberSeen(entries: readonly (readonly [string, number])[]): void {
    this.#rare?.delivery?.remember(entries);
  }

  /**
   * Messages the actor holds outside its mailbox (taken on stop): those to send again, and those
   * whose deferred ack never came.
   */
  takeRedeliveries(): { env: Envelope; count: number }[] {
    const d = this.#rare?.delivery ?? null;
    if (d === null) return [];
    const taken = [...d.redeliver];
    d.redeliver.length = 0;
    for (const attempt of d.deferred) {
      if (attempt.timer !== null) this.node.clock.clearTimeout(attempt.timer);
      attempt.timer = null;
      attempt.settled = true;
      taken.push({ env: attempt.env, count: attempt.count + 1 });
    }
    d.deferred.clear();
    return taken;
  }

  /** A message another member of its pool left unhandled (G4): delivered ahead of the queue, as attempt `count`. */
  redeliver(env: Envelope, count: number): void {
    const d = this.#rare?.delivery ?? null;
    if (d === null || !d.policy.ack) {
      this.enqueue(env);
      return;
    }
    d.redeliver.push({ env, count });
    if (d.policy.keepCopies) this.#replicate(d, env);
    if (this.status === 'running' && !this.busy) this.schedule();
  }

  /**
   * Ack mode, hosted away from its spawner's thread: a tell it now holds is copied there, so that
   * it goes again to the restarted actor should this thread die before it is done (at-least-once
   * across a thread's death).
   */
  #replicate(d: DeliveryState, env: Envelope): void {
    if (!this.node.replicates(this.key)) return;
    const seq = d.replicas.add(env);
    if (seq !== 0) this.node.replicaHeld(this, env, seq);
  }

  /** The message is done with for good (handled, acked, or a dead letter): its copy can go. */
  #finished(d: DeliveryState, env: Envelope): void {
    const seq = d.replicas.finish(env);
    if (seq !== 0) this.node.replicaSettled(this, seq);
  }

  /** Stopped: whatever it held has been handled, dead-lettered or handed to its pool. */
  get heldReplicas(): boolean {
    return (this.#rare?.delivery?.replicas.size ?? 0) > 0;
  }

  /** Ack mode: at most maxAckPending outstanding attempts; messages to send again go first. */
  #runAcked(d: DeliveryState): void {
    if (d.waitTimer !== null || d.current !== null || d.deferred.size >= d.policy.maxAckPending) return;
    const node = this.node;
    node.current = this;
    try {
      for (let budget = THROUGHPUT; budget > 0; budget--) {
        let env: Envelope | undefined;
        let count = 1;
        const again = d.redeliver.shift();
        if (again !== undefined) {
          ({ env, count } = again);
        } else {
          env = this.queue?.shift();
        }
        if (env === undefined) return;
        if (env.kind > EnvelopeKind.Ask || (handlerTable(this.#definition!)[env.type] === undefined && this.#definition!.spec.receive === undefined)) {
          this.#process(env);
          this.#finished(d, env);
        } else this.#attempt(d, env, count);
        if (this.busy || this.status !== 'running' || d.waitTimer !== null || d.current !== null || d.deferred.size >= d.policy.maxAckPending) return;
      }
    } finally {
      node.current = null;
    }
    if (this.depth > 0 || d.redeliver.length > 0) this.schedule();
  }

  #attempt(d: DeliveryState, env: Envelope, count: number): void {
    const attempt: Attempt = { env, count, timer: null, settled: false, acked: false, deferred: false };
    d.current = attempt;
    this.#senderThread = env.senderThread;
    this.#senderKey = env.senderKey;
    const handler = handlerTable(this.#definition!)[env.type];
    let result: unknown;
    try {
      result = handler !== undefined ? handler(this.ctx as never, env.payload) : this.#definition!.spec.receive!(this.ctx as never, env.type, env.payload);
    } catch (error) {
      this.#attemptFailed(d, attempt, error);
      return;
    }
    if (isThenable(result)) {
      this.busy = true;
      // A synchronous handler cannot overrun: only an async one gets an ack deadline.
      if (!attempt.settled) attempt.timer = this.node.clock.setTimeout(() => this.#attemptExpired(d, attempt), d.policy.ackWaitMs);
      result.then(
        (value) => this.#attemptDone(d, attempt, value),
        (error) => this.#attemptFailed(d, attempt, error),
      );
      return;
    }
    this.#attemptDone(d, attempt, result);
  }

  /** Ends the attempt's hold on the actor; false if it was abandoned (its outcome is ignored). */
  #release(d: DeliveryState, attempt: Attempt): boolean {
    if (d.current !== attempt) return false;
    d.current = null;
    if (attempt.timer !== null) this.node.clock.clearTimeout(attempt.timer);
    attempt.timer = null;
    this.busy = false;
    return true;
  }

  #attemptDone(d: DeliveryState, attempt: Attempt, value: unknown): void {
    if (!this.#release(d, attempt)) return;
    if (!attempt.settled && attempt.deferred) {
      // Its ack comes later, through its handle; an ask gets the handler's answer now.
      d.deferred.add(attempt);
      attempt.timer ??= this.node.clock.setTimeout(() => this.#deferredExpired(d, attempt), d.policy.ackWaitMs);
      this.node.outcomes.reply(attempt.env, value);
    } else if (!attempt.settled) {
      attempt.settled = true;
      this.handled++;
      this.node.outcomes.handled(attempt.env, value);
      this.#finished(d, attempt.env);
    } else if (attempt.acked) {
      this.node.outcomes.reply(attempt.env, value); // counted at the explicit ack; the answer comes now
    }
    if (this.status === 'stopping') this.#settleIdle();
    else if (this.depth > 0 || d.redeliver.length > 0) this.schedule();
  }

  /** A deferred ack that did not come within ackWaitMs: the message goes again. */
  #deferredExpired(d: DeliveryState, attempt: Attempt): void {
    attempt.timer = null;
    if (!d.deferred.delete(attempt) || attempt.settled) return;
    attempt.settled = true;
    this.#retry(d, attempt, new Error(`not acknowledged within ${d.policy.ackWaitMs} ms`), d.delayBefore(attempt.count + 1));
    this.schedule();
  }

  /** ctx.deferAck(): the current message stays outstanding past its handler, until its handle settles it. */
  deferAck(): AckHandle {
    const d = this.#rare?.delivery ?? null;
    if (d === null || !d.policy.ack) throw invalid('ctx.deferAck()', "an actor spawned with delivery: { mode: 'at-least-once' }", 'deferAck');
    const attempt = d.current;
    if (attempt === null) throw invalid('ctx.deferAck()', 'a call from the handler of a message', 'deferAck');
    attempt.deferred = true;
    const settle = (verb: 'ack' | 'nack' | 'in-progress' | 'term', delayMs = 0): void => {
      if (d.current === attempt) {
        this.settleAttempt(verb, delayMs); // the handler is still running: as ctx.ack() and the rest
        return;
      }
      if (attempt.settled || !d.deferred.has(attempt)) return; // idempotent; late calls change nothing
      if (verb === 'in-progress') {
        if (attempt.timer !== null) this.node.clock.clearTimeout(attempt.timer);
        attempt.timer = this.node.clock.setTimeout(() => this.#deferredExpired(d, attempt), d.policy.ackWaitMs);
        return;
      }
      d.deferred.delete(attempt);
      this.#conclude(d, attempt, verb, delayMs);
      if (this.status === 'running') this.schedule(); // a slot is free again
    };
    return {
      ack: () => settle('ack'),
      nack: (delayMs = 0) => settle('nack', validateNumber(delayMs, 'ackHandle.nack(delayMs)', 0, 2 ** 31)),
      inProgress: () => settle('in-progress'),
      term: () => settle('term'),
    };
  }

  #attemptFailed(d: DeliveryState, attempt: Attempt, thrown: unknown): void {
    if (!this.#release(d, attempt)) return;
    const error = asError(thrown);
    this.#more().failed++;
    this.node.outcomes.attemptFailed();
    this.node.exitSignals(this, 'failed');
    if (!attempt.settled) {
      attempt.settled = true;
      this.#retry(d, attempt, error, d.delayBefore(attempt.count + 1));
    } else if (attempt.acked) {
      this.node.outcomes.replyFailure(this, attempt.env, error);
    }
    if (this.status === 'stopping') {
      this.#settleIdle();
      return;
    }
    this.#restart(error); // a throw still fails the actor; the message goes to the new instance
  }

  /** ackWaitMs passed with the handler still running: abandon it and send the message again. */
  #attemptExpired(d: DeliveryState, attempt: Attempt): void {
    attempt.timer = null;
    if (d.current !== attempt || attempt.settled) return;
    this.#release(d, attempt);
    attempt.settled = true;
    this.#retry(d, attempt, new Error(`not acknowledged within ${d.policy.ackWaitMs} ms`), d.delayBefore(attempt.count + 1));
    if (this.status === 'stopping') this.#settleIdle();
    else this.schedule();
  }

  /** Sends the message again after `delayMs`, or dead-letters it once maxDeliver is reached. */
  #retry(d: DeliveryState, attempt: Attempt, error: Error, delayMs: number): void {
    if (attempt.count >= d.policy.maxDeliver) {
      this.node.outcomes.maxDeliveries(this, attempt.env, error, attempt.count);
      this.#finished(d, attempt.env);
      return;
    }
    d.redeliver.push({ env: attempt.env, count: attempt.count + 1 });
    if (delayMs > 0) {
      d.waitTimer = this.node.clock.setTimeout(() => {
        d.waitTimer = null;
        this.schedule();
      }, delayMs);
    }
  }

  /** ctx.ack / nack / inProgress / term, on the attempt in progress. */
  settleAttempt(verb: 'ack' | 'nack' | 'in-progress' | 'term', delayMs = 0): void {
    const d = this.#rare?.delivery ?? null;
    if (d === null || !d.policy.ack) throw invalid(`ctx.${verb === 'in-progress' ? 'inProgress' : verb}()`, "an actor spawned with delivery: { mode: 'at-least-once' }", verb);
    const attempt = d.current;
    if (attempt === null || attempt.settled) return; // acks are idempotent; late ones change nothing
    if (verb === 'in-progress') {
      if (attempt.timer !== null) {
        this.node.clock.clearTimeout(attempt.timer);
        attempt.timer = this.node.clock.setTimeout(() => this.#attemptExpired(d, attempt), d.policy.ackWaitMs);
      }
      return;
    }
    this.#conclude(d, attempt, verb, delayMs);
  }

  /** Settles an attempt for good, from its handler (ctx.ack and the rest) or its deferred handle. */
  #conclude(d: DeliveryState, attempt: Attempt, verb: 'ack' | 'nack' | 'term', delayMs: number): void {
    attempt.settled = true;
    if (attempt.timer !== null) this.node.clock.clearTimeout(attempt.timer);
    attempt.timer = null;
    if (verb === 'ack') {
      attempt.acked = true; // read only while its handler runs on (the answer of an acked ask)
      this.handled++;
      this.node.outcomes.handledTells(1);
      this.#finished(d, attempt.env);
    } else if (verb === 'nack') {
      this.#retry(d, attempt, new Error('nacked'), delayMs);
    } else {
      this.node.outcomes.deliveryTerminated(this, attempt.env);
      this.#finished(d, attempt.env);
    }
  }

  /** A watched actor ended. A signal, not a user message: it is not counted as handled. */
  #terminated(notice: TerminatedNotice): void {
    const ref = this.watching?.get(notice.key);
    if (ref === undefined) return; // unwatched since it was queued
    this.watching!.delete(notice.key);
    const hook = this.#definition!.spec.onTerminated;
    if (hook === undefined) {
      this.#signalFailed(new DeathPactError(`actor ${ref.id}, which this actor watches, ended (${notice.reason}) and no onTerminated handles it`));
      return;
    }
    this.#runSignalHook(hook, ref, notice.reason);
  }

  /** onTerminated or onExit: a failure of the hook (thrown or rejected) fails the actor. */
  #runSignalHook(hook: (ctx: never, ref: never, reason: ExitReason) => unknown, ref: ActorRefImpl, reason: ExitReason): void {
    let result: unknown;
    try {
      result = hook(this.ctx as never, ref as never, reason);
    } catch (error) {
      this.#signalFailed(error);
      return;
    }
    if (!isThenable(result)) return;
    this.busy = true;
    result.then(
      () => {
        this.busy = false;
        if (this.status === 'stopping') this.#settleIdle();
        else if (this.depth > 0) this.schedule();
      },
      (error) => {
        this.busy = false;
        this.#signalFailed(error);
      },
    );
  }

  /** A linked actor exited: onExit if this actor traps exits, else a failure if it was abnormal. */
  #linkedExit(notice: TerminatedNotice): void {
    const ref = this.node.refFor(notice.thread, notice.key);
    const hook = this.#definition!.spec.onExit;
    if (!this.trapExit || hook === undefined) {
      if (isAbnormal(notice.reason)) this.#signalFailed(new ActorFailedError(`linked actor ${ref.id} exited (${notice.reason})`));
      return;
    }
    this.#runSignalHook(hook, ref, notice.reason);
  }

  #signalFailed(thrown: unknown): void {
    this.#more().failed++;
    this.node.exitSignals(this, 'failed');
    if (this.status === 'stopping') {
      this.#settleIdle();
      return;
    }
    this.#restart(asError(thrown));
  }

  #settled(env: Envelope, value: unknown): void {
    this.busy = false;
    this.handled++;
    this.node.outcomes.handled(env, value);
    if (this.status === 'stopping') {
      this.#settleIdle();
      return;
    }
    if (this.depth > 0) this.schedule();
  }

  #fail(env: Envelope, thrown: unknown): void {
    this.busy = false;
    const error = asError(thrown);
    this.handled++;
    this.#more().failed++;
    this.node.outcomes.failed(this, env, error);
    this.node.exitSignals(this, 'failed');
    if (this.status === 'stopping') {
      this.#settleIdle();
      return;
    }
    this.#restart(error);
  }

  /** Restarts behind the same ref: queued messages stay, the failing one is not reprocessed. */
  #restart(error: Error): void {
    if (this.policy.supervised) {
      this.#suspend(error);
      return;
    }
    const now = this.node.clock.now();
    const restarts = (this.#more().restarts ??= []);
    const backoff = this.policy.backoff;
    if (backoff !== null) {
      const b = (this.#more().backoff ??= { inARow: 0, runningSince: now, timer: null });
      if (this.status === 'running' && now - b.runningSince >= backoff.resetAfterMs) b.inARow = 0;
      if (b.inARow >= this.policy.maxRestarts) {
        void this.node.stopCell(this, 'failed');
        return;
      }
      b.inARow++;
    } else {
      while (restarts.length > 0 && now - restarts[0]! > this.policy.windowMs) restarts.shift();
      if (restarts.length >= this.policy.maxRestarts) {
        void this.node.stopCell(this, 'failed');
        return;
      }
    }
    restarts.push(now);
    this.#beginRestart(error, () => this.#restartAfterBackoff());
  }

  /**
   * The common part of every restart: timers cancelled, children stopped newest first (a
   * restart does not keep the old incarnation's children), onRestart (if `error`), then `next`.
   */
  #beginRestart(error: Error | null, next: () => void): void {
    this.cancelTimers();
    this.status = 'restarting';
    if (this.#rare !== null) this.#rare.supervisor = undefined; // a new incarnation supervises afresh (its restart window too)
    const onRestart = error === null ? undefined : this.definition!.spec.onRestart;
    const hook = (): unknown => {
      if (onRestart === undefined) return undefined;
      try {
        return onRestart(this.ctx as never, error!);
      } catch {
        return undefined; // a failing onRestart hook does not stop the restart
      }
    };
    if (this.children === null || this.children.size === 0) {
      const result = hook();
      if (!isThenable(result)) {
        next();
        return;
      }
    }
    this.busy = true;
    const go = (): void => {
      this.busy = false;
      if (this.status === 'stopping') this.#settleIdle();
      else next();
    };
    this.node
      .stopChildren(this)
      .then(hook)
      .catch(() => undefined)
      .then(go, go);
  }

  // ---- supervision ------------------------------------------------------------------------------

  /** The supervisor side of this actor, if its spawn options or its definition give it one. */
  get supervisor(): Supervisor | null {
    const rare = this.#rare;
    if (rare === null || rare.supervisor === undefined) {
      const policy = this.policy.supervision ?? (this.#definition === null ? null : definitionSupervision(this.#definition));
      if (policy === null && rare === null) return null; // not worth a Rare to say so
      this.#more().supervisor = policy === null ? null : new Supervisor(policy);
    }
    return this.#rare!.supervisor!;
  }

  /** A permanent supervised child that stopped itself: its parent restarts it (once idle). */
  exitNormally(): void {
    void this.whenIdle().then(() => {
      if (this.status !== 'running') return;
      this.cancelTimers();
      this.status = 'suspended';
      if (this.#rare !== null) this.#rare.lastError = null;
      this.node.reportFailure(this, new Error('exited normally'), true);
    });
  }

  /** Failed under a supervising parent: nothing runs until the parent's directive. */
  #suspend(error: Error): void {
    this.cancelTimers();
    this.status = 'suspended';
    this.#more().lastError = error;
    this.#ranAgain(); // a restart that failed again: whoever waited for it hears of it now
    this.node.reportFailure(this, error);
  }

  #ranAgain(): void {
    const rare = this.#rare;
    if (rare === null || rare.whenRunning === null) return;
    const waiters = rare.whenRunning;
    rare.whenRunning = null;
    for (const resolve of waiters) resolve();
  }

  #untilRunning(): Promise<void> {
    return new Promise((resolve) => (this.#more().whenRunning ??= []).push(resolve));
  }

  /**
   * Carries out a supervisor's directive: resume (keep the state), restart (after a failure),
   * halt (a sibling's restart: onStop, children stopped, then wait), start (after a halt).
   * Resolves once done: for halt with this actor's restart type, otherwise with null.
   */
  async applyDirective(verb: 'resume' | 'restart' | 'halt' | 'start'): Promise<unknown> {
    if (verb === 'halt') {
      while (this.busy) await this.whenIdle();
      if (this.ending) return null;
      this.cancelTimers();
      this.status = 'suspended';
      if (this.#rare !== null) this.#rare.lastError = null;
      const onStop = this.#definition?.spec.onStop;
      if (onStop !== undefined) {
        this.busy = true;
        try {
          await onStop(this.ctx as never);
        } catch {
          // As in a stop: an onStop failure changes nothing.
        }
        this.busy = false;
      }
      if (this.children !== null && this.children.size > 0) await this.node.stopChildren(this);
      if ((this.status as CellStatus) === 'stopping') this.#settleIdle();
      return this.policy.restart;
    }
    if (this.status !== 'suspended') return null;
    if (verb === 'resume') {
      this.status = 'running';
      if (this.depth > 0) this.schedule();
      return null;
    }
    const running = this.#untilRunning();
    this.#beginRestart(verb === 'restart' ? (this.#rare?.lastError ?? new Error('restarted by its supervisor')) : null, () => this.schedule());
    await running;
    return null;
  }

  /**
   * A supervisor that escalates fails as if a handler had thrown. One that gave up (its children
   * passed its restart limit) fails to its own supervising parent, which decides; with none, it
   * stops (R1).
   */
  failFromSupervision(error: Error, gaveUp: boolean): void {
    if (this.busy) {
      void this.whenIdle().then(() => this.failFromSupervision(error, gaveUp));
      return;
    }
    if (this.status !== 'running' && this.status !== 'suspended') return;
    this.#more().failed++;
    if (gaveUp && !this.policy.supervised) {
      this.exitReason = 'failed';
      void this.node.stopCell(this, 'failed');
      return;
    }
    this.#restart(error);
  }

  /** Starts the new incarnation now, or after the backoff delay (messages wait meanwhile). */
  #restartAfterBackoff(): void {
    const backoff = this.policy.backoff;
    if (backoff === null) {
      this.schedule();
      return;
    }
    const b = this.#rare!.backoff!;
    const base = Math.min(backoff.maxMs, backoff.minMs * 2 ** (b.inARow - 1));
    const delay = base + Math.random() * backoff.jitter * base;
    b.timer = this.node.clock.setTimeout(() => {
      b.timer = null;
      if (this.status === 'restarting') this.schedule();
    }, delay);
  }


  // ---- stopping -------------------------------------------------------------------------------

  /** Resolves once no handler or hook of this cell is running. */
  whenIdle(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve) => (this.#more().idle ??= []).push(resolve));
  }

  #settleIdle(): void {
    const rare = this.#rare;
    if (rare === null || rare.idle === null) return;
    const waiters = rare.idle;
    rare.idle = null;
    for (const resolve of waiters) resolve();
  }

  /** Resolves once the cell has stopped, however that comes about. */
  whenStopped(): Promise<void> {
    if (this.status === 'stopped') return Promise.resolve();
    const rare = this.#more();
    if (rare.stopped === null) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      rare.stopped = { promise, resolve };
    }
    return rare.stopped.promise;
  }

  /** Called by the node when the stop is complete. */
  markStopped(): void {
    this.cancelTimers();
    this.#ranAgain();
    const d = this.#rare?.delivery ?? null;
    if (d !== null) {
      if (d.waitTimer !== null) this.node.clock.clearTimeout(d.waitTimer);
      if (d.current?.timer != null) this.node.clock.clearTimeout(d.current.timer);
      d.waitTimer = null;
      d.current = null;
    }
    this.status = 'stopped';
    if (this.#rare !== null) {
      this.#rare.stopped?.resolve();
      this.#rare.stopped = null;
    }
  }

  get restartCount(): number {
    return this.#rare?.restarts?.length ?? 0;
  }
}
