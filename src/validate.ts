// Tiny validators for options. Each names the option's path and the bad value in its message
// and throws InvalidArgumentError, so a bad option fails at the call that passed it.

import { InvalidArgumentError } from './errors.js';

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return 'a function';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

export function invalid(path: string, expected: string, value: unknown): InvalidArgumentError {
  return new InvalidArgumentError(`${path}: expected ${expected}, got ${show(value)}`);
}

export function validateInteger(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(path, `an integer from ${min} to ${max}`, value);
  }
  return value;
}

export function validateNumber(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value < min || value > max) {
    throw invalid(path, `a number from ${min} to ${max}`, value);
  }
  return value;
}

export function validateOneOf<T extends string>(value: unknown, path: string, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw invalid(path, `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`, value);
  }
  return value as T;
}

/** A flag: false when absent. */
export function validateBoolean(value: unknown, path: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw invalid(path, 'true or false', value);
  return value;
}

export function validateString(value: unknown, path: string): string {
  if (typeof value !== 'string' || value.length === 0) throw invalid(path, 'a non-empty string', value);
  return value;
}

export function validateObject(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(path, 'an object', value);
  return value as Record<string, unknown>;
}

export function validateFunction(value: unknown, path: string): (...args: never[]) => unknown {
  if (typeof value !== 'function') throw invalid(path, 'a function', value);
  return value as (...args: never[]) => unknown;
}

/** True for a promise or any object with a then method (what an async handler returns). */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function';
}

/**
 * Refuses a key of `value` that is not in `allowed` (a misspelt option is an error, not a silent
 * default), naming it and the nearest allowed one. Call only when options were given.
 */
export function validateKeys(value: object, path: string, allowed: readonly string[]): void {
  for (const key in value) {
    if (allowed.includes(key)) continue;
    const near = nearest(key, allowed);
    throw invalid(`${path}.${key}`, near === null ? `one of ${allowed.join(', ')} (no such option)` : `one of ${allowed.join(', ')} (no such option: did you mean ${near}?)`, (value as Record<string, unknown>)[key]);
  }
}

/** The allowed word closest to `word` (case aside, at most two edits away), or null. */
function nearest(word: string, allowed: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = 3;
  const a = word.toLowerCase();
  for (const candidate of allowed) {
    const b = candidate.toLowerCase();
    // Levenshtein distance, one row at a time.
    let row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      const next = [i];
      for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      row = next;
    }
    if (row[b.length]! < bestDistance) {
      bestDistance = row[b.length]!;
      best = candidate;
    }
  }
  return best;
}
