// How entities are named: the thread a key lives on (the hash of its definition's name and key
// over the worker threads), and a key's id in the store. Pure functions, the same on every thread.

import { fnv1a } from '../hash.js';
import type { EntityAddress } from './entity-ref.js';

/**
 * The longest key, entity name and messageId (UTF-8 bytes): they make keys in the store, which
 * lmdb bounds to 1,978 bytes, and the longest of those holds two ids (a target's mark of a source).
 */
export const MAX_KEY_BYTES = 512;
export const MAX_NAME_BYTES = 128;
export const MAX_MESSAGE_ID_BYTES = 256;

export function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** The thread a key lives on: a worker picked by the hash of its name and key, or main when there is none. */
export function homeOf(name: string, key: string, workers: number): number {
  if (workers === 0) return 0;
  return 1 + (fnv1a(`${name}\u0000${key}`) % workers);
}

/** A key's id in the store: its definition's name and the key (names are unique in a system). */
export function idOf([, name, key]: EntityAddress): string {
  return `${name}\u0000${key}`;
}

export function splitId(id: string): [name: string, key: string] {
  const at = id.indexOf('\u0000');
  return [id.slice(0, at), id.slice(at + 1)];
}

/** A key id's 32-bit hash, never 0 (what an activation leaves in its thread's mark: runtime mark slots hold numbers). */
export function idHash(id: string): number {
  return fnv1a(id) || 1;
}
