// A handler's outcome that stands only once a promise settles (LaterOutcome, what an entity's
// commit returns): the actor takes its next messages meanwhile, an ask is answered only then,
// and a failed outcome undoes its attempt and every later one, which go again in order to a
// restarted actor (E3: how an entity goes on while its commit is written). On the asker's thread
// and on another.

import { describe, expect, it } from 'vitest';
import { LaterHolder } from '../fixtures/later.js';
import { useSystem } from '../support/system.js';
import { until } from '../support/wait.js';

const systems = useSystem();

describe('LaterOutcome', () => {
  for (const thread of [0, 1]) {
    it(`answers once its outcome stands; a failure undoes it and the later ones, which go again in order (actor on thread ${thread})`, async () => {
      const system = await systems.start({ threads: 1 });
      const holder = system.spawn(LaterHolder, undefined, { placement: { thread }, delivery: { mode: 'at-least-once', maxAckPending: 16 } });
      const answered: number[] = [];
      const asks = [1, 2, 3].map((n) => holder.ask('add', n).then((v) => void answered.push(v)));
      // The three ran one after the other, none waiting for the one before to stand.
      await until(async () => (await holder.ask('pending')).length === 3, 5_000, 'three outcomes pending');
      expect(answered).toEqual([]);
      expect(await holder.ask('settle', { n: 1, ok: true })).toBe(true);
      await until(() => answered.length === 1, 5_000, 'the first answer');
      expect(answered).toEqual([10]);
      // The second fails: it and the third are undone, the actor restarts, both go again in order.
      await holder.ask('settle', { n: 2, ok: false });
      await until(async () => (await holder.ask('log')).length === 2, 5_000, 'the two again');
      expect(await holder.ask('log')).toEqual(['2*', '3*']);
      expect(answered).toEqual([10]);
      await holder.ask('settle', { n: 2, ok: true });
      await holder.ask('settle', { n: 3, ok: true });
      await Promise.all(asks);
      expect(answered).toEqual([10, 20, 30]);
      expect((await system.inspect()).find((a) => a.id === holder.id)?.restarts).toBe(1);
      const stats = system.stats();
      await system.shutdown();
      expect(stats.deadLetters).toBe(0);
    });

    it(`a handler still running when an earlier outcome fails is undone after it ends, in order (actor on thread ${thread})`, async () => {
      const system = await systems.start({ threads: 1 });
      const holder = system.spawn(LaterHolder, undefined, { placement: { thread }, delivery: { mode: 'at-least-once', maxAckPending: 16 } });
      const first = holder.ask('add', 1);
      const second = holder.ask('addAfterFailing', { n: 2, fail: 1 }); // fails the first while it runs
      // Both are undone once the second ends, and go again in order to a restarted actor.
      await until(async () => (await holder.ask('pending')).join() === '1,2', 5_000, 'both again');
      expect(await holder.ask('log')).toEqual(['1*', '2*']);
      await holder.ask('settle', { n: 1, ok: true });
      await holder.ask('settle', { n: 2, ok: true });
      expect(await first).toBe(10);
      expect(await second).toBe(20);
    });
  }
});
