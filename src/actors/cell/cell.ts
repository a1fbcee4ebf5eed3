// One live actor on its host thread: state, mailbox, status and lifecycle. The definition is
// data; the cell runs it. One message at a time: an async handler keeps the cell busy until it
// settles. A handler that throws fails this cell only; the cell restarts within its limit.

import { ActorFailedError, asError } from '../../errors.js';
import type { Runnable } from '../../runtime/thread-runtime.js';
import type { ActorRefImpl } from '../actor-ref.js';
import { callHandler, handlerTable } from '../define.js';
import { DeliveryState, type Attempt } from './delivery.js';
import { Envelope, EnvelopeKind, STARTED, type TerminatedNotice } from './envelope.js';
import { Mailbox, takeMailbox } from './mailbox.js';
import type { ActorPolicy } from '../policy.js';
import { ActorTimers } from './timers.js';
import { endAttempts, finished, replicate, runAcked } from './ack-mode.js';
import type { CellHost } from './cell-host.js';
import { CELL_STATUSES, type CellStatus } from './cell-status.js';
import { parentOf, type Parent } from './parent.js';
import { begin } from './incarnation.js';
import { Rare } from './rare.js';
import { linkedExit, terminated } from './signals.js';
import { applyDirective, exitNormally, failFromSupervision, ranAgain, restart, supervisorOf, type DirectiveVerb } from '../supervision/child.js';
import type { Supervisor } from '../supervision/supervisor.js';
import type { ActorContext, AnyDefinition, ExitReason } from '../types.js';
import { isThenable } from '../../validate.js';
import { callTraced, runUntraced, tracing } from '../trace.js';

/** Messages per turn before the cell yields to other ready actors. */
const THROUGHPUT = 64;
const SCHEDULED = 1;
const BUSY = 2;
const FLAG_BITS = 3;
/** Where the status sits in a cell's flags, by its index in CELL_STATUSES ('starting' is 0). */
const STATUS_SHIFT = 2;
const STATUS_MASK = 7 << STATUS_SHIFT;
/** The flags of a running cell (status 'running'), busy and scheduled bits aside: one compare on the hot paths. */
const RUNNING = CELL_STATUSES.indexOf('running') << STATUS_SHIFT;
/** The flags of a cell from 'stopping' on ('stopping', 'stopped', 'moved'): it takes no message. */
const ENDING = CELL_STATUSES.indexOf('stopping') << STATUS_SHIFT;

