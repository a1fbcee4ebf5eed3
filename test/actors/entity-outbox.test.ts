// The output gate (E4): what an entity's handler tells or sends to other entities is released
// only once the handler has committed; a handler that fails sends nothing; each message is taken
// once by its target. In memory here, with storage and SIGKILL in entity-crash.test.ts.

import { describe, expect, it } from 'vitest';
import { Ledger } from '../fixtures/ledger.js';
import { useSystem } from '../support/system.js';
import { until } from '../support/wait.js';

const systems = useSystem();

describe('entity outbox', () => {
  for (const threads of [1, 3]) {
    it(`E4: a transfer's deposit reaches the other ledger once, after the transfer committed (${threads} worker thread${threads > 1 ? 's' : ''})`, async () => {
      const system = await systems.start({ threads });
      const keys = ['a', 'b', 'c', 'd'];
      for (const k of keys) await system.entity(Ledger, k).send('deposit', { id: `init-${k}`, amount: 100 });
      for (let i = 0; i < 40; i++) {
        const from = keys[i % 4]!;
        const to = keys[(i + 1 + (i % 3)) % 4]!;
        system.entity(Ledger, from).tell(i % 2 === 0 ? 'transfer' : 'transferBySend', { id: `t${i}`, to, amount: 1 });
      }
      await until(async () => {
        const all = await Promise.all(keys.map((k) => system.entity(Ledger, k).ask('read')));
        return all.flatMap((l) => l.applied).filter((id) => id.endsWith('>')).length === 40;
      }, 10_000, 'every deposit');
      const ledgers = await Promise.all(keys.map((k) => system.entity(Ledger, k).ask('read')));
      expect(ledgers.reduce((sum, l) => sum + l.balance, 0)).toBe(400);
      const applied = ledgers.flatMap((l) => l.applied);
      expect(new Set(applied).size).toBe(applied.length); // none twice
      expect(applied.filter((id) => id.endsWith('>'))).toHaveLength(40);
    });
  }

  it('E4: a send awaited inside a handler resolves at once, and the message goes after the commit', async () => {
    const system = await systems.start({ threads: 2 });
    expect(await system.entity(Ledger, 'p').ask('transferAwaitingSend', { id: 'w1', to: 'q', amount: 2 }, { timeoutMs: 2000 })).toEqual({ duplicate: false });
    await until(async () => (await system.entity(Ledger, 'q').ask('read')).applied.includes('w1>'), 5000, 'the deposit');
    expect((await system.entity(Ledger, 'p').ask('read')).balance).toBe(-2);
  });

  it('E4: a handler that fails sends nothing to other entities, on any attempt, before an await or after one', async () => {
    const system = await systems.start({ threads: 2 });
    const from = system.entity(Ledger, 'x');
    await expect(from.ask('transferThenFail', { id: 'f1', to: 'y', amount: 5 })).rejects.toMatchObject({ code: 'ERR_ACTOR_FAILED' });
    await expect(from.ask('transferLaterThenFail', { id: 'f2', to: 'y', amount: 5 })).rejects.toMatchObject({ code: 'ERR_ACTOR_FAILED' });
    await from.ask('transfer', { id: 'ok1', to: 'y', amount: 1 });
    await until(async () => (await system.entity(Ledger, 'y').ask('read')).applied.length === 1, 5000, 'the good transfer');
    expect((await system.entity(Ledger, 'y').ask('read')).applied).toEqual(['ok1>']); // none of the failed attempts' deposits, before an await or after
  });
});
