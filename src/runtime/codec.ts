// Message <-> bytes. One Encoder per outbound ring and one Decoder per inbound ring, in msgpackr's
// `sequential` mode: each ring is an ordered stream, so record structures are sent once and later
// records shrink to their values. Every encoded record must therefore reach the decoder, in order.
//
// msgpackr silently turns functions into undefined and -0 into 0, so encode() first walks the value:
// anything it cannot carry throws SerializationError before a byte is written, and -0 is rewritten
// to a marker that decodes back to -0.

import { Packr, Unpackr, addExtension } from 'msgpackr';
import { SerializationError } from '../errors.js';

const OPTIONS = {
  sequential: true,
  structuredClone: true, // Map, Set, Error, RegExp, typed arrays, cycles
  moreTypes: true,
  copyBuffers: true, // decoded binaries must not alias the reused private buffer
  int64AsType: 'bigint' as const,
  mapsAsObjects: false,
};

class NegativeZero {}
const NEGATIVE_ZERO = new NegativeZero();
addExtension({
  Class: NegativeZero,
  type: 0x2d,
  write: () => 0,
  read: () => -0,
});

/**
 * What is decoding right now: set by the thread's runtime before it decodes a batch, so that a
 * wire class (an actor ref) can bind to the right owner even with several systems in one thread.
 */
export const decodeContext: { current: unknown } = { current: null };

/** Lets the layer above carry its own classes (actor refs) by value. */
export function registerWireClass<T>(
  Class: new (...args: never[]) => T,
  type: number,
  write: (instance: T) => unknown,
  read: (data: unknown, context: unknown) => T,
): void {
  addExtension({
    Class: Class as never,
    type,
    write: write as never,
    read: ((data: unknown) => read(data, decodeContext.current)) as never,
  });
}

const TRACK_FROM_DEPTH = 32;

/** Throws SerializationError for what the codec cannot carry; returns true when -0 occurs. */
function inspect(value: unknown, path: string, depth: number, seen: Set<object> | null): boolean {
  switch (typeof value) {
    case 'number':
      return value === 0 && 1 / value < 0;
    case 'function':
      throw new SerializationError(`cannot serialize a function at ${path}`);
    case 'symbol':
      throw new SerializationError(`cannot serialize a symbol at ${path}`);
    case 'object':
      break;
    default:
      return false;
  }
  if (value === null || ArrayBuffer.isView(value) || value instanceof Date || value instanceof ArrayBuffer) return false;
  if (value instanceof Promise || value instanceof WeakMap || value instanceof WeakSet || value instanceof WeakRef) {
    throw new SerializationError(`cannot serialize a ${value.constructor.name} at ${path}`);
  }
  if (depth >= TRACK_FROM_DEPTH) {
    // Deep values may be cyclic (structuredClone mode carries cycles): visit each object once.
    seen ??= new Set();
    if (seen.has(value)) return false;
    seen.add(value);
  }
  let negativeZero = false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (inspect(value[i], `${path}[${i}]`, depth + 1, seen)) negativeZero = true;
  } else if (value instanceof Map) {
    for (const [k, v] of value) {
      if (inspect(k, `${path}.<key>`, depth + 1, seen)) negativeZero = true;
      if (inspect(v, `${path}.get(${String(k)})`, depth + 1, seen)) negativeZero = true;
    }
  } else if (value instanceof Set) {
    for (const v of value) if (inspect(v, `${path}.<member>`, depth + 1, seen)) negativeZero = true;
  } else {
    for (const key in value) {
      if (inspect((value as Record<string, unknown>)[key], `${path}.${key}`, depth + 1, seen)) negativeZero = true;
    }
  }
  return negativeZero;
}

/** A copy of `value` with every -0 replaced by the marker; only built when -0 occurs. */
function replaceNegativeZero(value: unknown, copies: Map<object, unknown>): unknown {
  if (typeof value === 'number') return value === 0 && 1 / value < 0 ? NEGATIVE_ZERO : value;
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value) || value instanceof Date) return value;
  const done = copies.get(value);
  if (done !== undefined) return done;
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    copies.set(value, out);
    for (const v of value) out.push(replaceNegativeZero(v, copies));
    return out;
  }
  if (value instanceof Map) {
    const out = new Map();
    copies.set(value, out);
    for (const [k, v] of value) out.set(replaceNegativeZero(k, copies), replaceNegativeZero(v, copies));
    return out;
  }
  if (value instanceof Set) {
    const out = new Set();
    copies.set(value, out);
    for (const v of value) out.add(replaceNegativeZero(v, copies));
    return out;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) return value;
  const out: Record<string, unknown> = {};
  copies.set(value, out);
  for (const key in value) out[key] = replaceNegativeZero((value as Record<string, unknown>)[key], copies);
  return out;
}

/** Checks that `value` can be carried, and returns what to hand to msgpackr. */
export function prepare(value: unknown, path = 'payload'): unknown {
  return inspect(value, path, 0, null) ? replaceNegativeZero(value, new Map()) : value;
}

export class Encoder {
  readonly #packr = new Packr({ ...OPTIONS }); // a copy each: msgpackr attaches stream state to its options

  /**
   * Encodes a value that went through prepare(). Bytes stay valid until the next call. A throw
   * here may leave the stream state half-updated: the caller must reset both ends.
   */
  encode(prepared: unknown): Uint8Array {
    try {
      return this.#packr.pack(prepared);
    } catch (error) {
      throw new SerializationError(`cannot serialize message: ${(error as Error).message}`, { cause: error });
    }
  }
}

export class Decoder {
  readonly #unpackr = new Unpackr({ ...OPTIONS });
  readonly #range = { start: 0, end: 0 };

  decode(source: Uint8Array, start: number, end: number): unknown {
    this.#range.start = start;
    this.#range.end = end;
    return this.#unpackr.unpack(source, this.#range);
  }
}
