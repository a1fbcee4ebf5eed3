import { describe, expect, it } from 'vitest';
import { SerializationError } from 'troupe';
import { DefinitionLog, Decoder, Encoder, decodeStandalone, encodeStandalone, prepare, prepareChecked } from '../../src/runtime/codec.js';
import { seededRandom } from '../support/random.js';
// The actor layer's wire classes (refs) registered as in a running system: none may take a type
// that msgpackr uses for a built-in (it carries BigInts wider than 64 bits under 0x42).
import '../../src/actors/entity/entity-ref.js';
import '../../src/actors/remote-ref.js';

function roundTrip(value: unknown, encoder = new Encoder(), decoder = new Decoder()): unknown {
  const { buffer, start, end } = encoder.encode(prepare(value));
  return decoder.decode(buffer.slice(start, end), 0, end - start);
}

describe('codec', () => {
  it.each([
    ['a Date', new Date(1_234_567_890_123)],
    ['a Map', new Map<unknown, unknown>([[1, 'a'], ['k', { x: 1 }]])],
    ['a Set', new Set([1, 'two', { three: 3 }])],
    ['a BigInt', 12345678901234567890n],
    ['a negative BigInt', -5n],
    ['BigInts wider than 64 bits', [2n ** 70n, -(2n ** 100n)]],
    ['a Uint8Array', new Uint8Array([1, 2, 3])],
    ['a Float64Array', new Float64Array([1.5, -0, NaN])],
    ['an Int32Array', new Int32Array([-1, 2 ** 31 - 1])],
    ['nested objects with undefined fields', { a: [1, { b: undefined, c: null }], d: undefined }],
    ['-0', -0],
    ['-0 deep inside', { list: [0, -0, { z: -0 }], m: new Map([['k', -0]]) }],
    ['NaN and infinities', [NaN, Infinity, -Infinity]],
    ['large and fractional numbers', [2 ** 53, -(2 ** 40), 0.1, 1e-300]],
    ['unicode strings', ['', 'ascii', 'ünïcødé', '🎭'.repeat(100)]],
  ])('round-trips %s exactly', (_what, value) => {
    expect(roundTrip(value)).toStrictEqual(value);
  });

  it('keeps -0 distinct from 0', () => {
    expect(Object.is(roundTrip(-0), -0)).toBe(true);
    expect(Object.is((roundTrip({ z: -0 }) as { z: number }).z, -0)).toBe(true);
    expect(Object.is(roundTrip(0), 0)).toBe(true);
  });

  it('round-trips a stream of records that share shapes (sequential mode)', () => {
    const encoder = new Encoder();
    const decoder = new Decoder();
    for (let i = 0; i < 1000; i++) {
      const value = i % 2 === 0 ? { type: 'inc', n: i, id: 'abc' } : { other: i, nested: { type: 'x' } };
      expect(roundTrip(value, encoder, decoder)).toEqual(value);
    }
  });

  it('refuses a cycle with SerializationError instead of overflowing the stack', () => {
    const a: Record<string, unknown> = { name: 'a' };
    a.self = a;
    expect(() => prepare(a)).toThrow(SerializationError);
    expect(() => prepare(a)).toThrow(/cyclic/);
  });

  it('carries shared (acyclic) references as copies', () => {
    const shared = { x: 1 };
    expect(roundTrip({ a: shared, b: shared })).toEqual({ a: { x: 1 }, b: { x: 1 } });
  });

  it('round-trips Errors and RegExps', () => {
    const back = roundTrip({ e: new TypeError('bad'), r: /a+b/gi }) as { e: Error; r: RegExp };
    expect(back.e).toBeInstanceOf(TypeError);
    expect(back.e.message).toBe('bad');
    expect(back.r).toEqual(/a+b/gi);
  });

  it('does not let a decoded __proto__ key pollute prototypes', () => {
    const evil = JSON.parse('{"__proto__": {"polluted": 1}, "a": 1}') as object;
    const back = roundTrip(evil) as Record<string, unknown>;
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect((back as { polluted?: unknown }).polluted).toBeUndefined();
    expect(back.a).toBe(1);
  });

  it.each([
    ['a function', () => 1, 'payload'],
    ['a symbol', Symbol('s'), 'payload'],
    ['a nested function', { a: { b: [0, () => 1] } }, 'payload.a.b[1]'],
    ['a WeakMap', new WeakMap(), 'payload'],
    ['a Promise', Promise.resolve(), 'payload'],
  ])('refuses %s with SerializationError naming where it is', (_what, value, path) => {
    expect(() => prepare(value)).toThrow(SerializationError);
    expect(() => prepare(value)).toThrow(path);
  });
});

