// troupe's events on node:diagnostics_channel, for tracers, loggers and APMs to hook in without
// troupe knowing them. The channel names and payloads are API (docs/api.md, Diagnostics). An
// event costs one `hasSubscribers` read while nobody listens: its payload, a small plain object
// that names the thread it happened on, is built only when someone does. Each event is published
// on its own thread; a worker's also reach the main thread while main listens
// (node/diagnostics-relay.ts). NODE_DEBUG=troupe traces the lifecycle events (debug-log.ts).

import { channel } from 'node:diagnostics_channel';
import { trace, tracing } from './debug-log.js';
import type { DeadLetter, ExitReason } from './types.js';

/** The channel names, for `diagnostics_channel.subscribe(channels.spawn, listener)`. */
export const channels = Object.freeze({
  spawn: 'troupe:actor:spawn',
  start: 'troupe:actor:start',
  stop: 'troupe:actor:stop',
  restart: 'troupe:actor:restart',
  deadLetter: 'troupe:dead-letter',
  threadExit: 'troupe:thread:exit',
  threadReplace: 'troupe:thread:replace',
  askStart: 'troupe:ask:start',
  askEnd: 'troupe:ask:end',
} as const);

/** What every actor event names: where it happened, the actor, its definition. */
export interface ActorEvent {
  readonly thread: number;
  readonly id: string;
  /** Its definition's name ('' while its module is still loading on its thread). */
  readonly name: string;
}

/** troupe:actor:spawn: its cell was made on its thread. */
export interface ActorSpawnEvent extends ActorEvent {
  /** The parent's id; undefined for a top-level actor. */
  readonly parent: string | undefined;
}

/** troupe:actor:start: init and onStart completed (the first start, and after each restart). */
export type ActorStartEvent = ActorEvent;

/** troupe:actor:stop: the stop is complete. */
export interface ActorStopEvent extends ActorEvent {
  readonly reason: ExitReason;
}

/** troupe:actor:restart: a new incarnation begins behind the same ref. */
export interface ActorRestartEvent extends ActorEvent {
  /** The failure; null when a sibling's failure restarts it (one-for-all, rest-for-one). */
  readonly error: Error | null;
}

/** troupe:dead-letter */
export interface DeadLetterEvent {
  readonly thread: number;
  readonly letter: DeadLetter;
}

/** troupe:thread:exit: a worker exited while the system ran (published on the main thread). */
export interface ThreadExitEvent {
  /** The thread that exited. */
  readonly thread: number;
  readonly code: number;
  /** What ended it, if it was an uncaught error. */
  readonly error: Error | null;
  readonly kind: 'thread-exit' | 'oom' | 'stalled';
}

/** troupe:thread:replace: a replacement for a thread that exited is running (main thread). */
export interface ThreadReplaceEvent {
  readonly thread: number;
  /** It was the spare started ahead (options.spareThread). */
  readonly spare: boolean;
}

/** troupe:ask:start */
export interface AskStartEvent {
  /** Where the ask was made. */
  readonly thread: number;
  /** Pairs this ask's start and end, on its thread. */
  readonly askId: number;
  /** The actor asked. */
  readonly id: string;
  readonly name: string;
  readonly type: string;
}

/** troupe:ask:end */
export interface AskEndEvent extends AskStartEvent {
  readonly outcome: 'reply' | 'error' | 'timeout';
  /** From the ask to its outcome, by the system's clock. */
  readonly durationMs: number;
  /** Why it failed (outcome 'error' or 'timeout'). */
  readonly error?: Error;
}

// Module constants: Node keeps a channel only while something holds it or listens on it.
const SPAWN = channel(channels.spawn);
const START = channel(channels.start);
const STOP = channel(channels.stop);
const RESTART = channel(channels.restart);
const DEAD_LETTER = channel(channels.deadLetter);
const THREAD_EXIT = channel(channels.threadExit);
const THREAD_REPLACE = channel(channels.threadReplace);
export const ASK_START = channel(channels.askStart);
export const ASK_END = channel(channels.askEnd);

