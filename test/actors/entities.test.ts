// Entities (defineEntity), in memory: one activation per key wherever its messages come from
// (E1), out of memory when idle and back with its state (E5), init once per key, a failed
// handler's state not kept, refs by key that travel in messages, and bad input refused.

import { describe, expect, it } from 'vitest';
import { defineEntity, type ActorRef, type AnyDefinition, type DeadLetter } from 'troupe';
import { Account, Depositor, Visitor } from '../fixtures/entities.js';
import { Recorder } from '../fixtures/actors.js';
import { useSystem } from '../support/system.js';
import { until } from '../support/wait.js';

const systems = useSystem();

describe('entities', () => {
  it('E1: messages for one key from four threads at once reach one activation', async () => {
    const system = await systems.start({ threads: 3 });
    const depositors = [1, 2, 3].map((thread) => system.spawn(Depositor, undefined, { placement: { thread } }));
    const alice = system.entity(Account, 'alice');
    const fromMain = Promise.resolve().then(() => {
      for (let i = 0; i < 50; i++) alice.tell('deposit', 1);
      return alice.ask('activation');
    });
    const answers = await Promise.all([fromMain, ...depositors.map((d) => d.ask('deposit', { key: 'alice', n: 50 }))]);
    expect(new Set(answers).size).toBe(1);
    expect(await alice.ask('balance')).toBe(200);
    expect(await alice.ask('inits')).toBe(1);
    // Another key is another entity.
    expect(await system.entity(Account, 'bob').ask('balance')).toBe(0);
  });

  it('E5: an idle entity leaves memory, and its next message finds the state it had (init does not run again)', async () => {
    const system = await systems.start({ threads: 2 });
    const visitor = system.entity(Visitor, 'v');
    const inMemory = async (): Promise<number> => (await system.inspect()).filter((row) => row.name === 'Visitor').length;
    expect(await visitor.ask('visit')).toBe(1);
    const first = await visitor.ask('activation');
    expect(await inMemory()).toBe(1);
    await until(async () => (await inMemory()) === 0, 5000, 'the idle entity to leave memory');
    expect(await visitor.ask('visit')).toBe(2);
    expect(await visitor.ask('activation')).not.toBe(first);
    expect(await visitor.ask('inits')).toBe(1);
  });

  for (const where of ['main', 'worker'] as const) {
    it(`K6: a send to an entity by messageId resolves { duplicate: false }, then { duplicate: true } for the same id, sent from a handler on ${where === 'main' ? 'another thread' : "the entity's thread"}`, async () => {
      const system = await systems.start({ threads: 1 }); // every key lives on thread 1
      const depositor = system.spawn(Depositor, undefined, { placement: { thread: where === 'main' ? 0 : 1 } });
      expect(await depositor.ask('sendTwice', { key: 'dana', id: 'd-1' })).toEqual([{ duplicate: false }, { duplicate: true }]);
      expect(await system.entity(Account, 'dana').ask('balance')).toBe(1);
    });
  }

  for (const where of ['main', 'worker'] as const) {
    it(`E8: a handler that throws, or leaves a state that cannot be stored, keeps the state from before it (sent from ${where})`, async () => {
      const system = await systems.start({ threads: 1 });
      const depositor = system.spawn(Depositor, undefined, { placement: { thread: where === 'main' ? 0 : 1 } });
      await depositor.ask('deposit', { key: 'carol', n: 5 });
      const carol = system.entity(Account, 'carol');
      const letters: DeadLetter[] = [];
      system.deadLetters.subscribe((letter) => letters.push(letter));
      await expect(carol.ask('depositThenThrow', 100)).rejects.toMatchObject({ code: 'ERR_ACTOR_FAILED' });
      // Delivered again up to the usual limit (at-least-once), each time against the state from before it.
      await until(() => letters.length === 1, 5000, 'the dead letter');
      expect(letters[0]).toMatchObject({ reason: 'max-deliveries', deliveryCount: 5, message: { type: 'depositThenThrow', payload: 100 } });
      expect(await carol.ask('balance')).toBe(5);
      await expect(carol.ask('depositAFunction')).rejects.toMatchObject({ code: 'ERR_ACTOR_FAILED' });
      expect(await carol.ask('balance')).toBe(5);
      expect(await carol.ask('later', 2)).toBe(7);
      expect(await carol.ask('inits')).toBe(1);
    });
  }

  it('a ref by key travels in messages, and an entity knows itself by it', async () => {
    const system = await systems.start({ threads: 2 });
    const alice = system.entity(Account, 'alice');
    const bob = system.entity(Account, 'bob');
    alice.tell('deposit', 10);
    alice.tell('pay', { to: bob as ActorRef<AnyDefinition>, n: 4 });
    await until(async () => (await bob.ask('balance')) === 4, 5000, 'the payment');
    expect(await alice.ask('balance')).toBe(6);
    expect(await alice.ask('self')).toBe('Account/alice');
    expect(alice.id).toBe('Account/alice');
    expect(String(alice)).toContain('Account/alice');
  });

  it('refuses what is not an entity or a key, a spawn of an entity and a stop of one, with typed errors', async () => {
    const system = await systems.start({ threads: 1 });
    expect(() => system.entity(Recorder as never, 'k')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringContaining('entity(definition)') }));
    expect(() => system.entity(Account, '')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringContaining('entity(key)') }));
    expect(() => system.entity(Account, 42 as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    expect(() => (system as unknown as { spawn(definition: unknown): unknown }).spawn(Account)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringContaining('is an entity') }));
    await expect(system.stop(system.entity(Account, 'alice'))).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    // Keys, names and messageIds make keys in the store, which bounds them (in UTF-8 bytes).
    expect(system.entity(Account, 'é'.repeat(256)).id).toContain('Account');
    expect(() => system.entity(Account, 'é'.repeat(257))).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringContaining('512 bytes') }));
    expect(() => defineEntity(import.meta.url, 'n'.repeat(129), { handlers: {} })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringContaining('defineEntity(name)') }));
    expect(() => system.entity(Account, 'alice').tell('deposit', 1, { messageId: 'x'.repeat(257) })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringContaining('options.messageId') }));
    await expect(system.entity(Account, 'alice').send('deposit', 1, { messageId: 'é'.repeat(129) })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    expect(await system.entity(Account, 'alice').ask('balance')).toBe(0);
  });
});
