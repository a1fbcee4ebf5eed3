import { describe, expect, it } from 'vitest';
import { Decoder, Encoder, prepare } from '../../src/runtime/codec.js';
import { FlatEncoder, NOT_SCALAR, readScalar } from '../../src/runtime/flat-encoder.js';

// codec.test.ts checks that what the fast path writes reads back exactly, through Encoder. These
// check FlatEncoder's own contract: which values it takes, and that its bytes are msgpackr's.

const KEYS = ['a', 'b'];

/** A FlatEncoder that knows one shape, { a, b }, under record index 3. */
function setup(bytes = 4096) {
  const flat = new FlatEncoder(bytes);
  const structures: unknown[] = [];
  structures[3] = KEYS;
  flat.learn(3, KEYS);
  return { flat, structures };
}

describe('FlatEncoder', () => {
  it('writes a known shape under its record id', () => {
    const { flat, structures } = setup();
    const end = flat.write({ a: 1, b: 'x' }, structures);
    expect([...flat.buffer.subarray(0, end)]).toEqual([0x43, 0x01, 0xa1, 0x78]);
  });

  it.each([
    ['the keys in another order', { b: 1, a: 1 }],
    ['a prefix of a known shape', { a: 1 }],
    ['a longer shape', { a: 1, b: 2, c: 3 }],
    ['-0 (prepare() rewrites it)', { a: -0, b: 1 }],
    ['a non-ASCII string', { a: 'ü', b: 1 }],
    ['a string over 255 characters', { a: 'x'.repeat(256), b: 1 }],
    ['a nested object', { a: { x: 1 }, b: 1 }],
    ['an array value', { a: [1], b: 1 }],
    ['undefined', { a: undefined, b: 1 }],
    ['a BigInt', { a: 1n, b: 1 }],
    ['an array', [1, 2]],
    ['a class instance', new (class {
      a = 1;
      b = 2;
    })()],
    ['a null-prototype object', Object.assign(Object.create(null) as object, { a: 1, b: 2 })],
    ['a string on its own', 'abc'],
    ['undefined on its own', undefined],
    ['-0 on its own', -0],
    ['a BigInt on its own', 1n],
  ])('refuses %s', (_what, value) => {
    const { flat, structures } = setup();
    expect(flat.write(value, structures)).toBe(-1);
  });

  it('refuses a shape whose id msgpackr has since given to other keys', () => {
    const { flat, structures } = setup();
    structures[3] = ['a', 'b']; // equal keys, but not the array it learned: the id was recycled
    expect(flat.write({ a: 1, b: 2 }, structures)).toBe(-1);
  });

  it('refuses a value that would not fit its buffer', () => {
    const { flat, structures } = setup(64);
    expect(flat.write({ a: 'x'.repeat(40), b: 'y'.repeat(40) }, structures)).toBe(-1);
  });

  it('writes the same bytes as msgpackr for every kind of value it takes', () => {
    const values = [0, 1, 63, 64, 255, 256, 65_535, 65_536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, -1, -32, -33, -128, -129, -32_768, -32_769, -(2 ** 31), 0.5, 2 ** 53, NaN, -Infinity, '', 'abc', 'x'.repeat(31), 'y'.repeat(32), 'z'.repeat(255), true, false, null];
    for (const a of values) {
      for (const b of [0, 'q', null]) {
        const encoder = new Encoder();
        const first = encoder.encode(prepare({ a, b })); // msgpackr defines the shape
        expect(first.end).toBeGreaterThan(first.start);
        encoder.newDefinitions();
        const viaMsgpackr = encoder.encode(prepare({ a, b }));
        const expected = [...viaMsgpackr.buffer.subarray(viaMsgpackr.start, viaMsgpackr.end)];
        const viaFlat = encoder.encodeFlat({ a, b });
        expect(viaFlat).not.toBeNull();
        expect([...viaFlat!.buffer.subarray(viaFlat!.start, viaFlat!.end)]).toEqual(expected);
      }
    }
  });

  const SCALARS = [0, 1, 63, 64, 127, 128, 255, 256, 65_535, 65_536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, -1, -32, -33, -128, -129, -32_768, -32_769, -(2 ** 31), -(2 ** 31) - 1, 0.5, -1.25, 1e300, 2 ** 53, Number.MAX_SAFE_INTEGER, NaN, Infinity, -Infinity, true, false, null];

  it('writes a number, boolean or null on its own as msgpackr does, and reads it back without msgpackr', () => {
    for (const value of SCALARS) {
      const encoder = new Encoder();
      const viaMsgpackr = encoder.encode(prepare(value));
      const expected = [...viaMsgpackr.buffer.subarray(viaMsgpackr.start, viaMsgpackr.end)];
      const viaFlat = encoder.encodeFlat(value);
      expect(viaFlat, String(value)).not.toBeNull();
      const bytes = viaFlat!.buffer.subarray(viaFlat!.start, viaFlat!.end);
      expect([...bytes], String(value)).toEqual(expected);
      // At an odd offset in a larger buffer, as records sit in a ring's batch.
      const source = new Uint8Array(bytes.length + 7);
      source.set(bytes, 3);
      expect(Object.is(readScalar(source, 3, bytes.length), value), String(value)).toBe(true);
      expect(Object.is(new Decoder().decode(source, 3, 3 + bytes.length), value), String(value)).toBe(true);
    }
  });

  it('reads nothing but one number, boolean or null: record ids, strings, longer or shorter bytes are left to msgpackr', () => {
    expect(readScalar(Uint8Array.of(0x40), 0, 1)).toBe(NOT_SCALAR); // a record id
    expect(readScalar(Uint8Array.of(0x7f), 0, 1)).toBe(NOT_SCALAR);
    expect(readScalar(Uint8Array.of(0xa1, 0x78), 0, 2)).toBe(NOT_SCALAR); // 'x'
    expect(readScalar(Uint8Array.of(0xcd, 0x01, 0x00, 0x05), 0, 4)).toBe(NOT_SCALAR); // a uint16 and a byte more
    expect(readScalar(Uint8Array.of(0xce, 0x01, 0x00), 0, 3)).toBe(NOT_SCALAR); // a uint32 cut short
    expect(readScalar(Uint8Array.of(0xca, 0, 0, 0, 0), 0, 5)).toBe(NOT_SCALAR); // float32: msgpackr's own rounding
    expect(readScalar(Uint8Array.of(0xcf, 0, 0, 0, 0, 0, 0, 0, 1), 0, 9)).toBe(NOT_SCALAR); // uint64: a BigInt
    expect(readScalar(Uint8Array.of(0xc1), 0, 1)).toBe(NOT_SCALAR); // never used
  });
});