/** Every channel, by bit (a worker forwards channel i to main while main's watch bit i is set). */
export const CHANNELS = [SPAWN, START, STOP, RESTART, DEAD_LETTER, THREAD_EXIT, THREAD_REPLACE, ASK_START, ASK_END] as const;

/** The host of a thread, as an event names it. */
export interface EventHost {
  readonly self: number;
  readonly clock: { now(): number };
  idOf(key: number): string;
}

export function actorSpawned(host: EventHost, key: number, name: string, parentKey: number): void {
  if (tracing) trace(`thread ${host.self}: spawn ${name} ${host.idOf(key)}`);
  if (SPAWN.hasSubscribers) SPAWN.publish({ thread: host.self, id: host.idOf(key), name, parent: parentKey === 0 ? undefined : host.idOf(parentKey) } satisfies ActorSpawnEvent);
}

export function actorStarted(host: EventHost, key: number, name: string): void {
  if (tracing) trace(`thread ${host.self}: start ${name} ${host.idOf(key)}`);
  if (START.hasSubscribers) START.publish({ thread: host.self, id: host.idOf(key), name } satisfies ActorStartEvent);
}

export function actorRestarted(host: EventHost, key: number, name: string, error: Error | null): void {
  if (tracing) trace(`thread ${host.self}: restart ${name} ${host.idOf(key)}${error === null ? '' : ` after ${String(error)}`}`);
  if (RESTART.hasSubscribers) RESTART.publish({ thread: host.self, id: host.idOf(key), name, error } satisfies ActorRestartEvent);
}

export function actorStopped(host: EventHost, key: number, name: string, reason: ExitReason): void {
  if (tracing) trace(`thread ${host.self}: stop ${name} ${host.idOf(key)} (${reason})`);
  if (STOP.hasSubscribers) STOP.publish({ thread: host.self, id: host.idOf(key), name, reason } satisfies ActorStopEvent);
}

/** True while a dead letter made here has somewhere to go on this thread's channel. */
export function deadLettersObserved(): boolean {
  return DEAD_LETTER.hasSubscribers;
}

export function deadLettered(thread: number, letter: DeadLetter): void {
  if (DEAD_LETTER.hasSubscribers) DEAD_LETTER.publish({ thread, letter } satisfies DeadLetterEvent);
}

export function threadExited(thread: number, code: number, error: Error | null, kind: ThreadExitEvent['kind']): void {
  if (tracing) trace(`thread 0: thread ${thread} exited with code ${code} (${kind})${error === null ? '' : `: ${String(error)}`}`);
  if (THREAD_EXIT.hasSubscribers) THREAD_EXIT.publish({ thread, code, error, kind } satisfies ThreadExitEvent);
}

export function threadReplaced(thread: number, spare: boolean): void {
  if (tracing) trace(`thread 0: thread ${thread} replaced${spare ? ' by the spare' : ''}`);
  if (THREAD_REPLACE.hasSubscribers) THREAD_REPLACE.publish({ thread, spare } satisfies ThreadReplaceEvent);
}

let asks = 0;

/**
 * An ask while troupe:ask:start or troupe:ask:end has a subscriber (the caller checked): start
 * now, end when `ask`'s promise settles. Returns a promise that settles as that one does, so
 * that one nobody handles is still reported as unhandled.
 */
export function tracedAsk(host: EventHost, target: { readonly id: string; readonly name: string | undefined }, type: string, ask: () => Promise<unknown>): Promise<unknown> {
  const start: AskStartEvent = { thread: host.self, askId: (asks = (asks % 0x7fffffff) + 1), id: target.id, name: target.name ?? '', type };
  if (ASK_START.hasSubscribers) ASK_START.publish(start);
  const began = host.clock.now();
  const end = (outcome: AskEndEvent['outcome'], error?: Error): void => {
    if (!ASK_END.hasSubscribers) return;
    const event: AskEndEvent = { ...start, outcome, durationMs: host.clock.now() - began };
    ASK_END.publish(error === undefined ? event : { ...event, error });
  };
  return ask().then(
    (value) => {
      end('reply');
      return value;
    },
    (error: unknown) => {
      end((error as { code?: unknown } | null)?.code === 'ERR_ASK_TIMEOUT' ? 'timeout' : 'error', error as Error);
      throw error;
    },
  );
}
