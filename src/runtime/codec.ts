// Message <-> bytes. One Encoder per outbound ring and one Decoder per inbound ring, in msgpackr's
// `sequential` mode: each ring is an ordered stream, so record structures are sent once and later
// records shrink to their values. Every encoded record must therefore reach the decoder, in order.
//
// msgpackr silently turns functions into undefined and -0 into 0, and overflows the stack on a
// cycle, so prepare() first walks the value: anything it cannot carry throws SerializationError
// before a byte is written, and -0 is rewritten to a marker that decodes back to -0. Shared
// (acyclic) references are carried as copies.

import { Packr, RESET_BUFFER_MODE, REUSE_BUFFER_MODE, Unpackr, addExtension } from 'msgpackr';
import { SerializationError } from '../errors.js';
import { FlatEncoder, NOT_SCALAR, readScalar } from './flat-encoder.js';

const OPTIONS = {
  sequential: true,
  moreTypes: true, // Set, Error, RegExp, typed arrays (Map is native msgpack with mapsAsObjects off)
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

/** Classes carried by their own wire form: the validation walk does not look inside them. */
const wireClasses = new Set<unknown>();

/** Lets the layer above carry its own classes (actor refs) by value. */
export function registerWireClass<T>(
  Class: new (...args: never[]) => T,
  type: number,
  write: (instance: T) => unknown,
  read: (data: unknown, context: unknown) => T,
): void {
  wireClasses.add(Class);
  addExtension({
    Class: Class as never,
    type,
    write: write as never,
    read: ((data: unknown) => read(data, decodeContext.current)) as never,
  });
}

/** Deeper than this is refused: it is either cyclic or far beyond any sane message. */
const MAX_DEPTH = 64;
const NEEDS_REWRITE = 1;
const REFUSED = 2;

/** Hot path: no strings built. Returns 0, NEEDS_REWRITE (holds -0) or REFUSED. */
function scan(value: unknown, depth: number): number {
  switch (typeof value) {
    case 'number':
      return value === 0 && 1 / value < 0 ? NEEDS_REWRITE : 0;
    case 'function':
    case 'symbol':
      return REFUSED;
    case 'object':
      break;
    default:
      return 0;
  }
  if (value === null) return 0;
  if (depth > MAX_DEPTH) return REFUSED;
  let flags = 0;
  const constructor = (value as { constructor?: unknown }).constructor;
  if (constructor === Object) {
    // The common case first: a plain object (no wire-class or built-in checks needed), its
    // strings, booleans and non-zero numbers checked here without a call each.
    for (const key in value) {
      const v = (value as Record<string, unknown>)[key];
      const type = typeof v;
      if (type === 'string' || type === 'boolean' || (type === 'number' && v !== 0) || v === undefined) continue;
      flags |= scan(v, depth + 1);
    }
    return flags;
  }
  if (wireClasses.has(constructor)) return 0;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) flags |= scan(value[i], depth + 1);
    return flags;
  }
  if (ArrayBuffer.isView(value) || value instanceof Date || value instanceof ArrayBuffer) return 0;
  if (value instanceof Map) {
    for (const [k, v] of value) flags |= scan(k, depth + 1) | scan(v, depth + 1);
    return flags;
  }
  if (value instanceof Set) {
    for (const v of value) flags |= scan(v, depth + 1);
    return flags;
  }
  if (value instanceof Promise || value instanceof WeakMap || value instanceof WeakSet || value instanceof WeakRef) return REFUSED;
  for (const key in value) flags |= scan((value as Record<string, unknown>)[key], depth + 1);
  return flags;
}

