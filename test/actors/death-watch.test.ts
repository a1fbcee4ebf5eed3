import { describe, expect, it } from 'vitest';
import { Exiter, PactWatcher, Recorder, Talker, Watcher } from '../fixtures/actors.js';
import { Counter } from '../fixtures/counter.js';
import { until } from '../support/wait.js';
import { useTestSystem } from '../support/system.js';
import type { TestSystem } from 'troupe/testing';

/** A watch travels to the target's thread asynchronously: wait until it is registered there. */
async function registered(system: TestSystem, id: string, watchers = 1): Promise<void> {
  await until(async () => (await system.inspect()).find((a) => a.id === id)?.watchers === watchers, 5000, `${watchers} watcher(s) of ${id}`);
}

const systems = useTestSystem();

describe('death watch', () => {
  it('D1: delivers terminated exactly once, on the permanent stop, not on restarts', async () => {
    const system = await systems.start({ threads: 2 });
    const probe = system.createProbe();
    const watcher = system.spawn(Watcher, { to: probe.refAs<typeof Recorder>() }, { placement: { thread: 1 } });
    const counter = system.spawn(Counter, { start: 0 }, { placement: { thread: 2 } });
    await watcher.ask('watch', counter);
    await watcher.ask('watch', counter); // idempotent
    await registered(system, counter.id);
    for (let i = 0; i < 2; i++) await expect(counter.ask('fail', 'restart me')).rejects.toMatchObject({ code: 'ERR_ACTOR_FAILED' });
    await system.stop(counter);
    expect((await probe.expectMessage('record')).payload).toEqual({ terminated: counter.id, reason: 'normal' });
    await probe.expectNoMessage(50);
  });

  it('D2: watching an actor that is already gone reports noproc at once, on any thread', async () => {
    const system = await systems.start({ threads: 2 });
    const probe = system.createProbe();
    const watcher = system.spawn(Watcher, { to: probe.refAs<typeof Recorder>() }, { placement: { thread: 1 } });
    const local = system.spawn(Counter, { start: 0 }, { placement: { thread: 1 } });
    const remote = system.spawn(Counter, { start: 0 }, { placement: { thread: 2 } });
    await system.stop(local);
    await system.stop(remote);
    watcher.tell('watch', local);
    watcher.tell('watch', remote);
    const reasons = [(await probe.expectMessage('record')).payload, (await probe.expectMessage('record')).payload];
    expect(reasons).toEqual(
      expect.arrayContaining([
        { terminated: local.id, reason: 'noproc' },
        { terminated: remote.id, reason: 'noproc' },
      ]),
    );
  });

  it('D3: terminated comes after every message the dead actor sent the watcher', async () => {
    const system = await systems.start({ threads: 2 });
    const probe = system.createProbe();
    const watcher = system.spawn(Watcher, { to: probe.refAs<typeof Recorder>() }, { placement: { thread: 1 } });
    const talker = system.spawn(Talker, undefined, { placement: { thread: 2 } });
    await watcher.ask('watch', talker);
    // A watch is asynchronous (as Erlang's monitor): had the talker stopped before the watch
    // reached its thread, the notice would say noproc. Here it is registered first.
    await registered(system, talker.id);
    talker.tell('talk', { to: watcher, n: 1000 });
    for (let i = 1; i <= 1000; i++) expect((await probe.expectMessage('record')).payload).toBe(i);
    expect((await probe.expectMessage('record')).payload).toEqual({ terminated: talker.id, reason: 'normal' });
    await probe.expectNoMessage(50);
  });

  it('D1: unwatch suppresses a terminated notice, even one already on its way', async () => {
    const system = await systems.start({ threads: 2 });
    const probe = system.createProbe();
    const watcher = system.spawn(Watcher, { to: probe.refAs<typeof Recorder>() }, { placement: { thread: 1 } });
    // Same thread: the noproc notice is in the mailbox before the unwatch. Other thread: it is
    // still on its way back.
    const local = system.spawn(Counter, { start: 0 }, { placement: { thread: 1 } });
    const remote = system.spawn(Counter, { start: 0 }, { placement: { thread: 2 } });
    await system.stop(local);
    await system.stop(remote);
    await watcher.ask('watchThenUnwatch', local);
    await watcher.ask('watchThenUnwatch', remote);
    await probe.expectNoMessage(100);
  });

  it('D4: an unhandled terminated fails the watcher (a death pact), which restarts', async () => {
    const system = await systems.start({ threads: 2 });
    const watcher = system.spawn(PactWatcher, undefined, { placement: { thread: 1 } });
    const before = await watcher.ask('generation');
    const target = system.spawn(Counter, { start: 0 }, { placement: { thread: 2 } });
    await watcher.ask('watch', target);
    await registered(system, target.id);
    await system.stop(target);
    await until(async () => (await system.inspect()).find((a) => a.id === watcher.id)?.restarts === 1, 5000, 'the watcher to restart');
    expect(await watcher.ask('generation')).not.toBe(before);
  });

  it('reports thread-exit to the watchers of an actor that died with its thread and is not restarted; a restarted one keeps its watchers', async () => {
    const system = await systems.start({ threads: 2 });
    const probe = system.createProbe();
    const watcher = system.spawn(Watcher, { to: probe.refAs<typeof Recorder>() }, { placement: { thread: 2 } });
    const doomed = system.spawn(Counter, { start: 0 }, { placement: { thread: 1 }, maxRestarts: 0 });
    const kept = system.spawn(Counter, { start: 0 }, { placement: { thread: 1 } });
    const exiter = system.spawn(Exiter, undefined, { placement: { thread: 1 } });
    await watcher.ask('watch', doomed);
    await watcher.ask('watch', kept);
    exiter.tell('exit', { code: 4, spinMs: 0 });
    expect((await probe.expectMessage('record')).payload).toEqual({ terminated: doomed.id, reason: 'thread-exit' });
    expect(await kept.ask('get')).toBe(0); // restarted behind its ref
    await system.stop(kept);
    expect((await probe.expectMessage('record')).payload).toEqual({ terminated: kept.id, reason: 'normal' });
  });
});
