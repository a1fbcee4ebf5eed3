// The encoder's fast path for the commonest messages: a plain object of a shape the stream already
// knows, whose values are numbers, short ASCII strings, booleans or null; or one number, boolean
// or null on its own (and readScalar, the decoder's fast path for those). msgpackr spends ~40 ns
// per call before it writes a byte; this writes the same record form its decoder reads (the
// record id, then each value as standard msgpack) in under half the time that prepare() and
// msgpackr take together (0.42-0.45 for `{ n, id }`).
//
// It never defines a shape: msgpackr does that (the first message of each shape goes through it),
// and the Encoder learns each definition (learn()). A shape is used only while msgpackr still
// holds the very keys array it defined under that id, so an id that msgpackr has since recycled
// for another shape is never written. Anything else returns -1, and msgpackr encodes it.

/** msgpackr's record ids in sequential mode start here (one byte each, 0x40..0x7f). */
const RECORD_BASE = 0x40;
/** Longest string written here (fixstr or str8); longer ones go through msgpackr. */
const MAX_STRING = 255;
/** Shapes remembered before the table starts over (stale entries of recycled ids pile up). */
const MAX_NODES = 4096;

class ShapeNode {
  next: Map<string, ShapeNode> | null = null;
  /** The record index (0..63) and the keys array msgpackr defined for the shape ending here. */
  id = -1;
  keys: readonly string[] | null = null;
}

export class FlatEncoder {
  #root = new ShapeNode();
  #nodes = 0;
  readonly buffer: Uint8Array<ArrayBuffer>;
  readonly words: Int32Array;
  readonly #view: DataView;

  constructor(bytes: number) {
    this.buffer = new Uint8Array(bytes);
    this.words = new Int32Array(this.buffer.buffer);
    this.#view = new DataView(this.buffer.buffer);
  }

  /** msgpackr defined `keys` under record index `id` (0..63). */
  learn(id: number, keys: readonly string[]): void {
    if (this.#nodes > MAX_NODES) {
      this.#root = new ShapeNode();
      this.#nodes = 0;
    }
    let node = this.#root;
    for (const key of keys) {
      const next = (node.next ??= new Map());
      let child = next.get(key);
      if (child === undefined) {
        child = new ShapeNode();
        next.set(key, child);
        this.#nodes++;
      }
      node = child;
    }
    node.id = id;
    node.keys = keys;
  }

  /**
   * Writes `value` into this.buffer from byte 0 and returns the end, or -1 when it is not a
   * plain object of a known shape with simple values. `structures`: msgpackr's, by index.
   */
  write(value: unknown, structures: readonly unknown[]): number {
    // A message that is a number, a boolean or null on its own: written as msgpackr would.
    if (typeof value === 'number') return this.#number(value, 0);
    if (typeof value === 'boolean') {
      this.buffer[0] = value ? 0xc3 : 0xc2;
      return 1;
    }
    if (value === null) {
      this.buffer[0] = 0xc0;
      return 1;
    }
    if (typeof value !== 'object' || (value as object).constructor !== Object) return -1;
    const out = this.buffer;
    const limit = out.length - 16;
    let node = this.#root;
    let pos = 1; // byte 0: the record id, once the shape is known
    for (const key in value) {
      const next = node.next?.get(key);
      if (next === undefined || pos > limit) return -1;
      node = next;
      const v = (value as Record<string, unknown>)[key];
      switch (typeof v) {
        case 'number':
          pos = this.#number(v, pos);
          break;
        case 'string':
          pos = writeAscii(out, pos, v, limit);
          break;
        case 'boolean':
          out[pos++] = v ? 0xc3 : 0xc2;
          break;
        case 'object':
          if (v !== null) return -1;
          out[pos++] = 0xc0;
          break;
        default:
          return -1;
      }
      if (pos < 0) return -1;
    }
    if (node.keys === null || structures[node.id] !== node.keys) return -1;
    out[0] = RECORD_BASE + node.id;
    return pos;
  }

