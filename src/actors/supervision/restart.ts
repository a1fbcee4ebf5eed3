// Whether an actor that failed may start again, and after what delay: pure decisions over its
// restart history and the clock's reading, so they are tested with numbers, not threads.
//
// Without a backoff, at most maxRestarts restarts within a sliding window of windowMs. With a
// backoff, at most maxRestarts failures in a row; a streak ends once the actor has run for
// resetAfterMs without failing; the n-th restart in a row waits minMs·2^(n-1), capped at maxMs,
// plus a random share of up to jitter times that.

import type { TimerHandle } from '../../runtime/clock.js';
import { validateKeys, validateNumber, validateObject } from '../../validate.js';
import type { BackoffOptions } from '../types.js';

/** A backoff, resolved: every field set. */
export interface Backoff {
  readonly minMs: number;
  readonly maxMs: number;
  readonly jitter: number;
  readonly resetAfterMs: number;
}

/** Checks and completes a backoff option (`name` is its path, for the error). */
export function resolveBackoff(o: BackoffOptions | undefined, name: string): Backoff | null {
  if (o === undefined) return null;
  validateObject(o, name);
  validateKeys(o, name, ['minMs', 'maxMs', 'jitter', 'resetAfterMs']);
  const minMs = validateNumber(o.minMs, `${name}.minMs`, 0, 2 ** 31);
  const maxMs = validateNumber(o.maxMs, `${name}.maxMs`, minMs, 2 ** 31);
  const jitter = o.jitter === undefined ? 0.2 : validateNumber(o.jitter, `${name}.jitter`, 0, 10);
  const resetAfterMs = o.resetAfterMs === undefined ? (minMs + maxMs) / 2 : validateNumber(o.resetAfterMs, `${name}.resetAfterMs`, 0, 2 ** 31);
  return { minMs, maxMs, jitter, resetAfterMs };
}

/** A backoff streak: failures in a row, since when the current incarnation runs, its pending start. */
export interface BackoffState {
  inARow: number;
  runningSince: number;
  timer: TimerHandle | null;
}

/**
 * Decides a restart at `now` and records it in `restarts` (times of past restarts, oldest first)
 * and `streak` (with a backoff): true if the actor restarts, false if it is to stop. `running`:
 * it failed while running (not while starting again), so a long enough run ends a streak.
 */
export function allowRestart(
  policy: { readonly maxRestarts: number; readonly windowMs: number; readonly backoff: Backoff | null },
  restarts: number[],
  streak: BackoffState | null,
  now: number,
  running: boolean,
): boolean {
  const backoff = policy.backoff;
  if (backoff !== null && streak !== null) {
    if (running && now - streak.runningSince >= backoff.resetAfterMs) streak.inARow = 0;
    if (streak.inARow >= policy.maxRestarts) return false;
    streak.inARow++;
  } else {
    while (restarts.length > 0 && now - restarts[0]! > policy.windowMs) restarts.shift();
    if (restarts.length >= policy.maxRestarts) return false;
  }
  restarts.push(now);
  return true;
}

/** The delay before the `inARow`-th restart in a row; `random` in [0, 1). */
export function backoffDelay(backoff: Backoff, inARow: number, random: number): number {
  const base = Math.min(backoff.maxMs, backoff.minMs * 2 ** (inARow - 1));
  return base + random * backoff.jitter * base;
}
