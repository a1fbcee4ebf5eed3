// Entities with storage (an lmdb file): a send resolves once the message is stored (E2), state
// and acknowledgement commit together and survive a restart of the system (E3), dedup by
// messageId survives it too (E6), messages left at shutdown are handled after the restart, and a
// directory that cannot hold the store is refused (E8). Both durabilities.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { channels, createSystem, type ActorSystem, type DeadLetter } from 'troupe';
import { Ledger, LedgerClient } from '../fixtures/ledger.js';
import { Adder, Bomb } from '../fixtures/entities.js';
import { Exiter } from '../fixtures/actors.js';
import { Counter } from '../fixtures/counter.js';
import { ProfileV1 } from '../fixtures/profile-v1.js';
import { ProfileV2 } from '../fixtures/profile-v2.js';
import { until } from '../support/wait.js';

const dirs: string[] = [];
const systems: ActorSystem[] = [];
afterEach(async () => {
  for (const system of systems.splice(0)) await system.shutdown({ drainMs: 0 });
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'troupe-store-'));
  dirs.push(dir);
  return dir;
}

async function start(path: string, durability: 'machine' | 'process' = 'machine', threads = 2): Promise<ActorSystem> {
  const system = await createSystem({ threads, storage: { path, durability } });
  systems.push(system);
  return system;
}

async function restart(system: ActorSystem, path: string, durability: 'machine' | 'process' = 'machine', drainMs = 10_000): Promise<ActorSystem> {
  await system.shutdown({ drainMs });
  systems.splice(systems.indexOf(system), 1);
  return start(path, durability);
}

