// A KV key listing bounded by a pause in it (src/cluster/nats.ts boundedKeys): a listing that
// stalls (seen after a process pause) rejects, and its consumer is stopped; one that goes on,
// however long, is let be. No NATS here: the client's listing is a stand-in.

import { describe, expect, it } from 'vitest';
import { boundedKeys, type RawKV } from '../../src/cluster/nats.js';

/** A bucket whose listing yields `keys`, each after `everyMs`, then (if `stall`) nothing more until stopped; made after `madeAfterMs`. */
function listing(keys: string[], everyMs: number, stall: boolean, madeAfterMs = 0): { raw: RawKV; stopped: () => boolean } {
  let stopped = false;
  const raw = {
    keys: async () => {
      await new Promise((resolve) => setTimeout(resolve, madeAfterMs));
      let stop!: () => void;
      const ended = new Promise<void>((resolve) => (stop = resolve));
      return {
        stop: () => {
          stopped = true;
          stop();
        },
        async *[Symbol.asyncIterator]() {
          for (const key of keys) {
            await new Promise((resolve) => setTimeout(resolve, everyMs));
            if (stopped) return;
            yield key;
          }
          if (stall) await ended;
        },
      };
    },
  } as unknown as RawKV;
  return { raw, stopped: () => stopped };
}

describe('a bounded key listing', () => {
  it('N4: one that goes on is let be, however long it takes in all', async () => {
    const keys = Array.from({ length: 8 }, (_, i) => `node.${i}`);
    const { raw } = listing(keys, 30, false);
    expect(await boundedKeys(raw, 'b').keys('node.>', 100)).toEqual(keys); // ~240 ms in all, no pause over 100
  });

  it('N4: one that stalls rejects once nothing came for the bound, and is stopped', async () => {
    const { raw, stopped } = listing(['s.1', 's.2'], 5, true);
    await expect(boundedKeys(raw, 'b').keys('s.>', 100)).rejects.toThrow(/listing the keys s\.> of bucket b stalled: nothing came for 100 ms/);
    expect(stopped()).toBe(true);
  });

  it('N4: one whose consumer comes only after the bound rejects, and is stopped when it comes', async () => {
    const { raw, stopped } = listing(['s.1'], 5, true, 150);
    await expect(boundedKeys(raw, 'b').keys('s.>', 50)).rejects.toThrow(/stalled/);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(stopped()).toBe(true);
  });
});
