// The public types of the actor model: definitions, refs, the handler context and options.
// Types flow end to end: ActorRef<typeof Counter> knows each message's payload and reply type.

import type { Timers } from './cell/timers.js';

export type { Timers };
export type Priority = 0 | 1 | 2 | 3;

export interface MessageOptions {
  /** 0..3, higher first; values above 3 count as 3. */
  readonly priority?: number;
  /** For dedup by an actor spawned with a delivery option (tells only). */
  readonly messageId?: string;
  /**
   * Trace context (a W3C traceparent, or any string of up to 1,024 characters) that travels with
   * the message: the handler's ctx.trace, carried on to what it sends. Default: the active one
   * (withTrace, or the trace of the message being handled).
   */
  readonly trace?: string;
}

export interface SendOptions extends MessageOptions {
  /** How long send() waits for room before rejecting with MailboxFullError. Default 5000. */
  readonly timeoutMs?: number;
  /** Gives up: already aborted, nothing is sent; aborted while send waits for room, it rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/** What send() resolves with once the message is accepted. */
export interface SendResult {
  /**
   * The receiver had already seen this messageId within its dedup window: the message was not
   * enqueued (counted as a duplicate). Always false without a messageId.
   */
  readonly duplicate: boolean;
}

export interface AskOptions extends MessageOptions {
  /** Default 5000. */
  readonly timeoutMs?: number;
  /**
   * Gives up: already aborted, nothing is sent and the ask rejects with the signal's reason;
   * aborted later, the ask rejects at once and an answer that comes after is a late reply.
   */
  readonly signal?: AbortSignal;
}

/**
 * 'dedicated': a thread of the actor's own (one of the system's `dedicatedThreads`), with the
 * spawn option `resourceLimits`; its children live there too, by default. Only from the main
 * thread.
 */
/**
 * Where a spawned actor lives: the spawner's thread, a worker picked by load, a thread of its
 * own, a given thread, or (in a cluster, with system.start) another node, on a given thread of
 * it or one picked there by load, or the node with the fewest actors per thread ('cluster').
 */
export type Placement = 'local' | 'balanced' | 'dedicated' | 'cluster' | { readonly thread: number } | { readonly node: string; readonly thread?: number };

/** Heap caps for a dedicated thread (Node's worker resourceLimits): past them the thread dies, reported as 'oom'. */
export interface ResourceLimits {
  readonly maxOldGenerationSizeMb?: number;
  readonly maxYoungGenerationSizeMb?: number;
  readonly codeRangeSizeMb?: number;
  readonly stackSizeMb?: number;
}

export interface SpawnOptions {
  readonly name?: string;
  /** Where the actor runs. Default: 'balanced' from the system, 'local' from a parent actor. */
  readonly placement?: Placement;
  /** With placement 'dedicated': the heap caps of its thread. */
  readonly resourceLimits?: ResourceLimits;
  /** Restarts allowed within `restartWindowMs` before the actor is stopped. Default 5. */
  readonly maxRestarts?: number;
  /** Default 30000. */
  readonly restartWindowMs?: number;
  /**
   * Restart after a delay instead of at once: minMs·2^(n-1) for the n-th failure in a row,
   * capped at maxMs, plus a random [0, jitter·delay]. With backoff, maxRestarts failures in a
   * row stop the actor; the count resets after resetAfterMs (default (minMs+maxMs)/2) without
   * a failure. Messages meanwhile wait, up to stashCapacity (default 1000); beyond that they
   * become dead letters (restart-stash-full).
   */
  readonly backoff?: BackoffOptions;
  readonly stashCapacity?: number;
  /**
   * A bounded mailbox: at most `capacity` messages accepted and not yet started, counted on every
   * thread at once. When it is full, `overflow` decides: 'reject' (default: tell and ask throw
   * MailboxFullError, counted as rejected in stats), 'backpressure' (the same for tell; send waits
   * for room, first come first served, up to its timeoutMs) or 'drop-oldest' (the oldest message
   * of the lowest priority becomes a dead letter, mailbox-full). Stops and death-watch notices
   * take no room.
   */
  readonly mailbox?: { readonly capacity: number; readonly overflow?: 'reject' | 'drop-oldest' | 'backpressure' };
  /**
   * At-least-once delivery and dedup (see DeliveryOptions): with mode 'at-least-once' a message
   * whose handler throws, nacks or overruns ackWaitMs is handled again, up to maxDeliver times;
   * with any mode, a tell whose messageId was seen within dedupWindowMs is dropped as a duplicate.
   */
  readonly delivery?: DeliveryOptions;
  /**
   * Under a supervising parent: 'permanent' (default) is restarted after a failure, 'transient'
   * too (a failure is an abnormal exit), 'temporary' never (it is stopped instead).
   */
  readonly restart?: RestartType;
  /**
   * How this actor supervises its children (see SupervisionOptions). A decide function cannot
   * travel to another thread: for an actor placed elsewhere, put it in the definition.
   */
  readonly supervision?: SupervisionOptions;
}

/** What a handler gets: its state, its own ref, and the means to spawn and stop. */
export interface ActorContext<State> {
  state: State;
  readonly self: ActorRef<AnyDefinition>;
  /** The ref of the actor that sent the current message, if an actor sent it. */
  readonly sender: ActorRef<AnyDefinition> | undefined;
  /** The id of this actor. */
  readonly id: string;
  /**
   * Aborted when this actor stops or restarts, or (ack mode) when the attempt in progress is
   * abandoned: pass it on, as in `fetch(url, { signal: ctx.signal })`, so that work a handler
   * started ends with it. Its `reason` says why.
   */
  readonly signal: AbortSignal;
  spawn<D extends AnyDefinition>(definition: D, ...rest: SpawnArgs<D>): ActorRef<D>;
  /**
   * Spawns a child and resolves with its ref once its init and onStart have completed; if they
   * fail, rejects with ActorInitializationError (the child is stopped). Awaited one after the
   * other in onStart, this starts static children in order, OTP style: a child that fails to
   * start fails this actor's start, and the children already started stop newest first (S7).
   */
  startChild<D extends AnyDefinition>(definition: D, ...rest: SpawnArgs<D>): Promise<ActorRef<D>>;
  /** A pool of children behind one routing handle (see ActorSystem.spawnPool). */
  spawnPool<D extends AnyDefinition>(definition: D, args: ArgsOf<D>, options: PoolOptions): ActorPool<D>;
  /**
   * Stops a child (or, with no argument, this actor). Resolves when its onStop ran. A stop of
   * this actor takes effect once the current handler returns: do not await it inside that handler.
   */
  stop(ref?: ActorRef<AnyDefinition>): Promise<void>;
  /** Messages to itself, later or repeatedly; cancelled when the actor stops or restarts. */
  readonly timers: Timers;
  /**
   * Death watch: when `ref` stops for good (not on a restart), this actor's onTerminated runs
   * once, after every message `ref` sent it. Watching an actor that is already gone reports
   * 'noproc' at once. Idempotent.
   */
  watch(ref: ActorRef<AnyDefinition>): void;
  /** Stops watching; a terminated notice already queued is dropped too. */
  unwatch(ref: ActorRef<AnyDefinition>): void;
  /**
   * Links this actor with `ref`, both ways, as Erlang's link: when either fails or is killed
   * (or its thread dies), the other fails too, unless it traps exits; a normal stop fails no one.
   * A link is used up by the exit it carries. Linking to an actor already gone is an exit at once
   * (reason 'noproc'). Idempotent.
   */
  link(ref: ActorRef<AnyDefinition>): void;
  unlink(ref: ActorRef<AnyDefinition>): void;
  /** Turns exits of linked actors into onExit(ctx, ref, reason) calls instead of failures. */
  trapExits(on: boolean): void;
  /**
   * Runs `export function name(input)` of the module at `taskModuleUrl` (default export if no
   * name) on a small thread pool, so this thread's other actors keep running meanwhile. Awaiting
   * it keeps this actor busy (one message at a time); to stay responsive, do not await it and
   * send the result to ctx.self instead. Rejects with OffloadError (the task's error as cause).
   */
  offload<R = unknown>(taskModuleUrl: string, input?: unknown, options?: { name?: string }): Promise<R>;
  /** Publishes to a topic: a copy to each plain subscriber, one per group. Returns how many. */
  publish(topic: string, type: string, payload?: unknown, options?: MessageOptions): number;
  /** Subscribes this actor to a topic (within a group: one member of the group gets each message). */
  subscribe(topic: string, options?: { group?: string }): void;
  /** The live actor registered under `name` (system.register), if any, from any thread. */
  lookup<D extends AnyDefinition = AnyDefinition>(name: string): Promise<ActorRef<D> | undefined>;
  /** In a cluster: the pools that serve it as `name`, wherever they are (system.service). */
  service<D extends AnyDefinition = AnyDefinition>(name: string): ActorService<D>;
  /** A ref to the one activation of an entity's key (defineEntity), from any thread. */
  entity<D extends AnyEntityDefinition>(definition: D, key: string): ActorRef<D>;
  /**
   * Entities only (elsewhere InvalidArgumentError): a reminder that outlives the activation and,
   * with storage, the process. When due, the entity gets a message of type `name` (payload
   * `{ reminder: name, due }`, due in epoch ms), at least once, also after a restart if it fell
   * due while the process was down; with `everyMs`, again every so often until cancelled. Set
   * with the handler's commit: a handler that fails sets none. A reminder set under a name in
   * use replaces it.
   */
  remind(name: string, when: ReminderOptions): void;
  /** Entities only: cancels the reminder `name`, if any (with the handler's commit). */
  cancelReminder(name: string): void;
  /**
   * Entities only: with the handler's commit, the entity's state, reminders and remembered
   * message ids are deleted, and it starts afresh (init runs again) before its next message.
   */
  deleteEntity(): void;
  unsubscribe(topic: string, options?: { group?: string }): void;
  /**
   * The trace context of the message being handled (MessageOptions.trace), if it carries one:
   * active for the whole handler, awaits included, so what the handler sends carries it on.
   */
  readonly trace: string | undefined;
  /** Which attempt at the current message this is: 1, or more when it is delivered again. */
  readonly deliveryCount: number;
  /** deliveryCount > 1. */
  readonly redelivered: boolean;
  /**
   * At-least-once mode only (otherwise InvalidArgumentError). ack: the message is done now, even
   * if the handler goes on. nack(delayMs): deliver it again after the delay. inProgress: restart
   * the ackWaitMs deadline. term: give up on it (a dead letter, reason 'terminated'). The first of
   * these to be called settles the attempt; later calls, and the handler's own outcome, change
   * nothing more (an ask still gets the handler's answer after an ack).
   */
  ack(): void;
  nack(delayMs?: number): void;
  inProgress(): void;
  term(): void;
  /**
   * At-least-once mode only: this message is not acked when its handler ends; it stays
   * outstanding (its ackWaitMs deadline running) until the returned handle's ack(), nack(delayMs)
   * or term(). Meanwhile the actor takes its next message while fewer than `maxAckPending` are
   * outstanding (K5). An ask gets the handler's answer when the handler ends.
   */
  deferAck(): AckHandle;
}


// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Handler<State> = (ctx: ActorContext<State>, payload: any) => unknown;
export type Handlers<State> = Record<string, Handler<State>>;

export interface ActorSpec<Args, State, H extends Handlers<State>> {
  /**
   * Builds the state from the spawn arguments. May be async. Runs again on every restart. Left
   * out, the actor takes no arguments (`spawn(Def)`) and its state starts undefined.
   */
  readonly init?: (args: Args) => State | Promise<State>;
  readonly handlers: H;
  /**
   * Optional catch-all for message types without a handler (what it returns answers an ask).
   * Without it such a message is an `unhandled` dead letter.
   */
  readonly receive?: (ctx: ActorContext<State>, type: string, payload: unknown) => unknown;
  /** How this actor supervises its children (spawn options may override it). */
  readonly supervision?: SupervisionOptions;
  /** Runs after init, on the first start and after every restart. */
  readonly onStart?: (ctx: ActorContext<State>) => void | Promise<void>;
  readonly onStop?: (ctx: ActorContext<State>) => void | Promise<void>;
  readonly onRestart?: (ctx: ActorContext<State>, error: Error) => void | Promise<void>;
  /**
   * A watched actor stopped. Without this hook the watcher fails with DeathPactError (and its
   * restart policy applies), as an unhandled Terminated does in Akka.
   */
  readonly onTerminated?: (ctx: ActorContext<State>, ref: ActorRef<AnyDefinition>, reason: ExitReason) => void | Promise<void>;
  /**
   * A linked actor exited (failed, stopped, was killed), for an actor that traps exits
   * (ctx.trapExits(true)). Without trapping, an abnormal exit of a linked actor fails this one.
   */
  readonly onExit?: (ctx: ActorContext<State>, ref: ActorRef<AnyDefinition>, reason: ExitReason) => void | Promise<void>;
}

export declare const definitionBrand: unique symbol;

export interface ActorDefinition<Args, State, H extends Handlers<State>> {
  readonly moduleUrl: string;
  readonly name: string;
  readonly spec: ActorSpec<Args, State, H>;
  /** Type-only marker; not present at run time. */
  readonly [definitionBrand]?: { args: Args; state: State; handlers: H };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyDefinition = ActorDefinition<any, any, any>;

/** When a reminder is due: `at` (epoch ms) or `afterMs` from now, then (optional) every `everyMs`. */
export interface ReminderOptions {
  readonly at?: number;
  readonly afterMs?: number;
  readonly everyMs?: number;
}

/** What a reminder's message carries. */
export interface Reminder {
  readonly reminder: string;
  /** When it was due (epoch ms); a late one (the process was down) is delivered at once. */
  readonly due: number;
}

export interface EntitySpec<State, H extends Handlers<State>> {
  /** The state of a key never seen before: runs once in the key's whole life. Left out, undefined. */
  readonly init?: (key: string) => State | Promise<State>;
  readonly handlers: H;
  /** Optional catch-all for message types without a handler. */
  readonly receive?: (ctx: ActorContext<State>, type: string, payload: unknown) => unknown;
  /** Leaves memory after this many ms without a message, its state kept. Default 60000. */
  readonly idleMs?: number;
  /**
   * The version of the state's shape (an integer from 1, the default). The state is stored with
   * it; a state stored by an older version goes through `migrate` before its first message.
   */
  readonly version?: number;
  /** Turns a state stored by version `fromVersion` into this version's. */
  readonly migrate?: (state: unknown, fromVersion: number) => State;
}

/** Type-only marker of an entity's definition. */
export declare const entityBrand: unique symbol;

/**
 * An entity's definition (defineEntity): `system.entity(def, key)` and `ctx.entity(def, key)`
 * give refs to it. Its handlers are an actor's; it is never spawned.
 */
export interface EntityDefinition<State, H extends Handlers<State>> extends ActorDefinition<EntityArgs, State, H> {
  readonly [entityBrand]: true;
}

/** What an entity's activation starts from: made by the runtime, never by a caller (spawn(def) does not compile). */
export interface EntityArgs {
  readonly [entityBrand]: true;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyEntityDefinition = EntityDefinition<any, any>;

export type ArgsOf<D> = D extends ActorDefinition<infer A, infer _S, infer _H> ? A : never;
/** What spawn takes after the definition: its arguments (which may be left out when it takes none) and options. */
export type SpawnArgs<D, Options = SpawnOptions> = undefined extends ArgsOf<D> ? [args?: ArgsOf<D>, options?: Options] : [args: ArgsOf<D>, options?: Options];
export type HandlersOf<D> = D extends ActorDefinition<infer _A, infer _S, infer H> ? H : never;
export type MessageType<D> = D extends ActorDefinition<infer _A, infer _S, infer H> ? `${Extract<keyof H, string>}` : never;

type Rest<F, Options> = F extends (...args: infer P) => unknown
  ? P extends [unknown, infer Payload, ...unknown[]]
    ? undefined extends Payload
      ? [payload?: Payload, options?: Options]
      : [payload: Payload, options?: Options]
    : [payload?: undefined, options?: Options]
  : never;

export type PayloadArgs<D, K extends MessageType<D>, Options = MessageOptions> = Rest<HandlersOf<D>[K], Options>;
export type ReplyOf<D, K extends MessageType<D>> = HandlersOf<D>[K] extends (...args: never[]) => infer R ? Awaited<R> : never;

/** A handle to an actor, wherever it runs. Serialisable: pass it in messages. */
export interface ActorRef<D extends AnyDefinition> {
  /** Unique, unguessable id. */
  readonly id: string;
  /** Synchronous, never blocks. Throws a typed error, and then nothing was enqueued. */
  tell<K extends MessageType<D>>(type: K, ...rest: PayloadArgs<D, K>): void;
  /** Resolves when the message is accepted, waiting for room (up to options.timeoutMs). */
  send<K extends MessageType<D>>(type: K, ...rest: PayloadArgs<D, K, SendOptions>): Promise<SendResult>;
  /** The handler's return value; rejects with AskTimeoutError after options.timeoutMs (5 s). */
  ask<K extends MessageType<D>>(type: K, ...rest: PayloadArgs<D, K, AskOptions>): Promise<ReplyOf<D, K>>;
}

export type DeadLetterReason =
  | 'stopped'
  | 'mailbox-full'
  | 'restart-stash-full'
  | 'thread-crash'
  | 'late-reply'
  | 'terminated'
  | 'max-deliveries'
  | 'no-routee'
  | 'shutdown'
  | 'decode-failed'
  | 'unhandled'
  | 'storage-failed'
  | 'node-down'
  | 'too-large';

export interface DeadLetter {
  readonly message: { readonly type: string; readonly payload: unknown };
  readonly sender: string | undefined;
  readonly recipient: string;
  readonly reason: DeadLetterReason;
  readonly deliveryCount: number;
  readonly at: number;
}

/** Why an actor ended, as its watchers learn it. */
/** `node-down`: the actor's node (another process of the cluster) was declared down. */
export type ExitReason = 'normal' | 'failed' | 'shutdown' | 'noproc' | 'thread-exit' | 'killed' | 'node-down';

// ---- supervision -------------------------------------------------------------------------------

export type Strategy = 'one-for-one' | 'one-for-all' | 'rest-for-one';
export type Directive = 'restart' | 'resume' | 'stop' | 'escalate';
/**
 * Under a supervising parent: 'permanent' is restarted after any exit, 'transient' after a
 * failure, 'temporary' never.
 */
export type RestartType = 'permanent' | 'transient' | 'temporary';

/** A restart delay that grows with failures in a row (see SpawnOptions.backoff). */
export interface BackoffOptions {
  readonly minMs: number;
  readonly maxMs: number;
  /** Up to this share of the delay is added at random. Default 0.2. */
  readonly jitter?: number;
  /** A run this long without a failure ends a streak. Default (minMs + maxMs) / 2. */
  readonly resetAfterMs?: number;
}

export interface SupervisionOptions {
  /** Default 'one-for-one'. */
  readonly strategy?: Strategy;
  /** Restarts allowed within withinMs before this actor gives up on its children. Default 5. */
  readonly maxRestarts?: number;
  /** Default 30000. */
  readonly withinMs?: number;
  /** What to do with a failed child, by its error. Default: always 'restart'. */
  readonly decide?: (error: Error) => Directive;
  /**
   * Restarts this supervisor decides wait out this backoff, with messages stashed meanwhile (up
   * to the child's stashCapacity), as a child's own backoff does; a child's own backoff wins.
   */
  readonly backoff?: BackoffOptions;
}

// ---- delivery ----------------------------------------------------------------------------------

export interface DeliveryOptions {
  /** 'at-least-once': redeliver until a handler completes. Default 'at-most-once'. */
  readonly mode?: 'at-most-once' | 'at-least-once';
  /** How long a handler may run before its message is sent again. Default 30000. */
  readonly ackWaitMs?: number;
  /** Attempts before the message becomes a dead letter (max-deliveries). Default 5. */
  readonly maxDeliver?: number;
  /** Delays before the 2nd, 3rd, ... attempt (the last one repeats). Default: none. */
  readonly backoffMs?: readonly number[];
  /** How long a messageId is remembered. Default 120000 (2 minutes). */
  readonly dedupWindowMs?: number;
  /** At most this many ids remembered (oldest forgotten first). Default 100000. */
  readonly dedupMax?: number;
  /** Messages outstanding (started, not settled) at once, counting deferred acks. Default 1. */
  readonly maxAckPending?: number;
  /**
   * At-least-once mode, for an actor spawned from another thread: keep a copy of each tell it
   * holds on the spawner's thread until it is done, so that if the actor's thread dies, what it
   * held (queued or running) goes again to the restarted actor, flagged redelivered. Without,
   * those messages are dead letters ('thread-crash', by count). Costs a copy of every message
   * and a note when it is done. Default false.
   */
  readonly keepCopies?: boolean;
}

/** A deferred ack (ctx.deferAck): settles one message after its handler has ended. */
export interface AckHandle {
  ack(): void;
  nack(delayMs?: number): void;
  inProgress(): void;
  term(): void;
}

// ---- pools -------------------------------------------------------------------------------------

export type Routing = 'round-robin' | { readonly key: (type: string, payload: unknown) => string | number };

export interface PoolOptions extends SpawnOptions {
  /** Members spawned at once. */
  readonly size: number;
  /** Default 'round-robin'. */
  readonly routing?: Routing;
  /**
   * In a cluster: the pool also serves the cluster under this name. `system.service(name)` on any
   * node reaches one member of one of the pools serving it (system.spawnPool only).
   */
  readonly service?: string;
}

/** A pool that serves a cluster under a name (system.service): each call goes to one member of one of its pools, on some node. */
export interface ActorService<D extends AnyDefinition> {
  tell<K extends MessageType<D>>(type: K, ...rest: PayloadArgs<D, K>): void;
  send<K extends MessageType<D>>(type: K, ...rest: PayloadArgs<D, K, SendOptions>): Promise<SendResult>;
  ask<K extends MessageType<D>>(type: K, ...rest: PayloadArgs<D, K, AskOptions>): Promise<ReplyOf<D, K>>;
}

/** What a pool offers: the ActorRef calls, routed to one member each. */
export interface ActorPool<D extends AnyDefinition> {
  tell<K extends MessageType<D>>(type: K, ...rest: PayloadArgs<D, K>): void;
  send<K extends MessageType<D>>(type: K, ...rest: PayloadArgs<D, K, SendOptions>): Promise<SendResult>;
  ask<K extends MessageType<D>>(type: K, ...rest: PayloadArgs<D, K, AskOptions>): Promise<ReplyOf<D, K>>;
  /** The current members, in slot order. */
  readonly members: readonly ActorRef<D>[];
  /** Spawns one more member (key routing moves about 1/n of the keys to it). */
  grow(): ActorRef<D>;
  /** Takes a member out of the routing (it keeps running). */
  remove(member: ActorRef<D>): boolean;
  /** Stops every member. */
  stop(): Promise<void>;
}