export class Cell implements Runnable {
  readonly node: CellHost<Cell>;
  readonly key: number;
  /** Its parent's thread and key (key 0: none), shared by siblings (see parentOf). */
  readonly #parent: Parent;
  readonly args: unknown;
  readonly policy: ActorPolicy;
  /** The actor's state (what ctx.state reads and writes). */
  state: unknown = undefined;
  #ctx: ActorContext<unknown> | null = null;
  /** Null while its module is still loading on this thread. */
  definition: AnyDefinition | null;
  /** SCHEDULED, BUSY and the status (STATUS_SHIFT up), in one field: fields are bytes per actor. */
  #flags = 0;
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
    node: CellHost<Cell>,
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
    this.#parent = parentOf(parentThread, parentKey);
    this.policy = policy;
    const bound = policy.mailbox;
    if (bound !== null) {
      this.queue = bound.overflow === 'drop-oldest' ? new Mailbox(null, -1, bound.capacity) : new Mailbox(node.bounds, node.bounds.entryOf(key));
    }
    if (policy.delivery !== null) this.more().delivery = new DeliveryState(policy.delivery);
  }

  get parentThread(): number {
    return this.#parent.thread;
  }
  get parentKey(): number {
    return this.#parent.key;
  }

  get status(): CellStatus {
    return CELL_STATUSES[this.#flags >>> STATUS_SHIFT]!;
  }
  set status(status: CellStatus) {
    this.#flags = (this.#flags & FLAG_BITS) | (CELL_STATUSES.indexOf(status) << STATUS_SHIFT);
  }

  /** In the thread's run queue. */
  get scheduled(): boolean {
    return (this.#flags & SCHEDULED) !== 0;
  }
  set scheduled(on: boolean) {
    this.#flags = on ? this.#flags | SCHEDULED : this.#flags & ~SCHEDULED;
  }

  /** A handler, start or stop of this actor is in progress (an async one awaits). */
  get busy(): boolean {
    return (this.#flags & BUSY) !== 0;
  }
  set busy(on: boolean) {
    this.#flags = on ? this.#flags | BUSY : this.#flags & ~BUSY;
    // Between handlers now: a move or a supervisor waiting for that goes on (a stop waits for
    // the end of what stopping runs, and is settled there).
    if (!on && this.status !== 'stopping') this.settleIdle();
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

  more(): Rare {
    return (this.#rare ??= new Rare());
  }

  get watching(): Map<number, ActorRefImpl> | null {
    return this.#rare === null ? null : this.#rare.watching;
  }
  set watching(value: Map<number, ActorRefImpl> | null) {
    this.more().watching = value;
  }
  get watchers(): Map<number, number> | null {
    return this.#rare === null ? null : this.#rare.watchers;
  }
  set watchers(value: Map<number, number> | null) {
    this.more().watchers = value;
  }
  get exitReason(): ExitReason {
    return this.#rare === null ? 'normal' : this.#rare.exitReason;
  }
  set exitReason(value: ExitReason) {
    this.more().exitReason = value;
  }
  get links(): Map<number, ActorRefImpl> | null {
    return this.#rare === null ? null : this.#rare.links;
  }
  set links(value: Map<number, ActorRefImpl> | null) {
    this.more().links = value;
  }
  get trapExit(): boolean {
    return this.#rare !== null && this.#rare.trapExit;
  }
  set trapExit(on: boolean) {
    this.more().trapExit = on;
  }

  /** Its restart state (supervision/child.ts), if the rare part exists yet. */
  get restartState(): Rare | null {
    return this.#rare;
  }

  get failed(): number {
    return this.#rare === null ? 0 : this.#rare.failed;
  }

  /** Times it moved to another thread. */
  get moves(): number {
    return this.#rare === null ? 0 : this.#rare.moves;
  }

  /** Its timers, if it ever set one. */
  get timersIfAny(): ActorTimers | null {
    return this.#rare === null ? null : this.#rare.timers;
  }

  get stopping(): Promise<void> | null {
    return this.#rare === null ? null : this.#rare.stopping;
  }
  set stopping(value: Promise<void> | null) {
    this.more().stopping = value;
  }

  /** Created on first use: most actors never set a timer. */
  get timers(): ActorTimers {
    return (this.more().timers ??= new ActorTimers(this.node.clock, (type, payload) => this.node.timerFired(this, type, payload)));
  }

  /**
   * ctx.signal: one AbortSignal for the work the actor's handlers start, made on first use. It is
   * aborted, with `reason`, when the actor stops or restarts or its ack-mode attempt is abandoned;
   * the next use makes a fresh one.
   */
  get signal(): AbortSignal {
    const rare = this.more();
    let controller = rare.abort;
    if (controller === null || controller.signal.aborted) controller = rare.abort = new AbortController();
    return controller.signal;
  }

  /** Aborts ctx.signal, if a handler ever read it; `reason` is made only then (an error's stack costs microseconds). */
  abortSignal(reason: () => Error): void {
    const rare = this.#rare;
    if (rare === null || rare.abort === null) return;
    const controller = rare.abort;
    rare.abort = null;
    controller.abort(reason());
  }

  /** Cancels every timer, and aborts ctx.signal (on stop and on restart). */
  cancelTimers(): void {
    const rare = this.#rare;
    if (rare === null) return;
    this.abortSignal(() => new ActorFailedError(`actor ${this.node.idOf(this.key)} is restarting`));
    rare.timers?.cancelAll();
    const b = rare.backoff;
    if (b !== null && b.timer !== null) {
      this.node.clock.clearTimeout(b.timer);
      b.timer = null;
    }
  }

  get self(): ActorRefImpl {
    let ref = this.#ref;
    if (ref === null) {
      ref = this.#ref = this.node.refFor(this.node.self, this.key);
      ref.name = this.definition?.name;
    }
    return ref;
  }

  /** Makes `ref` what ctx.self is (an entity's activation: the ref by key, entity/entities.ts). */
  setSelf(ref: ActorRefImpl): void {
    this.#ref = ref;
  }

  /** Sets the sender of the message about to be handled. */
  setSender(thread: number, key: number): void {
    this.#senderThread = thread;
    this.#senderKey = key;
  }

  get sender(): ActorRefImpl | undefined {
    if (this.#senderKey === 0) return undefined;
    return this.node.refFor(this.#senderThread, this.#senderKey);
  }

  /** Stopping, stopped or moved away: it accepts no more messages here. */
  get ending(): boolean {
    return (this.#flags & STATUS_MASK) >= ENDING;
  }

  get depth(): number {
    return this.queue === null ? 0 : this.queue.length;
  }

  /**
   * Puts a plain tell (lane 0, no message id, not quiet) in the mailbox, without an Envelope when
   * nothing else applies (no bounds, no dedup or copies, no backoff stash). The caller checked
   * that the cell is not stopping.
   */
  tell(type: string, payload: unknown, senderThread: number, senderKey: number, custody = 0): void {
    const queue = (this.queue ??= takeMailbox());
    const rare = this.#rare;
    if (!queue.plain || (rare !== null && (rare.delivery !== null || (rare.backoff !== null && rare.backoff.timer !== null)))) {
      const env = new Envelope(EnvelopeKind.Tell, type, payload, senderThread, senderKey, 0);
      env.custody = custody;
      this.enqueue(env);
      return;
    }
    queue.pushTell(type, payload, senderThread, senderKey, custody);
    if ((this.#flags & (STATUS_MASK | BUSY | SCHEDULED)) === RUNNING) this.#wake();
  }

  /** Into the thread's run queue: a message woke it (counted for the mailbox-wait histogram, mailbox-wait.ts). */
  #wake(): void {
    this.scheduled = true;
    this.node.runtime.schedule(this);
    this.node.mailboxWait.woke(this);
  }

  /**
   * Puts a message in the mailbox; the caller checked that the cell is not stopping. `taken`: its
   * dedup table took it already (a queued message that followed the actor's move).
   */
  enqueue(env: Envelope, taken = false): void {
    const queue = (this.queue ??= takeMailbox());
    const rare = this.#rare;
    const d = rare === null ? null : rare.delivery;
    if (d !== null && env.messageId !== undefined && env.kind === EnvelopeKind.Tell && !taken) {
      const now = this.node.clock.now();
      if (d.isDuplicate(env.messageId, now)) {
        queue.discard(env);
        this.node.outcomes.duplicate(env);
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
    if (d !== null && d.policy.keepCopies && env.kind === EnvelopeKind.Tell) replicate(this, d, env);
    if (evicted !== undefined) {
      this.node.outcomes.evicted(this, evicted);
      if (d !== null) finished(this, d, evicted);
    }
    if ((this.#flags & (STATUS_MASK | BUSY | SCHEDULED)) === RUNNING) this.#wake();
  }

  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    if (this.status === 'starting') this.node.runtime.scheduleSoon(this);
    else this.node.runtime.schedule(this);
  }

  run(): void {
    this.scheduled = false;
    if (this.busy) return;
    if (this.status === 'starting' || this.status === 'restarting') {
      begin(this);
      return;
    }
    if (this.status !== 'running') return;
    this.node.mailboxWait.running(this);
    if (this.policy.delivery !== null && this.policy.delivery.ack) {
      this.queue?.releaseTaken(); // room its own thread's senders took ahead (mailbox.ts)
      runAcked(this, this.#rare!.delivery!);
      return;
    }
    const queue = this.queue;
    if (queue === null) return;
    // Once anything on this thread is traced, a batch runs with no trace active but its own
    // messages' (a turn started from a traced handler must not lend its trace to this one).
    if (tracing()) runUntraced(runBatchOf, this, queue);
    else this.runBatch(queue);
  }

  /** run()'s loop over a batch of messages. @internal */
  runBatch(queue: Mailbox): void {
    // The node's current actor (sender of any tell made now) is this one for the whole batch.
    const node = this.node;
    const handlers = handlerTable(this.definition!); // once per batch
    const ctx = this.ctx;
    // Custody marks (runtime/custody-log.ts): started before a handler runs, done once it has.
    const log = node.runtime.custody;
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
        let custody: number;
        if (type !== undefined) {
          payload = queue.payload;
          queue.payload = undefined;
          this.#senderThread = queue.senderThread;
          this.#senderKey = queue.senderKey;
          custody = queue.custody;
        } else {
          env = queue.shift()!;
          if (env.kind !== EnvelopeKind.Tell) {
            this.process(env);
            if ((this.#flags & (STATUS_MASK | BUSY)) !== RUNNING) return;
            continue;
          }
          type = env.type;
          payload = env.payload;
          this.#senderThread = env.senderThread;
          this.#senderKey = env.senderKey;
          custody = env.custody;
        }
        const handler = handlers[type];
        if (handler === undefined) {
          this.process(env ?? this.#plain(type, payload, custody));
          if ((this.#flags & (STATUS_MASK | BUSY)) !== RUNNING) return;
          continue;
        }
        if (custody !== 0) log!.started(custody);
        let result: unknown;
        try {
          result = env === undefined || env.trace === undefined ? handler(ctx as never, payload) : callTraced(env.trace, ctx, type, payload, handler, undefined);
        } catch (error) {
          this.#fail(env ?? this.#plain(type, payload, custody), error);
          return;
        }
        if (isThenable(result)) {
          this.#awaitHandler(env ?? this.#plain(type, payload, custody), result);
          return;
        }
        if (custody !== 0) log!.done(custody);
        handled++;
        if ((this.#flags & STATUS_MASK) !== RUNNING) return;
      }
    } finally {
      node.current = null;
      queue.releaseTaken();
      if (handled > 0) {
        this.handled += handled;
        node.outcomes.handledTells(handled);
      }
    }
    if (queue.length > 0) this.schedule();
    else if (queue.recycle()) this.queue = null; // an idle actor holds no mailbox
  }

  /** The Envelope of the plain tell being handled (its sender is the current one). */
  #plain(type: string, payload: unknown, custody: number): Envelope {
    const env = new Envelope(EnvelopeKind.Tell, type, payload, this.#senderThread, this.#senderKey, 0);
    env.custody = custody;
    return env;
  }

  // ---- messages -------------------------------------------------------------------------------

  process(env: Envelope): void {
    if (env.kind === EnvelopeKind.Stop) {
      void this.node.stopCell(this, 'normal');
      return;
    }
    if (env.kind === EnvelopeKind.Terminated) {
      terminated(this, env.payload as TerminatedNotice);
      return;
    }
    if (env.kind === EnvelopeKind.Exit) {
      linkedExit(this, env.payload as TerminatedNotice);
      return;
    }
    if (env.type === STARTED && env.kind === EnvelopeKind.Ask) {
      this.handled++; // start() asked: it has started, since messages wait until it has
      this.node.outcomes.handled(env, null);
      return;
    }
    const handler = handlerTable(this.definition!)[env.type];
    const fallback = handler === undefined ? this.definition!.spec.receive : undefined;
    if (handler === undefined && fallback === undefined) {
      this.node.outcomes.unhandled(this, env);
      return;
    }
    this.#senderThread = env.senderThread;
    this.#senderKey = env.senderKey;
    const node = this.node;
    if (env.custody !== 0) node.runtime.custody!.started(env.custody);
    let result: unknown;
    try {
      if (env.trace === undefined && !tracing()) result = callHandler(this.ctx, env.type, env.payload, handler, fallback);
      else result = callTraced(env.trace, this.ctx, env.type, env.payload, handler, fallback);
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
        node.runtime.publishSoon(); // settled outside a turn, perhaps while the thread is parked
      },
      (error) => {
        node.inFlight--;
        this.#fail(env, error);
        node.runtime.publishSoon();
      },
    );
  }

  #settled(env: Envelope, value: unknown): void {
    this.busy = false;
    this.handled++;
    this.node.outcomes.handled(env, value);
    if (this.status === 'stopping') {
      this.settleIdle();
      return;
    }
    if (this.depth > 0) this.schedule();
  }

  #fail(env: Envelope, thrown: unknown): void {
    this.busy = false;
    const error = asError(thrown);
    this.handled++;
    this.more().failed++;
    this.node.outcomes.failed(this, env, error);
    this.node.links.signal(this, 'failed');
    if (this.status === 'stopping') {
      this.settleIdle();
      return;
    }
    restart(this, error);
  }

  // ---- at-least-once delivery (ack-mode.ts) -------------------------------------------------------

  /** Its delivery state, if it was spawned with a delivery option (ack mode, dedup). */
  get delivery(): DeliveryState | null {
    return this.#rare === null ? null : this.#rare.delivery;
  }

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

  /** Stopped: whatever it held has been handled, dead-lettered or handed to its pool. */
  get heldReplicas(): boolean {
    return (this.#rare?.delivery?.replicas.size ?? 0) > 0;
  }

  // ---- supervision (supervision/child.ts) ------------------------------------------------------

  /** Fails the actor: it restarts within its limits, or suspends under a supervising parent. */
  restart(error: Error): void {
    restart(this, error);
  }

  /** The supervisor side of this actor, if its spawn options or its definition give it one. */
  get supervisor(): Supervisor | null {
    return supervisorOf(this);
  }

  /** A permanent supervised child that stopped itself: its parent restarts it (once idle). */
  exitNormally(): void {
    exitNormally(this);
  }

  /** Carries out a supervisor's directive (see supervision/child.ts). */
  applyDirective(verb: DirectiveVerb): Promise<unknown> {
    return applyDirective(this, verb);
  }

  /** A supervisor that escalates, or gave up on its children, fails in turn. */
  failFromSupervision(error: Error, gaveUp: boolean): void {
    failFromSupervision(this, error, gaveUp);
  }

  // ---- stopping -------------------------------------------------------------------------------

  /** Resolves once no handler or hook of this cell is running (looked at again when woken: a start may go on into an async onStart). */
  whenIdle(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise<void>((resolve) => (this.more().idle ??= []).push(resolve)).then(() => this.whenIdle());
  }

  settleIdle(): void {
    const rare = this.#rare;
    if (rare === null || rare.idle === null) return;
    const waiters = rare.idle;
    rare.idle = null;
    for (const resolve of waiters) resolve();
  }

  /** Resolves once the cell has stopped, however that comes about. */
  whenStopped(): Promise<void> {
    if (this.status === 'stopped') return Promise.resolve();
    const rare = this.more();
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
    this.node.mailboxWait.forget(this);
    ranAgain(this);
    const d = this.#rare?.delivery ?? null;
    if (d !== null) endAttempts(this, d);
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

/** For runUntraced: a function of its arguments alone (a closure in run() would cost every run a heap context). */
function runBatchOf(cell: Cell, queue: Mailbox): void {
  cell.runBatch(queue);
}
