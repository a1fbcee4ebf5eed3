// SEMANTICS.md M1–M4 and P3: bounded mailboxes, exact across threads, with their three overflow
// policies. The bounded actor runs on a worker and is paused inside a handler while the test
// fills its mailbox from other threads.

import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, MailboxFullError, type ActorRef, type ActorSystem, type DeadLetter, type SpawnOptions } from 'troupe';
import { Flooder, PauseGate, Pausable } from '../fixtures/actors.js';
import { useSystem, useTestSystem } from '../support/system.js';
import { until } from '../support/wait.js';

const systems = useSystem();
const testSystems = useTestSystem();

/** A Pausable on thread 1 with `mailbox`, paused (its pause message has started: it takes no room). */
async function pausedOn(system: ActorSystem, mailbox: SpawnOptions['mailbox']) {
  const actor = system.spawn(Pausable, undefined, { placement: { thread: 1 }, mailbox });
  const gate = system.spawn(PauseGate, undefined, { placement: { thread: 1 } });
  actor.tell('pause');
  await until(() => gate.ask('paused'), 5000, 'the actor to pause');
  return { actor, gate, resume: () => gate.ask('open') };
}

/** The actor's log, asked for once its bounded mailbox has room for the ask. */
async function logOf(actor: ActorRef<typeof Pausable>): Promise<unknown[]> {
  let log: unknown[] = [];
  await until(
    async () => {
      try {
        log = (await actor.ask('log')) as unknown[];
        return true;
      } catch (error) {
        if (error instanceof MailboxFullError) return false;
        throw error;
      }
    },
    5000,
    'room for the ask',
  );
  return log;
}

function letters(system: ActorSystem): DeadLetter[] {
  const out: DeadLetter[] = [];
  system.deadLetters.subscribe((l) => out.push(l));
  return out;
}