  #number(v: number, pos: number): number {
    const out = this.buffer;
    if (v === 0 && 1 / v < 0) return -1; // -0: prepare() rewrites it
    if (v >>> 0 === v || (v | 0) === v) {
      if (v >= 0) {
        if (v < RECORD_BASE) {
          // A positive fixint only below 0x40: msgpackr reads 0x40..0x7f as record ids.
          out[pos] = v;
          return pos + 1;
        }
        if (v < 0x100) {
          out[pos] = 0xcc;
          out[pos + 1] = v;
          return pos + 2;
        }
        if (v < 0x10000) {
          out[pos] = 0xcd;
          this.#view.setUint16(pos + 1, v);
          return pos + 3;
        }
        out[pos] = 0xce;
        this.#view.setUint32(pos + 1, v);
        return pos + 5;
      }
      if (v >= -32) {
        out[pos] = v & 0xff; // negative fixint
        return pos + 1;
      }
      if (v >= -0x80) {
        out[pos] = 0xd0;
        out[pos + 1] = v & 0xff;
        return pos + 2;
      }
      if (v >= -0x8000) {
        out[pos] = 0xd1;
        this.#view.setInt16(pos + 1, v);
        return pos + 3;
      }
      out[pos] = 0xd2;
      this.#view.setInt32(pos + 1, v);
      return pos + 5;
    }
    out[pos] = 0xcb; // float64, big-endian: every other number, exactly (NaN and the infinities too)
    this.#view.setFloat64(pos + 1, v);
    return pos + 9;
  }
}

/** What readScalar returns for bytes that are not one number, boolean or null. */
export const NOT_SCALAR: unique symbol = Symbol('not a scalar');
const float = new DataView(new ArrayBuffer(8));

/**
 * The message in `source[start, start + length)` if it is one number, boolean or null in the
 * forms written above (and by msgpackr), read without msgpackr's per-call cost; else NOT_SCALAR
 * (a record, a string, anything longer). Bytes 0x40..0x7f are record ids, never numbers here.
 */
export function readScalar(source: Uint8Array, start: number, length: number): unknown {
  const b = source[start]!;
  if (length === 1) {
    if (b < RECORD_BASE) return b;
    if (b >= 0xe0) return b - 0x100; // negative fixint
    if (b === 0xc0) return null;
    if (b === 0xc2) return false;
    if (b === 0xc3) return true;
    return NOT_SCALAR;
  }
  switch (b) {
    case 0xcc:
      return length === 2 ? source[start + 1]! : NOT_SCALAR;
    case 0xcd:
      return length === 3 ? (source[start + 1]! << 8) | source[start + 2]! : NOT_SCALAR;
    case 0xce:
      return length === 5 ? ((source[start + 1]! << 24) | (source[start + 2]! << 16) | (source[start + 3]! << 8) | source[start + 4]!) >>> 0 : NOT_SCALAR;
    case 0xd0:
      return length === 2 ? (source[start + 1]! << 24) >> 24 : NOT_SCALAR;
    case 0xd1:
      return length === 3 ? (((source[start + 1]! << 8) | source[start + 2]!) << 16) >> 16 : NOT_SCALAR;
    case 0xd2:
      return length === 5 ? (source[start + 1]! << 24) | (source[start + 2]! << 16) | (source[start + 3]! << 8) | source[start + 4]! : NOT_SCALAR;
    case 0xcb:
      if (length !== 9) return NOT_SCALAR;
      for (let i = 0; i < 8; i++) float.setUint8(i, source[start + 1 + i]!);
      return float.getFloat64(0);
    default:
      return NOT_SCALAR;
  }
}

/** A string of ASCII characters as fixstr or str8; -1 for anything else. */
function writeAscii(out: Uint8Array, pos: number, s: string, limit: number): number {
  const n = s.length;
  if (n > MAX_STRING || pos + n + 2 > limit) return -1;
  let at = pos + (n < 32 ? 1 : 2);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return -1;
    out[at++] = c;
  }
  if (n < 32) out[pos] = 0xa0 | n;
  else {
    out[pos] = 0xd9;
    out[pos + 1] = n;
  }
  return at;
}