describe('codec wire classes', () => {
  it('carries a registered class by its wire form and does not look inside it', async () => {
    const { registerWireClass } = await import('../../src/runtime/codec.js');
    class Handle {
      constructor(
        readonly id: number,
        readonly local: () => void = () => {},
      ) {}
    }
    registerWireClass(Handle, 0x42, (h) => h.id, (id) => new Handle(id as number));
    const back = roundTrip({ h: new Handle(7), z: -0 }) as { h: Handle; z: number };
    expect(back.h).toBeInstanceOf(Handle);
    expect(back.h.id).toBe(7);
    expect(Object.is(back.z, -0)).toBe(true);
  });

  it('a reader can join a stream mid-way, after record ids were recycled, from the writer’s definition log', () => {
    const encoder = new Encoder();
    const log = new DefinitionLog();
    const records: Uint8Array[] = [];
    // 160 shapes over 400 records: msgpackr's 64 record ids wrap round more than once.
    const value = (i: number) => ({ [`k${i % 90}`]: i, nested: { [`n${i % 70}`]: [i] } });
    for (let seq = 1; seq <= 400; seq++) {
      const { buffer, start, end } = encoder.encode(prepare(value(seq)));
      records.push(Uint8Array.prototype.slice.call(buffer, start, end));
      const defined = encoder.newDefinitions();
      if (defined !== null) log.add(seq, defined);
      if (seq === 300) log.prune(250); // what a writer does once its log has grown
    }
    for (const joinAt of [251, 300, 333]) {
      const decoder = new Decoder(log.stateBefore(joinAt));
      for (let seq = joinAt; seq <= 400; seq++) expect(decoder.decode(records[seq - 1]!, 0, records[seq - 1]!.length)).toEqual(value(seq));
    }
  });

  it('flat objects of known shapes skip msgpackr, and read back exactly, across recycled record ids and a mid-stream join', () => {
    const random = seededRandom(7);
    // Every boundary of the msgpack number and string forms, and values the fast path refuses.
    const values: unknown[] = [
      0, 1, 63, 64, 100, 127, 128, 255, 256, 65_535, 65_536, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53, -1, -32, -33, -128, -129, -32_768, -32_769, -(2 ** 31),
      -(2 ** 31) - 1, 0.5, -1e-300, NaN, Infinity, -Infinity, -0, '', 'abc', 'x'.repeat(31), 'y'.repeat(32), 'z'.repeat(255), 'w'.repeat(256),
      'ünï', true, false, null, undefined, { nested: 1 }, [1, 2], new Date(5),
    ];
    const encoder = new Encoder();
    const log = new DefinitionLog();
    const sent: unknown[] = [];
    const records: Uint8Array[] = [];
    let flat = 0;
    for (let seq = 1; seq <= 3000; seq++) {
      // 100 shapes of 1 to 3 keys: msgpackr's 64 record ids wrap round many times.
      const shape = Math.floor(random() * random() * 100);
      const value: Record<string, unknown> = {};
      for (let k = 0; k <= shape % 3; k++) value[`s${shape}k${k}`] = values[Math.floor(random() * values.length)];
      let encoded = encoder.encodeFlat(value);
      if (encoded !== null) flat++;
      else encoded = encoder.encode(prepare(value));
      records.push(Uint8Array.prototype.slice.call(encoded.buffer, encoded.start, encoded.end));
      sent.push(value);
      const defined = encoder.newDefinitions();
      if (defined !== null) log.add(seq, defined);
    }
    expect(flat).toBeGreaterThan(1000);
    for (const joinAt of [1, 1500, 2900]) {
      const decoder = new Decoder(log.stateBefore(joinAt));
      for (let seq = joinAt; seq <= 3000; seq++) expect(decoder.decode(records[seq - 1]!, 0, records[seq - 1]!.length)).toStrictEqual(sent[seq - 1]);
    }
  });

  it('a reader that joins mid-stream without the log cannot read records whose shapes were defined before', () => {
    const encoder = new Encoder();
    const log = new DefinitionLog();
    const records: Uint8Array[] = [];
    const value = (i: number) => ({ [`s${i % 10}`]: i });
    for (let seq = 1; seq <= 50; seq++) {
      const { buffer, start, end } = encoder.encode(prepare(value(seq)));
      records.push(Uint8Array.prototype.slice.call(buffer, start, end));
      const defined = encoder.newDefinitions();
      if (defined !== null) log.add(seq, defined);
    }
    const last = records[49]!;
    expect(new Decoder(log.stateBefore(50)).decode(last, 0, last.length)).toEqual(value(50));
    const fresh = (): unknown => {
      try {
        return new Decoder().decode(last, 0, last.length);
      } catch (error) {
        return error;
      }
    };
    expect(fresh()).not.toEqual(value(50)); // an error or a wrong value
  });

  it('a reset in the log forgets every structure before it', () => {
    const log = new DefinitionLog();
    log.add(1, [{ id: 0, keys: ['a'] }]);
    log.reset(5);
    log.add(7, [{ id: 1, keys: ['b'] }]);
    expect(log.stateBefore(5)[0]).toEqual(['a']);
    expect(log.stateBefore(6)[0]).toBeNull();
    expect(log.stateBefore(8).slice(0, 2)).toEqual([null, ['b']]);
  });

  it("the runtime's own records (checked where their parts came in) keep -0, and pass through untouched where none is", () => {
    const plain = ['move-in', [1, 'Keeper', { sum: 3 }, [['created', 1]]]];
    expect(prepareChecked(plain)).toBe(plain);
    // (A Map's keys and a Set's members hold no -0: JavaScript makes it 0 as it goes in.)
    const value = { list: [1, -0], m: new Map([['k', { z: -0 }]]), s: new Set([[-0]]) };
    const back = decodeStandalone(encodeStandalone(prepareChecked(value))) as typeof value;
    expect(Object.is(back.list[1], -0)).toBe(true);
    expect(Object.is(back.m.get('k')!.z, -0)).toBe(true);
    expect(Object.is([...back.s][0]![0], -0)).toBe(true);
    expect(Object.is(value.list[1], -0)).toBe(true); // the original is left as it was
  });

  it('large payloads travel alone: encoded without stream state', () => {
    const value = { m: new Map([[1, { deep: true }]]), z: -0, list: [{ a: 1 }, { a: 2 }] };
    const back = decodeStandalone(encodeStandalone(prepare(value))) as typeof value;
    expect(back).toEqual(value);
    expect(Object.is(back.z, -0)).toBe(true);
  });
});