/** Cold path, after scan() refused: find where, and say what. */
function explain(value: unknown, path: string, depth: number): string | null {
  if (typeof value === 'function') return `cannot serialize a function at ${path}`;
  if (typeof value === 'symbol') return `cannot serialize a symbol at ${path}`;
  if (typeof value !== 'object' || value === null || wireClasses.has(value.constructor)) return null;
  if (depth > MAX_DEPTH) return `cannot serialize ${path}: nested deeper than ${MAX_DEPTH} levels (cyclic?)`;
  if (value instanceof Promise || value instanceof WeakMap || value instanceof WeakSet || value instanceof WeakRef) {
    return `cannot serialize a ${value.constructor.name} at ${path}`;
  }
  if (ArrayBuffer.isView(value) || value instanceof Date || value instanceof ArrayBuffer) return null;
  const entries: [string, unknown][] = Array.isArray(value)
    ? value.map((v, i) => [`${path}[${i}]`, v])
    : value instanceof Map
      ? [...value].flatMap(([k, v]) => [[`${path}.<key>`, k] as [string, unknown], [`${path}.get(${String(k)})`, v] as [string, unknown]])
      : value instanceof Set
        ? [...value].map((v) => [`${path}.<member>`, v])
        : Object.keys(value).map((k) => [`${path}.${k}`, (value as Record<string, unknown>)[k]]);
  for (const [p, v] of entries) {
    const why = explain(v, p, depth + 1);
    if (why !== null) return why;
  }
  return null;
}

/**
 * Why `value` would not come back from the codec as it went in, or null if it would: stricter
 * than a message's rules, which let a class instance travel as a plain object. What is kept
 * across threads as itself (an actor's state, when it moves) must have no class instance, no
 * function, no promise. Cycles and sharing are refused too (msgpackr copies a shared object).
 */
const BUILT_IN_ERRORS: unknown[] = [Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError];

export function roundTripProblem(value: unknown, path: string): string | null {
  return roundTrip(value, path, new Set(), 0);
}

function roundTrip(value: unknown, path: string, seen: Set<object>, depth: number): string | null {
  if (typeof value === 'function' || typeof value === 'symbol') return `${path} is a ${typeof value}`;
  if (typeof value !== 'object' || value === null) return null;
  if (depth > MAX_DEPTH) return `${path} is nested deeper than ${MAX_DEPTH} levels`;
  if (seen.has(value)) return `${path} is reached twice (shared or cyclic: it would arrive as two copies)`;
  seen.add(value);
  const constructor = (value as { constructor?: unknown }).constructor;
  if (ArrayBuffer.isView(value) && value.buffer instanceof SharedArrayBuffer) return `${path} is a view of a SharedArrayBuffer (it would arrive as a copy, no longer shared)`;
  if (value instanceof SharedArrayBuffer) return `${path} is a SharedArrayBuffer (it would arrive as a copy, no longer shared)`;
  if (wireClasses.has(constructor) || ArrayBuffer.isView(value) || value instanceof Date || value instanceof ArrayBuffer || constructor === RegExp) return null;
  if (BUILT_IN_ERRORS.includes(constructor)) return null;
  let entries: [string, unknown][];
  if (Array.isArray(value)) entries = value.map((v, i) => [`${path}[${i}]`, v]);
  else if (value instanceof Map) entries = [...value].flatMap(([k, v]) => [[`${path}.<key>`, k] as [string, unknown], [`${path}.get(${String(k)})`, v] as [string, unknown]]);
  else if (value instanceof Set) entries = [...value].map((v) => [`${path}.<member>`, v]);
  else if (constructor === Object && Object.getPrototypeOf(value) === Object.prototype) entries = Object.keys(value).map((k) => [`${path}.${k}`, (value as Record<string, unknown>)[k]]);
  else return `${path} is an instance of ${(constructor as { name?: string } | undefined)?.name || 'a class'} (it would arrive as a plain object)`;
  for (const [p, v] of entries) {
    const why = roundTrip(v, p, seen, depth + 1);
    if (why !== null) return why;
  }
  return null;
}

/** A copy of `value` with every -0 replaced by the marker; only built when -0 occurs. */
function replaceNegativeZero(value: unknown, copies: Map<object, unknown>): unknown {
  if (typeof value === 'number') return value === 0 && 1 / value < 0 ? NEGATIVE_ZERO : value;
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value) || value instanceof Date) return value;
  if (wireClasses.has(value.constructor)) return value;
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
  const flags = scanned(value, path);
  if (flags === 0) return value;
  if (flags & REFUSED) throw new SerializationError(explain(value, path, 0) ?? `cannot serialize ${path}`);
  return replaceNegativeZero(value, new Map());
}

/**
 * A value whose parts were all checked where they came in, as msgpackr should see it: nothing
 * is refused, only -0 is marked. These are the runtime's own control records: a moving actor's
 * record (its arguments, state, timers and dedup table went through encodedSize() just before),
 * its queued messages (checked as they were sent), the planner's samples, exit reasons. Kept away from scan() on
 * purpose: such records are arrays of every shape, and through scan() they left its type
 * feedback polymorphic on each thread that sent one, so that every same-thread tell's payload
 * check there ran slower from then on (chameneos, 2 threads: 7-10% slower after any move, of
 * any actor, and with the planner on from its first samples).
 */