describe('entities with storage', () => {
  for (const durability of ['machine', 'process'] as const) {
    it(`E2, E3: what a resolved send did survives a restart; init does not run again (durability '${durability}')`, async () => {
      const path = dataDir();
      let system = await start(path, durability);
      const alice = system.entity(Ledger, 'alice');
      for (let i = 0; i < 20; i++) await alice.send('deposit', { id: `d${i}`, amount: 1 });
      expect((await alice.ask('read')).balance).toBe(20);
      system = await restart(system, path, durability);
      const after = await system.entity(Ledger, 'alice').ask('read');
      expect(after).toMatchObject({ balance: 20, inits: 0 });
      expect(after.applied).toEqual(Array.from({ length: 20 }, (_, i) => `d${i}`));
    });
  }

  it('E6: a messageId seen before a restart is a duplicate after it', async () => {
    const path = dataDir();
    let system = await start(path);
    expect(await system.entity(Ledger, 'bob').send('deposit', { id: 'tx-1', amount: 5 }, { messageId: 'tx-1' })).toEqual({ duplicate: false });
    expect(await system.entity(Ledger, 'bob').send('deposit', { id: 'tx-1', amount: 5 }, { messageId: 'tx-1' })).toEqual({ duplicate: true });
    system = await restart(system, path);
    const bob = system.entity(Ledger, 'bob');
    expect(await bob.send('deposit', { id: 'tx-1', amount: 5 }, { messageId: 'tx-1' })).toEqual({ duplicate: true });
    expect(await bob.send('deposit', { id: 'tx-2', amount: 1 }, { messageId: 'tx-2' })).toEqual({ duplicate: false });
    expect((await bob.ask('read')).applied).toEqual(['tx-1', 'tx-2']);
  });

  it('messages still stored at shutdown are handled, in order, after the restart (redelivered)', async () => {
    const path = dataDir();
    let system = await start(path);
    const carol = system.entity(Ledger, 'carol');
    const sends = Array.from({ length: 30 }, (_, i) => carol.send('slowDeposit', { id: `s${i}`, amount: 1 }));
    await Promise.all(sends); // all stored; few handled yet (20 ms each)
    system = await restart(system, path, 'machine', 0);
    const again = system.entity(Ledger, 'carol');
    await until(async () => (await again.ask('read')).balance === 30, 10_000, 'every stored message');
    const state = await again.ask('read');
    expect(state.applied).toEqual(Array.from({ length: 30 }, (_, i) => `s${i}`));
    expect(state.redelivered).toBeGreaterThan(0);
  });

  it('stored messages of every size come back byte for byte after a restart (small ones share write buffers, large ones have their own)', async () => {
    const path = dataDir();
    let system = await start(path);
    const erin = system.entity(Ledger, 'erin');
    // 10 B to 40 kB: many small records to a write buffer, past its end several times in one transaction, and some too large for it.
    const ids = Array.from({ length: 90 }, (_, i) => `s${i}:${String.fromCharCode(97 + (i % 26)).repeat([10, 3_000, 3_000, 3_000, 40_000][i % 5]!)}`);
    await Promise.all(ids.map((id) => erin.send('slowDeposit', { id, amount: 1 }))); // all stored; few handled yet
    system = await restart(system, path, 'machine', 0);
    const again = system.entity(Ledger, 'erin');
    await until(async () => (await again.ask('read')).balance === 90, 10_000, 'every stored message');
    expect((await again.ask('read')).applied).toEqual(ids);
  });

  it('E8: a state that cannot be stored fails the handler until max-deliveries, and the message is not kept', async () => {
    const path = dataDir();
    let system = await start(path);
    const letters: DeadLetter[] = [];
    system.deadLetters.subscribe((letter) => letters.push(letter));
    const dave = system.entity(Ledger, 'dave');
    await dave.send('deposit', { id: 'a', amount: 1 });
    dave.tell('poison');
    await until(() => letters.length === 1, 10_000, 'the dead letter');
    expect(letters[0]).toMatchObject({ reason: 'max-deliveries', message: { type: 'poison' } });
    system = await restart(system, path);
    expect(await system.entity(Ledger, 'dave').ask('read')).toMatchObject({ balance: 1, redelivered: 0 });
  });

  it('a state stored by an older version is migrated before its first message; a newer one is refused', async () => {
    const path = dataDir();
    let system = await start(path);
    await system.entity(ProfileV1, 'ann').send('rename', 'Ann');
    const bytes = system.stats().storage!.bytes;
    expect(bytes).toBeGreaterThan(0);
    const first = system;
    system = await restart(system, path);
    expect(first.stats().storage?.bytes).toBeGreaterThanOrEqual(bytes); // after its shutdown too: what the store took then
    expect(await system.entity(ProfileV2, 'ann').ask('read')).toEqual({ name: 'Ann', email: 'Ann@example.org', migratedFrom: 1 });
    system = await restart(system, path);
    // Version 2 stored it now: an older definition cannot read it.
    const refused = await system.entity(ProfileV1, 'ann').ask('read', undefined, { timeoutMs: 3000 }).catch((error: Error) => error);
    expect(refused).toMatchObject({ message: expect.stringContaining('stored by version 2, newer than this definition') });
    expect(await system.entity(ProfileV2, 'ann').ask('read')).toMatchObject({ name: 'Ann', migratedFrom: 1 });
  });

  it('ctx.deleteEntity deletes the state with the handler\'s commit: the next message starts afresh, after a restart too', async () => {
    const path = dataDir();
    let system = await start(path);
    const bob = system.entity(ProfileV2, 'bob');
    await bob.send('setEmail', 'bob@example.org');
    expect(await bob.ask('read')).toEqual({ name: 'bob', email: 'bob@example.org', migratedFrom: 0 });
    await bob.send('close');
    expect(await bob.ask('read')).toEqual({ name: 'bob', email: '', migratedFrom: 0 }); // a new activation, init again
    await bob.send('setEmail', 'again@example.org');
    await bob.send('close');
    system = await restart(system, path);
    expect(await system.entity(ProfileV2, 'bob').ask('read')).toEqual({ name: 'bob', email: '', migratedFrom: 0 });
  });

  for (const where of ['main', 'worker'] as const) {
    it(`a worker thread that dies while its entities hold stored messages: its replacement handles each once (sent from ${where === 'main' ? 'main, which stored them' : 'the worker, whose entities stored them'})`, async () => {
      const path = dataDir();
      const system = await start(path, 'process', 1);
      const carol = system.entity(Ledger, 'carol');
      const ids = Array.from({ length: 40 }, (_, i) => `s${i}`);
      if (where === 'main') await Promise.all(ids.map((id) => carol.send('slowDeposit', { id, amount: 1 })));
      else await system.spawn(LedgerClient).ask('slowDeposits', { key: 'carol', ids }); // on the one worker, with carol's key
      // Stored; most not handled yet (20 ms each).
      system.spawn(Exiter, undefined, { placement: { thread: 1 } }).tell('exit', { code: 3, spinMs: 0 });
      await until(async () => {
        try {
          return (await carol.ask('read', undefined, { timeoutMs: 1000 })).balance === 40;
        } catch {
          return false; // its thread is being replaced
        }
      }, 20_000, 'all forty');
      const state = await carol.ask('read');
      expect(state.applied).toEqual(Array.from({ length: 40 }, (_, i) => `s${i}`)); // in order, none twice
      expect(system.stats().threads[1]!.replaced).toBe(1);
      // Only the tell that ended the thread died with it: the stored messages were not lost, and are not dead letters.
      expect(system.stats().deadLettersByReason['thread-crash']).toBe(1);
    });
  }

  it('E4: transfers to an entity whose thread dies meanwhile reach it once each, in order, after its replacement', async () => {
    const path = dataDir();
    const system = await start(path, 'process', 2);
    // Which worker each troupe thread is, and a source and target whose keys live on different ones.
    const workers = await Promise.all([1, 2].map((thread) => system.spawn(Counter, { start: 0 }, { placement: { thread } }).ask('thread')));
    const threadOf = async (key: string): Promise<number> => 1 + workers.indexOf(await system.entity(Ledger, key).ask('thread'));
    const sourceThread = await threadOf('src');
    let target = '';
    for (let i = 0; target === ''; i++) if ((await threadOf(`dst${i}`)) !== sourceThread) target = `dst${i}`;
    const source = system.entity(Ledger, 'src');
    await source.send('deposit', { id: 'init', amount: 100 });
    // The target's thread ends; meanwhile the source's transfers are released to it.
    system.spawn(Exiter, undefined, { placement: { thread: 3 - sourceThread } }).tell('exit', { code: 3, spinMs: 0 });
    for (let i = 0; i < 30; i++) source.tell('transfer', { id: `t${i}`, to: target, amount: 1 });
    await until(async () => {
      try {
        return (await system.entity(Ledger, target).ask('read', undefined, { timeoutMs: 1000 })).applied.length === 30;
      } catch {
        return false; // its thread is being replaced
      }
    }, 20_000, 'every deposit at the target');
    expect((await system.entity(Ledger, target).ask('read')).applied).toEqual(Array.from({ length: 30 }, (_, i) => `t${i}>`));
    expect((await source.ask('read')).balance).toBe(70);
  });

  it('E8: a stored message that ends its thread each time is a max-deliveries dead letter after 5 tries, not the end of every replacement', async () => {
    const path = dataDir();
    let exits = 0;
    const onExit = (): void => void exits++;
    subscribe(channels.threadExit, onExit);
    try {
      let system = await start(path);
      const letters: DeadLetter[] = [];
      system.deadLetters.subscribe((letter) => letters.push(letter));
      const bomb = system.entity(Bomb, 'b');
      await bomb.send('explode');
      const givenUp = (): DeadLetter[] => letters.filter((l) => l.reason === 'max-deliveries');
      await until(() => givenUp().length === 1, 30_000, 'the poison message given up');
      expect(givenUp()[0]).toMatchObject({ message: { type: 'explode' } });
      expect(exits).toBe(5); // its first delivery and 4 more, each on a replacement
      expect(await bomb.ask('count')).toBe(1); // its key lives on, on a live thread
      expect(system.stats().threads.every((t) => t.alive)).toBe(true);
      system = await restart(system, path);
      expect(await system.entity(Bomb, 'b').ask('count')).toBe(2); // not stored any more: not handled again
      expect(exits).toBe(5);
    } finally {
      unsubscribe(channels.threadExit, onExit);
    }
  });

  for (const durability of ['machine', 'process'] as const) {
    it(`E3: a handler that fails while earlier commits are being written restarts from them: nothing is lost, the order holds (${durability})`, async () => {
      const system = await start(dataDir(), durability, 1);
      const adder = system.entity(Adder, 'k');
      await adder.send('add', 0); // active, and its first commit written
      for (let round = 1; round <= 3; round++) {
        const sends = [adder.send('add', 1), adder.send('boom', undefined), adder.send('add', 10)];
        await Promise.all(sends);
        const state = await adder.ask('read');
        expect(state.n).toBe(11 * round);
        expect(state.log.slice(-3)).toEqual(['add1', 'boom*', 'add10']); // the failed attempt's state was not kept
      }
    });
  }

  it('an entity\'s handler cannot settle its message itself (ctx.ack): a typed error fails it, and the messages around it are kept', async () => {
    const system = await start(dataDir(), 'process', 1);
    const letters: DeadLetter[] = [];
    system.deadLetters.subscribe((letter) => letters.push(letter));
    const adder = system.entity(Adder, 'k');
    await Promise.all([adder.send('add', 1), adder.send('ackItself', undefined), adder.send('add', 10)]);
    await until(() => letters.length === 1, 10_000, 'the refused message given up');
    expect(letters[0]).toMatchObject({ reason: 'max-deliveries', message: { type: 'ackItself' }, deliveryCount: 5 });
    expect((await adder.ask('read')).n).toBe(11);
    // Asked, it says why: the typed error of ctx.ack().
    const error = (await adder.ask('ackItself').catch((e: unknown) => e)) as Error & { cause?: Error };
    expect(`${error.message} ${error.cause?.message ?? ''}`).toContain('ctx.ack()');
  });

  it('E4: entities with the longest keys send to each other through the outbox (the store keys that hold two ids fit)', async () => {
    const system = await start(dataDir(), 'process', 1);
    const letters: DeadLetter[] = [];
    system.deadLetters.subscribe((letter) => letters.push(letter));
    const [a, b] = ['a'.repeat(512), 'b'.repeat(512)];
    await system.entity(Ledger, a).send('deposit', { id: 'd', amount: 5 });
    await system.entity(Ledger, a).send('transfer', { id: 't', to: b, amount: 2 });
    await until(async () => (await system.entity(Ledger, b).ask('read')).balance === 2, 5_000, 'the transfer');
    expect((await system.entity(Ledger, a).ask('read')).balance).toBe(3);
    expect((await system.entity(Ledger, b).ask('read')).applied).toEqual(['t>']);
    expect(letters).toEqual([]);
  });

  it('E8: refuses a path that cannot hold the store, holds something else or a data file that is not lmdb\'s, with StorageError; bad options with InvalidArgumentError', async () => {
    const file = join(dataDir(), 'a-file');
    writeFileSync(file, 'not a directory');
    await expect(createSystem({ threads: 1, storage: { path: file } })).rejects.toMatchObject({ code: 'ERR_STORAGE', name: 'StorageError' });
    const foreign = dataDir();
    const { open } = await import('lmdb');
    const other = open({ path: foreign, maxDbs: 4 });
    await other.openDB({ name: 'users' }).put('x', 1);
    await other.close();
    await expect(createSystem({ threads: 1, storage: { path: foreign } })).rejects.toMatchObject({ code: 'ERR_STORAGE', message: expect.stringContaining('not a troupe entity store') });
    // A data file that is not lmdb's (garbage where the store was): refused, not a crash of the process.
    const corrupt = dataDir();
    await (await start(corrupt, 'machine', 1)).shutdown();
    systems.pop();
    writeFileSync(join(corrupt, 'data.mdb'), Buffer.alloc(65_536, 0x5a));
    await expect(createSystem({ threads: 1, storage: { path: corrupt } })).rejects.toMatchObject({ code: 'ERR_STORAGE', message: expect.stringContaining('not an lmdb file') });
    await expect(createSystem({ threads: 1, storage: { path: dataDir(), durability: 'disk' as never } })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(createSystem({ threads: 1, storage: { path: '' } })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(createSystem({ threads: 1, storage: { path: dataDir(), sync: true } as never })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
  });
});