describe('bounded mailboxes', () => {
  it('M1: the capacity is exact; reject makes tell throw, counted as rejected, not as dead letters', async () => {
    const system = await systems.start({ threads: 1 });
    const dead = letters(system);
    const { actor, resume } = await pausedOn(system, { capacity: 64 });
    let accepted = 0;
    let full = 0;
    for (let i = 0; i < 100; i++) {
      try {
        actor.tell('rec', i);
        accepted++;
      } catch (error) {
        expect(error).toBeInstanceOf(MailboxFullError);
        full++;
      }
    }
    expect([accepted, full]).toEqual([64, 36]);
    await expect(actor.ask('log')).rejects.toBeInstanceOf(MailboxFullError);
    expect(system.stats().rejected).toBe(37);
    await resume();
    expect(await logOf(actor)).toEqual([...Array(64).keys()]);
    expect(dead).toEqual([]);
    // Room comes back as messages start: the mailbox takes 64 more.
    for (let i = 0; i < 64; i++) actor.tell('rec', i);
  });

  it('M1: senders on the actor\'s own thread take room a block at a time, yet the capacity stays exact and the room comes back', async () => {
    const system = await systems.start({ threads: 2 });
    const { actor, gate, resume } = await pausedOn(system, { capacity: 250 }); // blocks of 3
    const here = system.spawn(Flooder, undefined, { placement: { thread: 1 } });
    const there = system.spawn(Flooder, undefined, { placement: { thread: 2 } });
    expect(await here.ask('flood', { target: actor, n: 300, tag: 'a' })).toEqual({ accepted: 250, full: 50 });
    expect(await there.ask('flood', { target: actor, n: 10, tag: 'b' })).toEqual({ accepted: 0, full: 10 });
    await resume();
    expect(await logOf(actor)).toEqual(Array.from({ length: 250 }, (_, i) => `a${i}`));
    // One tell from its own thread took a block; the rest of it went back at the actor's run.
    expect(await here.ask('flood', { target: actor, n: 1, tag: 'c' })).toEqual({ accepted: 1, full: 0 });
    actor.tell('pause');
    await until(() => gate.ask('paused'), 5000, 'the actor to pause again');
    expect(await there.ask('flood', { target: actor, n: 300, tag: 'd' })).toEqual({ accepted: 250, full: 50 });
    await resume();
  });

  it('M1: exact across threads: three senders on three threads never overfill it', async () => {
    const system = await systems.start({ threads: 3 });
    const { actor, resume } = await pausedOn(system, { capacity: 500 });
    const flooders = [2, 3].map((thread) => system.spawn(Flooder, undefined, { placement: { thread } }));
    const fromWorkers = Promise.all(flooders.map((f, i) => f.ask('flood', { target: actor, n: 400, tag: `w${i}:` })));
    let fromMain = 0;
    for (let i = 0; i < 400; i++) {
      try {
        actor.tell('rec', `m:${i}`);
        fromMain++;
      } catch (error) {
        expect(error).toBeInstanceOf(MailboxFullError);
      }
    }
    const results = await fromWorkers;
    const accepted = fromMain + results.reduce((n, r) => n + r.accepted, 0);
    expect(accepted).toBe(500);
    expect(results.reduce((n, r) => n + r.full, 0) + (400 - fromMain)).toBe(700);
    await resume();
    // The workers' messages may still be on their rings when an ask from main gets in: no
    // transitive order between senders (O1). Wait for all 500 to be handled.
    let log: string[] = [];
    await until(async () => (log = (await logOf(actor)) as string[]).length >= 500, 5000, 'all 500 handled');
    expect(log).toHaveLength(500);
    // Per sender, FIFO: each sender's accepted messages arrive in the order it sent them.
    for (const tag of ['m:', 'w0:', 'w1:']) {
      const mine = log.filter((x) => x.startsWith(tag)).map((x) => Number(x.slice(tag.length)));
      expect(mine).toEqual([...mine].sort((a, b) => a - b));
    }
  });

  it('M2: drop-oldest evicts the head to dead letters and the survivors stay FIFO', async () => {
    const system = await systems.start({ threads: 1 });
    const dead = letters(system);
    const { actor, gate, resume } = await pausedOn(system, { capacity: 4, overflow: 'drop-oldest' });
    for (let i = 1; i <= 6; i++) actor.tell('rec', i);
    await until(() => dead.length === 2, 5000, 'two evictions');
    await resume();
    // Read the log through the gate: an ask to the actor itself would take room and could evict.
    await until(async () => ((await gate.ask('log')) as unknown[]).length === 4, 5000, 'four handled');
    expect(await gate.ask('log')).toEqual([3, 4, 5, 6]);
    expect(dead.map((l) => [l.message.payload, l.reason])).toEqual([
      [1, 'mailbox-full'],
      [2, 'mailbox-full'],
    ]);
    const stats = system.stats();
    expect(stats.accepted).toBe(stats.handled + stats.deadLetters); // the conservation law (X3)
  });

  it('P3: under drop-oldest the oldest message of the lowest priority goes, not the head', async () => {
    const system = await systems.start({ threads: 1 });
    const dead = letters(system);
    const { actor, gate, resume } = await pausedOn(system, { capacity: 3, overflow: 'drop-oldest' });
    actor.tell('rec', 'a0');
    actor.tell('rec', 'b2', { priority: 2 });
    actor.tell('rec', 'c0');
    actor.tell('rec', 'd1', { priority: 1 }); // full: evicts a0
    actor.tell('rec', 'e0'); // full: evicts c0
    actor.tell('rec', 'f0'); // full: evicts e0
    await until(() => dead.length === 3, 5000, 'three evictions');
    await resume();
    await until(async () => ((await gate.ask('log')) as unknown[]).length === 3, 5000, 'three handled');
    expect(await gate.ask('log')).toEqual(['b2', 'd1', 'f0']);
    expect(dead.map((l) => l.message.payload)).toEqual(['a0', 'c0', 'e0']);
  });

  it('P3: a new message below everything held is the one dropped', async () => {
    const system = await systems.start({ threads: 1 });
    const dead = letters(system);
    const { actor, gate, resume } = await pausedOn(system, { capacity: 2, overflow: 'drop-oldest' });
    actor.tell('rec', 'x3', { priority: 3 });
    actor.tell('rec', 'y2', { priority: 2 });
    actor.tell('rec', 'z0');
    await until(() => dead.length === 1, 5000, 'one eviction');
    await resume();
    await until(async () => ((await gate.ask('log')) as unknown[]).length === 2, 5000, 'two handled');
    expect(await gate.ask('log')).toEqual(['x3', 'y2']);
    expect(dead[0]!.message.payload).toBe('z0');
  });

  it('M3: backpressure: send waits for room, waiters go in order, and one past its timeout rejects', async () => {
    const system = await testSystems.start({ threads: 1 });
    const { actor, resume } = await pausedOn(system, { capacity: 1, overflow: 'backpressure' });
    actor.tell('rec', 'first');
    expect(() => actor.tell('rec', 'refused')).toThrow(MailboxFullError);
    const settled: string[] = [];
    const w1 = actor.send('rec', 'w1', { timeoutMs: 5000 }).then(() => settled.push('w1'));
    const w2 = actor.send('rec', 'w2', { timeoutMs: 5000 }).then(() => settled.push('w2'));
    const w3 = actor.send('rec', 'w3', { timeoutMs: 50 }).catch((error: unknown) => {
      settled.push('w3 rejected');
      return error;
    });
    system.clock.advance(50);
    expect(await w3).toBeInstanceOf(MailboxFullError);
    expect(settled).toEqual(['w3 rejected']);
    await resume();
    await Promise.all([w1, w2]);
    expect(settled).toEqual(['w3 rejected', 'w1', 'w2']);
    expect(await logOf(actor)).toEqual(['first', 'w1', 'w2']);
  });

  it('M4: a full mailbox stops at once; what it held becomes dead letters', async () => {
    const system = await systems.start({ threads: 1 });
    const dead = letters(system);
    const { actor, resume } = await pausedOn(system, { capacity: 5 });
    for (let i = 0; i < 5; i++) actor.tell('rec', i);
    expect(() => actor.tell('rec', 5)).toThrow(MailboxFullError);
    // The stop takes no room and does not queue behind the five: once the running handler
    // returns, the actor stops without handling them.
    const stopped = system.stop(actor);
    await resume();
    await stopped;
    await until(() => dead.length === 5, 5000, 'five dead letters');
    expect(dead.map((l) => [l.message.payload, l.reason])).toEqual([0, 1, 2, 3, 4].map((i) => [i, 'stopped']));
  });

  it('refuses a bad mailbox option, naming it', () => {
    return systems.start({ threads: 1 }).then((system) => {
      expect(() => system.spawn(Pausable, undefined, { mailbox: { capacity: 0 } })).toThrow(/options\.mailbox\.capacity/);
      expect(() => system.spawn(Pausable, undefined, { mailbox: { capacity: 4, overflow: 'drop' as never } })).toThrow(InvalidArgumentError);
    });
  });

  it('frees the entry when the actor stops, so the table does not run out', async () => {
    const system = await systems.start({ threads: 1, boundedMailboxes: 16 });
    for (let round = 0; round < 4; round++) {
      const actors = Array.from({ length: 16 }, () => system.spawn(Pausable, undefined, { placement: { thread: 1 }, mailbox: { capacity: 2 } }));
      expect(() => system.spawn(Pausable, undefined, { mailbox: { capacity: 2 } })).toThrow(InvalidArgumentError);
      await Promise.all(actors.map((a) => system.stop(a)));
    }
  });
});