export function prepareChecked(value: unknown): unknown {
  return holdsNegativeZero(value, 0) ? replaceNegativeZero(value, new Map()) : value;
}

function holdsNegativeZero(value: unknown, depth: number): boolean {
  if (typeof value === 'number') return value === 0 && 1 / value < 0;
  if (typeof value !== 'object' || value === null || depth > MAX_DEPTH) return false;
  if (Array.isArray(value)) return value.some((v) => holdsNegativeZero(v, depth + 1));
  if (value instanceof Map) {
    for (const [k, v] of value) if (holdsNegativeZero(k, depth + 1) || holdsNegativeZero(v, depth + 1)) return true;
    return false;
  }
  if (value instanceof Set) {
    for (const v of value) if (holdsNegativeZero(v, depth + 1)) return true;
    return false;
  }
  // As replaceNegativeZero() walks: plain objects only (a ref, an error, a view goes as it is).
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  for (const key in value) if (holdsNegativeZero((value as Record<string, unknown>)[key], depth + 1)) return true;
  return false;
}

/**
 * Checks that `value` could be carried to another thread, without encoding it: what a message
 * to an actor on the same thread goes through, so that a payload is refused (or not) wherever
 * its receiver lives. Primitives pass with no walk.
 */
export function checkPayload(value: unknown, path = 'payload'): void {
  // Kept tiny so that it inlines into a same-thread tell: the walk is a call of its own.
  if (typeof value === 'object' ? value !== null : typeof value === 'function' || typeof value === 'symbol') walkPayload(value, path);
}

function walkPayload(value: unknown, path: string): void {
  if (scanned(value, path) & REFUSED) throw new SerializationError(explain(value, path, 0) ?? `cannot serialize ${path}`);
}

/** A reading of `value` that fails (a getter that throws, a revoked proxy) as a SerializationError. */
export function unreadable(error: unknown, path = 'payload'): Error {
  if (error instanceof SerializationError) return error;
  return new SerializationError(`cannot serialize ${path}: reading it threw: ${(error as Error)?.message ?? String(error)}`, { cause: error });
}

function scanned(value: unknown, path: string): number {
  try {
    return scan(value, 0);
  } catch (error) {
    throw unreadable(error, path);
  }
}

/** Encoded bytes: `buffer[start, end)`, valid until the next encode() on the same Encoder. */
export interface Encoded {
  readonly buffer: Uint8Array;
  readonly start: number;
  readonly end: number;
  /** A word view of `buffer` from its byte 0 (for word copies), or null if it is not aligned. */
  readonly words: Int32Array | null;
}

const REUSE = REUSE_BUFFER_MODE | RESET_BUFFER_MODE;

/** msgpackr's own record ids in sequential mode: 64 of them (0x40..0x7f), recycled in turn. */
const OWN_RECORDS = 64;

/** A record structure (an object shape: its keys in order) that a stream defined under an id. */
export interface Definition {
  readonly id: number;
  readonly keys: readonly string[];
}

/** A decoder's record structures by id (null: undefined there): what a new reader starts from. */
export type Structures = readonly (readonly string[] | null)[];

// Payloads too big for a ring travel alone (on a port, not in the stream): encoded without
// stream state, so losing one with a dead thread leaves the stream decodable.
const standalonePackr = new Packr({ ...OPTIONS, sequential: false });
const standaloneUnpackr = new Unpackr({ ...OPTIONS, sequential: false });

/**
 * How many bytes `value` takes encoded on its own (it is encoded to find out: for rare checks).
 * Checked as a message is (prepare): what it refuses, a moving actor's record could not carry.
 */
export function encodedSize(value: unknown): number {
  return standalonePackr.pack(prepare(value)).length;
}

