import { describe, expect, it } from 'vitest';
import { AskTimeoutError } from 'troupe';
import { createTestSystem } from 'troupe/testing';
import { CatchAll, Holder, Recorder, Reporter } from '../fixtures/actors.js';
import { Counter } from '../fixtures/counter.js';
import { until } from '../support/wait.js';
import { useTestSystem } from '../support/system.js';

const systems = useTestSystem();

describe('TestProbe', () => {
  it('records what an actor on a worker thread sends it, with the sender', async () => {
    const system = await systems.start();
    const probe = system.createProbe();
    const reporter = system.spawn(Reporter, { to: probe.refAs<typeof Recorder>() }, { placement: { thread: 1 } });
    reporter.tell('n', 1);
    reporter.tell('n', 2);
    const first = await probe.expectMessage('record');
    expect(first.payload).toBe(1);
    expect(first.sender?.id).toBe(reporter.id);
    expect((await probe.expectMessage()).payload).toBe(2);
    expect(probe.received.map((m) => m.payload)).toEqual([1, 2]);
  });

  it('fails an expectation when a message of another type comes first', async () => {
    const system = await systems.start();
    const probe = system.createProbe();
    probe.ref.tell('surprise', 42);
    await expect(probe.expectMessage('record')).rejects.toThrow(/expected a message of type "record", got "surprise" 42/);
  });

  it('times out an expectation when nothing comes', async () => {
    const system = await systems.start();
    const probe = system.createProbe();
    await expect(probe.expectMessage('record', { timeoutMs: 20 })).rejects.toBeInstanceOf(AskTimeoutError);
  });

  it('expectNoMessage passes in silence and fails on a message', async () => {
    const system = await systems.start();
    const probe = system.createProbe();
    await probe.expectNoMessage(20);
    const reporter = system.spawn(Reporter, { to: probe.refAs<typeof Recorder>() }, { placement: { thread: 1 } });
    reporter.tell('n', 7);
    await expect(probe.expectNoMessage(2000)).rejects.toThrow(/expected no message, got "record" 7/);
  });
});

describe('TestProbe death watch', () => {
  it('expectTerminated: reports when a watched actor ends for good, not when it restarts', async () => {
    const system = await systems.start();
    const probe = system.createProbe();
    const counter = system.spawn(Counter, { start: 0 }, { placement: { thread: 1 } });
    probe.watch(counter);
    await until(async () => (await system.inspect()).find((a) => a.id === counter.id)?.watchers === 1, 5000, 'the watch');
    await expect(counter.ask('fail', 'restart')).rejects.toMatchObject({ code: 'ERR_ACTOR_FAILED' });
    await probe.expectNoMessage(30);
    await system.stop(counter);
    expect(await probe.expectTerminated(counter)).toBe('normal');
  });
});

describe('createTestSystem', () => {
  it('drives ask timeouts with its manual clock', async () => {
    const system = await systems.start();
    const holder = system.spawn(Holder, undefined, { placement: { thread: 1 } });
    const outcome = holder.ask('hold', undefined, { timeoutMs: 1000 }).catch((e: unknown) => e);
    system.clock.advance(999);
    await Promise.resolve();
    expect(system.clock.pending).toBe(1);
    system.clock.advance(1);
    expect(await outcome).toBeInstanceOf(AskTimeoutError);
  });

  it.each([0, 1])('shuts down promptly with a handler that never finishes (actor on thread %i)', async (thread) => {
    const system = await createTestSystem();
    const holder = system.spawn(Holder, undefined, { placement: { thread } });
    holder.tell('hold');
    holder.tell('hold'); // waits behind the first, which never finishes
    await until(async () => (await system.inspect()).some((a) => a.id === holder.id && a.mailboxDepth === 1), 5000, 'the first hold running');
    const started = performance.now();
    const report = await system.shutdown();
    // The defaults drain 100 ms and force the stop after 100 ms: not the 10 s + 5 s of a system
    // (the bound leaves a loaded machine room, and is still well short of that).
    expect(performance.now() - started).toBeLessThan(8000);
    expect(report.forced).toBe(1);
  });
});

describe('receive (catch-all handler)', () => {
  it('answers message types that have no handler of their own', async () => {
    const system = await systems.start();
    const ref = system.spawn(CatchAll, undefined, { placement: { thread: 1 } });
    expect(await ref.ask('known')).toBe('handler');
    expect(await (ref as unknown as { ask(t: string, p: unknown): Promise<unknown> }).ask('whatever', 5)).toEqual(['whatever', 5]);
  });
});
