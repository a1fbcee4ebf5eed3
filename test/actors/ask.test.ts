import { describe, expect, it } from 'vitest';
import { ActorFailedError, ActorStoppedError, AskTimeoutError, type DeadLetter } from 'troupe';
import { Gate, Holder, Thrower } from '../fixtures/actors.js';
import { Counter } from '../fixtures/counter.js';
import { ManualClock } from 'troupe/testing';
import { until } from '../support/wait.js';
import { useSystem } from '../support/system.js';

const systems = useSystem();

describe('ask', () => {
  it('A1: rejects with AskTimeoutError at its timeout; the late reply becomes a dead letter', async () => {
    const clock = new ManualClock();
    const system = await systems.start({ threads: 1, clock });
    const letters: DeadLetter[] = [];
    system.deadLetters.subscribe((l) => letters.push(l));
    const holder = system.spawn(Holder, undefined, { placement: { thread: 1 } });
    const gate = system.spawn(Gate, undefined, { placement: { thread: 1 } });
    const reply = holder.ask('hold', undefined, { timeoutMs: 100 });
    const outcome = reply.then(
      () => 'resolved',
      (error: Error) => error,
    );
    clock.advance(99);
    await Promise.resolve();
    expect(clock.pending).toBe(1);
    clock.advance(1);
    const error = await outcome;
    expect(error).toBeInstanceOf(AskTimeoutError);
    expect((error as AskTimeoutError).code).toBe('ERR_ASK_TIMEOUT');
    // Now let the handler reply, late.
    await until(async () => (await gate.ask('open', 'too late')) === true, 5000, 'the hold to start');
    await until(() => letters.length === 1, 5000, 'the late reply');
    expect(letters[0]).toMatchObject({ reason: 'late-reply', message: { payload: 'too late' } });
  });

  it('A1: the default timeout is 5 s', async () => {
    const clock = new ManualClock();
    const system = await systems.start({ threads: 1, clock });
    const holder = system.spawn(Holder, undefined, { placement: { thread: 1 } });
    const gate = system.spawn(Gate, undefined, { placement: { thread: 1 } });
    const outcome = holder.ask('hold').catch((e: Error) => e);
    clock.advance(4999);
    await Promise.resolve();
    expect(clock.pending).toBe(1);
    clock.advance(1);
    expect(await outcome).toBeInstanceOf(AskTimeoutError);
    await until(async () => (await gate.ask('open', 'done')) === true, 5000, 'the hold to start');
  });

  it('A2: an ask to a stopped actor rejects with ActorStoppedError, not a timeout', async () => {
    const system = await systems.start({ threads: 1 });
    const remote = system.spawn(Counter, { start: 0 }, { placement: { thread: 1 } });
    const local = system.spawn(Counter, { start: 0 }, { placement: { thread: 0 } });
    await system.stop(remote);
    await system.stop(local);
    await expect(remote.ask('get', undefined, { timeoutMs: 30_000 })).rejects.toBeInstanceOf(ActorStoppedError);
    await expect(local.ask('get', undefined, { timeoutMs: 30_000 })).rejects.toBeInstanceOf(ActorStoppedError);
  });

  it('A3: if the target fails while handling, the ask rejects with ActorFailedError and the cause', async () => {
    const system = await systems.start({ threads: 1 });
    const thrower = system.spawn(Thrower, undefined, { placement: { thread: 1 } });
    const error = await thrower.ask('db').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ActorFailedError);
    expect((error as Error).cause).toMatchObject({ name: 'DbError', message: 'connection lost' });
    // The actor restarted: it answers again, with fresh state.
    expect(await thrower.ask('calls')).toBe(0);
  });
});