/** `prepared` as self-contained bytes (no stream state): a private copy. */
export function encodeStandalone(prepared: unknown): Uint8Array<ArrayBuffer> {
  try {
    const bytes = standalonePackr.pack(prepared);
    const copy = new Uint8Array(bytes.length);
    copy.set(bytes);
    return copy;
  } catch (error) {
    throw new SerializationError(`cannot serialize message: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * `prepared` as self-contained bytes, in the encoder's own space: valid only until the next
 * encoding on this thread (a caller that keeps them copies them). Spares encodeStandalone's copy
 * where the bytes are copied anyway at once (into a store's write buffer).
 */
export function encodeScratch(prepared: unknown): Uint8Array {
  try {
    return standalonePackr.pack(prepared);
  } catch (error) {
    throw new SerializationError(`cannot serialize message: ${(error as Error).message}`, { cause: error });
  }
}

export function decodeStandalone(bytes: Uint8Array): unknown {
  return standaloneUnpackr.unpack(bytes);
}

/** Flat messages up to this size take the fast path (see flat-encoder.ts). */
const FLAT_BYTES = 4096;

export class Encoder {
  readonly #packr = new Packr({ ...OPTIONS }); // a copy each: msgpackr attaches stream state to its options
  readonly #out: { buffer: Uint8Array; start: number; end: number; words: Int32Array | null } = { buffer: new Uint8Array(0), start: 0, end: 0, words: null };
  readonly #flat = new FlatEncoder(FLAT_BYTES);
  /** msgpackr's target buffer as last seen, and a word view of it (null: not aligned). */
  #target: Uint8Array | null = null;
  #targetWords: Int32Array | null = null;
  /** The structures as last seen by newDefinitions(), and msgpackr's next record id then. */
  readonly #known: unknown[] = new Array<unknown>(OWN_RECORDS).fill(undefined);
  #nextId: number | undefined = undefined;

  /**
   * Encodes a value that went through prepare(), into the encoder's own buffer (no allocation
   * per message). A throw here may leave the stream state half-updated: reset both ends.
   */
  encode(prepared: unknown): Encoded {
    try {
      // In reuse mode msgpackr returns its whole target buffer with start/end set on it.
      const target = this.#packr.pack(prepared, REUSE) as Buffer & { start: number; end: number };
      const out = this.#out;
      if (target !== this.#target) {
        // msgpackr keeps its target until a message outgrows it: a new word view then.
        this.#target = target;
        this.#targetWords = (target.byteOffset & 3) === 0 ? new Int32Array(target.buffer, target.byteOffset, target.byteLength >> 2) : null;
      }
      out.buffer = target;
      out.words = this.#targetWords;
      out.start = target.start;
      out.end = target.end;
      return out;
    } catch (error) {
      throw new SerializationError(`cannot serialize message: ${(error as Error).message}`, { cause: error });
    }
  }

  /**
   * The fast path: a plain object of a shape this stream already defined, with simple values
   * (see flat-encoder.ts), encoded without msgpackr and without prepare() (nothing in it needs
   * checking). Null for anything else: then prepare() and encode().
   */
  encodeFlat(value: unknown): Encoded | null {
    const flat = this.#flat;
    const end = flat.write(value, (this.#packr as unknown as { structures: readonly unknown[] }).structures);
    if (end < 0) return null;
    const out = this.#out;
    out.buffer = flat.buffer;
    out.words = flat.words;
    out.start = 0;
    out.end = end;
    return out;
  }

  /**
   * The record structures the last encode() defined (msgpackr writes a definition inline the
   * first time a shape is used, and reuses ids after 64), or null: one property read when none.
   * A writer logs them so that a replacement reader can start mid-stream. (A single message with
   * 64 or more new shapes would wrap the id counter unseen: far beyond any real message.)
   */
  newDefinitions(): Definition[] | null {
    const structures = (this.#packr as unknown as { structures: (string[] | undefined)[] & { nextId?: number } }).structures;
    if (structures.nextId === this.#nextId) return null;
    this.#nextId = structures.nextId;
    let defined: Definition[] | null = null;
    for (let id = 0; id < OWN_RECORDS; id++) {
      const keys = structures[id];
      if (keys === this.#known[id] || keys === undefined) continue;
      this.#known[id] = keys;
      this.#flat.learn(id, keys);
      (defined ??= []).push({ id, keys });
    }
    return defined;
  }
}

/**
 * A writer's memory of the record structures its stream defined, by the sequence number of the
 * record that carried each definition: enough to seed a reader that joins the stream at any
 * record not yet read (a replacement for a reader thread that died).
 */
export class DefinitionLog {
  /** In stream order; id -1 marks a codec reset (every structure forgotten). */
  #entries: { seq: number; id: number; keys: readonly string[] | null }[] = [];

  get size(): number {
    return this.#entries.length;
  }

  add(seq: number, defined: readonly Definition[]): void {
    for (const d of defined) this.#entries.push({ seq, id: d.id, keys: d.keys });
  }

  reset(seq: number): void {
    this.#entries.push({ seq, id: -1, keys: null });
  }

  /** The structures a reader holds once it has read every record numbered below `seq`. */
  stateBefore(seq: number): Structures {
    const state: (readonly string[] | null)[] = new Array<readonly string[] | null>(OWN_RECORDS).fill(null);
    for (const e of this.#entries) {
      if (e.seq >= seq) break;
      if (e.id < 0) state.fill(null);
      else state[e.id] = e.keys;
    }
    // Plain copies: they may cross threads (msgpackr hangs its own properties on the originals).
    return state.map((keys) => (keys === null ? null : [...keys]));
  }

  /** Forgets what no reader at record `firstUnread` or later can need. */
  prune(firstUnread: number): void {
    const state = this.stateBefore(firstUnread);
    const kept: { seq: number; id: number; keys: readonly string[] | null }[] = [{ seq: 0, id: -1, keys: null }];
    state.forEach((keys, id) => {
      if (keys !== null) kept.push({ seq: 0, id, keys });
    });
    for (const e of this.#entries) if (e.seq >= firstUnread) kept.push(e);
    this.#entries = kept;
  }
}

/** Records up to this size are decoded from a small private buffer at offset 0 (see decode()). */
const SMALL_RECORD = 4096;

export class Decoder {
  readonly #unpackr = new Unpackr({ ...OPTIONS });
  readonly #range = { start: 0, end: 0 };
  readonly #small = Buffer.allocUnsafeSlow(SMALL_RECORD);
  readonly #smallWords = new Int32Array(this.#small.buffer, this.#small.byteOffset, SMALL_RECORD >> 2);

  /** `seed`: the structures a stream had defined before the point where this decoder joins it. */
  constructor(seed?: Structures) {
    if (seed === undefined) return;
    const structures = (this.#unpackr as unknown as { structures: string[][] }).structures;
    seed.forEach((keys, id) => {
      if (keys !== null) structures[id] = [...keys];
    });
  }

  /** The record structures this decoder holds now (plain copies): what a snapshot of the stream keeps. */
  structures(): Structures {
    const structures = (this.#unpackr as unknown as { structures: (readonly string[] | undefined)[] }).structures;
    const out: (readonly string[] | null)[] = new Array<readonly string[] | null>(OWN_RECORDS).fill(null);
    for (let id = 0; id < OWN_RECORDS; id++) {
      const keys = structures[id];
      if (keys !== undefined && keys !== null) out[id] = [...keys];
    }
    return out;
  }

  /** `words`: a word view of `source` from its byte 0 (a ring's scratch buffer), for faster copies. */
  decode(source: Uint8Array, start: number, end: number, words: Int32Array | null = null): unknown {
    const length = end - start;
    if (length <= 9) {
      const scalar = readScalar(source, start, length);
      if (scalar !== NOT_SCALAR) return scalar;
    }
    if (length <= SMALL_RECORD) {
      // msgpackr decodes short strings in JS only when the record ends before byte 140 of its
      // source; past that it calls the native extractor, which costs more than it saves on small
      // records. Copying a small record to offset 0 keeps it on the fast path.
      const small = this.#small;
      const n = (length + 3) >> 2;
      if (words !== null && (start & 3) === 0 && (start >> 2) + n <= words.length) {
        // A word at a time (byte copies cost about a nanosecond each); the last word may read up
        // to 3 bytes past the record, which the unpack range ignores.
        const dst = this.#smallWords;
        const first = start >> 2;
        for (let i = 0; i < n; i++) dst[i] = words[first + i]!;
      } else {
        for (let i = 0; i < length; i++) small[i] = source[start + i]!;
      }
      this.#range.start = 0;
      this.#range.end = length;
      return this.#unpackr.unpack(small, this.#range);
    }
    this.#range.start = start;
    this.#range.end = end;
    return this.#unpackr.unpack(source, this.#range);
  }
}
