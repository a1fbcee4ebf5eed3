// Messages to entities with storage, sent from the main thread (main stores each itself, then tells
// the key's thread: node/entity-posts.ts) and from a worker thread (the key's thread stores it).
// Either way each key gets each sender's messages once and in order, however many are sent in one
// synchronous run (they span many store transactions, which may settle out of order); a messageId
// sent twice at once is applied once, also when both were stored by main and the key's thread
// died before it read either; what was stored before a restart is handled once after it, beside
// what is sent next; and what main sends while the key's thread is replaced is handled once.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSystem, type ActorSystem, type DeadLetter } from 'troupe';
import { Sequence, SequenceSender, sequence } from '../fixtures/entities.js';
import { Ledger, LedgerClient } from '../fixtures/ledger.js';
import { Exiter, Recorder } from '../fixtures/actors.js';
import { fileGate, type FileGate } from '../support/gate.js';
import { until } from '../support/wait.js';

const dirs: string[] = [];
const systems: ActorSystem[] = [];
const gates: FileGate[] = [];
afterEach(async () => {
  for (const gate of gates.splice(0)) {
    gate.open();
    gate.dispose();
  }
  for (const system of systems.splice(0)) await system.shutdown({ drainMs: 0 });
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function createdWith(threads: number, path = mkdtempSync(join(tmpdir(), 'troupe-posts-'))): Promise<{ system: ActorSystem; path: string }> {
  if (!dirs.includes(path)) dirs.push(path);
  const system = await createSystem({ threads, storage: { path } });
  systems.push(system);
  return { system, path };
}

const start = (path?: string): Promise<{ system: ActorSystem; path: string }> => createdWith(2, path);

const KEYS = Array.from({ length: 8 }, (_, k) => `q${k}`);
const N = 20_000;

describe('messages to entities with storage, from the main thread and from a worker', () => {
  for (const where of ['main', 'worker'] as const) {
    it(`E2: ${N} tells and sends in one synchronous run reach each key once, in order, before an ask sent after them (sent from ${where})`, async () => {
      const { system } = await start();
      const reports =
        where === 'main'
          ? await sequence(KEYS.map((key) => system.entity(Sequence, key)), N, where)
          : await system.spawn(SequenceSender).ask('run', { keys: KEYS, n: N, from: where }, { timeoutMs: 60_000 });
      expect(reports).toEqual(KEYS.map(() => ({ count: N / KEYS.length, violations: 0 })));
    }, 60_000);
  }

  for (const where of ['main', 'worker'] as const) {
    it(`K6: one messageId sent twice at once: one send is the duplicate, the deposit is applied once and is not stored after (sent from ${where})`, async () => {
      const { system, path } = await start();
      const dana = system.entity(Ledger, 'dana');
      const results =
        where === 'main'
          ? await Promise.all([1, 2].map(() => dana.send('deposit', { id: 'once', amount: 1 }, { messageId: 'once' })))
          : await system.spawn(LedgerClient).ask('depositTwiceAtOnce', { key: 'dana', id: 'once' });
      expect(results.map((r) => r.duplicate).sort()).toEqual([false, true]);
      expect((await dana.ask('read')).applied).toEqual(['once']);
      await system.shutdown();
      systems.splice(0);
      const again = (await start(path)).system.entity(Ledger, 'dana');
      expect(await again.ask('read')).toMatchObject({ balance: 1, applied: ['once'], redelivered: 0 });
    });
  }

  it('K6, E4: one messageId sent twice by main while the key\'s thread reads nothing, then dies: its replacement finds both stored and applies the deposit once', async () => {
    const { system, path } = await createdWith(1);
    const fay = system.entity(Ledger, 'fay');
    await fay.send('deposit', { id: 'first', amount: 1 });
    const probe = system.spawn(Recorder, undefined, { placement: 'local' }); // on main
    const gate = fileGate();
    gates.push(gate);
    system.spawn(Exiter, undefined, { placement: { thread: 1 } }).tell('exit', { code: 3, spinMs: 20_000, gate: gate.path, to: probe });
    await until(async () => ((await probe.ask('seen')) as unknown[]).includes('exiting'), 5000, 'the thread spinning');
    // Both are stored by main; their tells wait unread. The thread dies: the sends learn it (their
    // verdict was the key's thread's to give); the replacement takes both from the store.
    const sends = [1, 2].map(() => fay.send('deposit', { id: 'twice', amount: 1 }, { messageId: 'twice' }).catch((error: Error) => error));
    await new Promise((resolve) => setTimeout(resolve, 50)); // stored
    gate.open();
    await Promise.all(sends);
    await until(async () => {
      try {
        return (await fay.ask('read', undefined, { timeoutMs: 1000 })).applied.includes('twice');
      } catch {
        return false; // its thread is being replaced
      }
    }, 20_000, 'the deposit');
    const { balance, applied, redelivered } = await fay.ask('read');
    expect(applied).toEqual(['first', 'twice']);
    // And nothing of the duplicate is left stored: a restart handles nothing more.
    await system.shutdown();
    systems.splice(0);
    const again = (await start(path)).system.entity(Ledger, 'fay');
    expect(await again.ask('read')).toMatchObject({ balance, applied, redelivered });
  });

  it('E4: deposits main sends while the key\'s thread dies and is replaced reach it once each, in order (from its tells or from the store)', async () => {
    const { system } = await createdWith(1);
    const erin = system.entity(Ledger, 'erin');
    const letters: DeadLetter[] = [];
    system.deadLetters.subscribe((letter) => letters.push(letter));
    await erin.send('deposit', { id: 'first', amount: 1 });
    const ids: string[] = [];
    // The key's thread spins, reading nothing, until the gate opens, then ends: the deposits told
    // meanwhile wait unread in its ring for its replacement, which also finds them in the store.
    const probe = system.spawn(Recorder, undefined, { placement: 'local' }); // on main
    const gate = fileGate();
    gates.push(gate);
    system.spawn(Exiter, undefined, { placement: { thread: 1 } }).tell('exit', { code: 3, spinMs: 20_000, gate: gate.path, to: probe });
    await until(async () => ((await probe.ask('seen')) as unknown[]).includes('exiting'), 5000, 'the thread spinning');
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 25; i++) {
        const id = `d${round}-${i}`;
        ids.push(id);
        erin.tell('deposit', { id, amount: 1 });
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
      if (round === 15) gate.open(); // the last rounds go while it dies and is replaced
    }
    await until(async () => {
      try {
        return (await erin.ask('read', undefined, { timeoutMs: 1000 })).balance === 1 + ids.length;
      } catch {
        return false; // its thread is being replaced
      }
    }, 20_000, 'every deposit');
    expect((await erin.ask('read')).applied).toEqual(['first', ...ids]);
    expect(system.stats().threads[1]!.replaced).toBe(1);
    // The deposits were stored: none is a dead letter (the tell that ended the thread is, and so
    // may be an ask for the balance that was waiting on it).
    expect(letters.filter((l) => l.message.type === 'deposit')).toEqual([]);
    expect(letters.filter((l) => l.message.type === 'exit')).toHaveLength(1);
  });

  for (const where of ['main', 'worker'] as const) {
    it(`E3: what was stored and not handled before a restart is handled once after it, in order, and what is sent after the restart too (sent from ${where})`, async () => {
      const first = await start();
      const carol = first.system.entity(Ledger, 'carol');
      const ids = Array.from({ length: 30 }, (_, i) => `s${i}`);
      // Stored; few handled (20 ms each).
      if (where === 'main') await Promise.all(ids.map((id) => carol.send('slowDeposit', { id, amount: 1 })));
      else await first.system.spawn(LedgerClient).ask('slowDeposits', { key: 'carol', ids });
      await first.system.shutdown({ drainMs: 0 });
      systems.splice(0);
      const { system } = await start(first.path);
      const again = system.entity(Ledger, 'carol');
      const next = Array.from({ length: 5 }, (_, i) => `n${i}`);
      if (where === 'main') await Promise.all(next.map((id) => again.send('slowDeposit', { id, amount: 1 })));
      else await system.spawn(LedgerClient).ask('slowDeposits', { key: 'carol', ids: next });
      await until(async () => (await again.ask('read')).balance === 35, 10_000, 'all 35');
      const { applied } = await again.ask('read');
      expect(applied.filter((id) => id.startsWith('s'))).toEqual(ids);
      expect(applied.filter((id) => id.startsWith('n'))).toEqual(next);
      expect(applied).toHaveLength(35);
    });
  }
});
