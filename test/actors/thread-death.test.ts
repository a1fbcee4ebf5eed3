import { describe, expect, it } from 'vitest';
import { ActorFailedError, ActorStoppedError, InvalidArgumentError, type DeadLetter } from 'troupe';
import { createTestSystem } from 'troupe/testing';
import { Asker, Exiter, Gate, Holder, Recorder } from '../fixtures/actors.js';
import { Counter } from '../fixtures/counter.js';
import { until } from '../support/wait.js';

describe('a worker thread that dies', () => {
  it('rejects asks waiting on its actors at once, refuses new sends, and leaves other threads alone', async () => {
    // Main-thread time is a manual clock that never moves: no ask here can time out.
    const system = await createTestSystem({ threads: 2 });
    const holder = system.spawn(Holder, undefined, { placement: { thread: 1 } });
    const exiter = system.spawn(Exiter, undefined, { placement: { thread: 1 } });
    const survivor = system.spawn(Counter, { start: 0 }, { placement: { thread: 2 } });
    const held = holder.ask('hold', undefined, { timeoutMs: 30_000 }).catch((e: unknown) => e);
    exiter.tell('exit', { code: 3, spinMs: 0 });
    for (let i = 0; i < 100; i++) survivor.tell('add', 1);

    const error = (await held) as ActorFailedError;
    expect(error).toBeInstanceOf(ActorFailedError);
    expect((error.cause as Error).message).toBe('thread 1 exited with code 3');
    expect(() => holder.tell('hold')).toThrow(ActorStoppedError);
    await expect(holder.ask('hold')).rejects.toBeInstanceOf(ActorStoppedError);
    expect(() => system.spawn(Counter, { start: 0 }, { placement: { thread: 1 } })).toThrow(InvalidArgumentError);
    expect(await survivor.ask('get')).toBe(100);
    // New balanced spawns go to the live worker.
    expect(await system.spawn(Counter, { start: 5 }).ask('get')).toBe(5);
    expect(system.stats().threads.map((t) => t.alive)).toEqual([true, false, true]);
    expect((await system.inspect()).some((a) => a.thread === 1)).toBe(false);
    const report = await system.shutdown({ drainMs: 2000 });
    expect(report.forced).toBe(0);
  });

  it('dead-letters what was sent to it and never read, as thread-crash', async () => {
    const system = await createTestSystem({ threads: 2 });
    const letters: DeadLetter[] = [];
    system.deadLetters.subscribe((l) => letters.push(l));
    const probe = system.createProbe();
    const exiter = system.spawn(Exiter, undefined, { placement: { thread: 1 } });
    const holder = system.spawn(Holder, undefined, { placement: { thread: 1 } });
    exiter.tell('exit', { code: 7, spinMs: 300, to: probe.refAs<typeof Recorder>() });
    await probe.expectMessage('record'); // the thread now spins: what follows stays in its ring
    for (let i = 0; i < 20; i++) holder.tell('hold');
    await until(() => letters.length === 20, 5000, 'twenty thread-crash dead letters');
    expect(letters.every((l) => l.reason === 'thread-crash' && l.message.type === 'hold')).toBe(true);
    await system.shutdown({ drainMs: 2000 });
  });

  it('rejects asks from actors on other workers too (60 s timeout, answered at once)', async () => {
    const system = await createTestSystem({ threads: 2 });
    const probe = system.createProbe();
    const holder = system.spawn(Holder, undefined, { placement: { thread: 1 } });
    const exiter = system.spawn(Exiter, undefined, { placement: { thread: 1 } });
    const asker = system.spawn(Asker, { to: probe.refAs<typeof Recorder>() }, { placement: { thread: 2 } });
    asker.tell('askHold', holder);
    await until(async () => (await system.inspect()).find((a) => a.id === asker.id)?.mailboxDepth === 0, 5000, 'the ask to be sent');
    exiter.tell('exit', { code: 9, spinMs: 0 });
    const outcome = await probe.expectMessage('record', { timeoutMs: 5000 });
    expect(outcome.payload).toBe('ActorFailedError: thread 1 exited with code 9');
    await system.shutdown({ drainMs: 2000 });
  });

  it('an answer to an asker whose thread died becomes a late reply; the answering thread carries on', async () => {
    const system = await createTestSystem({ threads: 2 });
    const letters: DeadLetter[] = [];
    system.deadLetters.subscribe((l) => letters.push(l));
    const probe = system.createProbe();
    const asker = system.spawn(Asker, { to: probe.refAs<typeof Recorder>() }, { placement: { thread: 1 } });
    const exiter = system.spawn(Exiter, undefined, { placement: { thread: 1 } });
    const holder = system.spawn(Holder, undefined, { placement: { thread: 2 } });
    const gate = system.spawn(Gate, undefined, { placement: { thread: 2 } });
    const counter = system.spawn(Counter, { start: 0 }, { placement: { thread: 2 } });
    asker.tell('askHold', holder);
    await until(async () => (await system.inspect()).find((a) => a.id === asker.id)?.mailboxDepth === 0, 5000, 'the ask to be sent');
    exiter.tell('exit', { code: 6, spinMs: 0 });
    await until(() => system.stats().threads[1]!.alive === false, 5000, 'thread 1 to die');
    // Now let the holder on thread 2 answer the asker on the dead thread 1.
    await until(async () => (await gate.ask('open', 'too late for thread 1')) === true, 5000, 'the hold to be answered');
    await until(() => letters.some((l) => l.reason === 'late-reply'), 5000, 'a late-reply dead letter');
    counter.tell('add', 2);
    expect(await counter.ask('get')).toBe(2); // thread 2's scheduler is still running
    await system.shutdown({ drainMs: 2000 });
  });
});
