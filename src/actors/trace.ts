// Trace context: a small string (a W3C traceparent, say) that travels with a message. Given to
// tell/send/ask ({ trace }) or active when they are called (withTrace, or inside a handler of a
// traced message, awaits included), it rides with the message to any thread, is the handler's
// ctx.trace, and is carried on to what that handler sends. Until anything is traced on a thread,
// finding the active trace costs one boolean read.

import { AsyncLocalStorage } from 'node:async_hooks';
import { invalid } from '../validate.js';

/** The longest trace a message carries (a traceparent is 55 characters; tracestate up to 512). */
export const MAX_TRACE_LENGTH = 1024;

const storage = new AsyncLocalStorage<string | undefined>();
/** Whether anything on this thread has been traced: until then nothing asks the storage. */
let inUse = false;

/**
 * Runs `fn` with `trace` active: every tell, send and ask made in it (awaits included) carries
 * the trace, unless the call names its own.
 */
export function withTrace<T>(trace: string, fn: () => T): T {
  checkTrace(trace, 'withTrace(trace)');
  inUse = true;
  return storage.run(trace, fn);
}

/** The trace a message sent now carries: the call's own, else the active one. */
export function traceFor(given: string | undefined): string | undefined {
  if (given !== undefined) return checkTrace(given, 'options.trace');
  return inUse ? storage.getStore() : undefined;
}

/** The active trace (a handler's: that of the message it handles). */
export function activeTrace(): string | undefined {
  return inUse ? storage.getStore() : undefined;
}

/** Runs `fn(a, b)` with no trace active (a turn never lends one message's trace to another). */
export function runUntraced<A, B>(fn: (a: A, b: B) => void, a: A, b: B): void {
  storage.run(undefined, fn, a, b);
}

/**
 * callHandler (define.ts) with `trace` active, or none. Its own function so that the closure it
 * makes never captures a caller's variables: V8 would give the caller a heap context on every
 * call (in the cell's loop, on every message) whether or not the closure is made.
 */
export function callTraced(
  trace: string | undefined,
  ctx: unknown,
  type: string,
  payload: unknown,
  handler: ((ctx: never, payload: unknown) => unknown) | undefined,
  receive: ((ctx: never, type: string, payload: unknown) => unknown) | undefined,
): unknown {
  if (trace !== undefined) inUse = true;
  return storage.run(trace, () => (handler !== undefined ? handler(ctx as never, payload) : receive!(ctx as never, type, payload)));
}

/** Runs `fn` with no trace active (what it sends carries only a trace it names itself). */
export function untraced<T>(fn: () => T): T {
  return inUse ? storage.run(undefined, fn) : fn();
}

/** Whether handlers must be run through callTraced and batches through runUntraced (something on this thread was traced). */
export function tracing(): boolean {
  return inUse;
}

function checkTrace(trace: unknown, name: string): string {
  if (typeof trace !== 'string' || trace.length === 0 || trace.length > MAX_TRACE_LENGTH) {
    throw invalid(name, `a string of 1 to ${MAX_TRACE_LENGTH} characters`, trace);
  }
  return trace;
}
