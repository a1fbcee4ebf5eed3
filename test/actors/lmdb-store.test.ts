// The lmdb store under the entities, on its own: what is put in one event turn (one lmdb
// transaction, read by lmdb's write thread after the turn) comes back byte for byte, however
// many of its values share a write buffer and however large they are.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openLmdbStore } from '../../src/actors/entity/lmdb-store.js';
import { encodeScratch, encodeStandalone, prepare } from '../../src/runtime/codec.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Record i: i's bytes, of one of several sizes (10 B to 40 kB). */
function record(i: number): unknown {
  return ['deposit', String.fromCharCode(97 + (i % 26)).repeat([10, 3_000, 3_000, 40_000][i % 4]!), i];
}

describe('the lmdb store', () => {
  it('messages put in one turn, in scratch bytes, come back byte for byte: past the end of a write buffer, and too large for one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'troupe-lmdb-'));
    dirs.push(dir);
    const store = await openLmdbStore(dir, 'process');
    try {
      // Scratch bytes (valid until the next encoding), as entities.ts puts them; 200 at once.
      const puts = Array.from({ length: 200 }, (_, i) => store.put('Account\u0000k', i + 1, encodeScratch(prepare(record(i)))));
      await Promise.all(puts);
      const back = [...store.pending('Account\u0000k')];
      expect(back.map((m) => m.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
      for (const m of back) expect(Buffer.from(m.record).equals(Buffer.from(encodeStandalone(prepare(record(m.seq - 1)))))).toBe(true);
    } finally {
      await store.close();
    }
  });
});
