import { describe, expect, it } from 'vitest';
import { until } from '../support/wait.js';
import { ShuttingDownError, createSystem } from 'troupe';
import { Hanger, Holder, Named, Napper, Noter, Recorder, Reporter, StopNoter, notes, stopLog } from '../fixtures/actors.js';

describe('graceful shutdown', () => {
  it.each([0, 1])('counts an async handler that settles while its thread is parked at once, so the drain ends (thread %i)', async (thread) => {
    const system = await createSystem({ threads: 1 });
    const napper = system.spawn(Napper, undefined, { placement: { thread } });
    napper.tell('nap', 50); // its thread parks while the handler waits on a timer
    await until(() => {
      const s = system.stats();
      return s.accepted === 1 && s.handled === 1;
    }, 3000, 'the nap counted as handled');
    const started = performance.now();
    await system.shutdown();
    expect(performance.now() - started).toBeLessThan(8000); // not the 10 s drain deadline (room for a loaded machine)
  });

  it('shuts down when an `await using` scope ends, with actors on main and on a worker', async () => {
    let kept: Awaited<ReturnType<typeof createSystem>> | undefined;
    {
      await using system = await createSystem({ threads: 1 });
      kept = system;
      const here = system.spawn(Recorder, undefined, { placement: { thread: 0 } });
      const there = system.spawn(Recorder, undefined, { placement: { thread: 1 } });
      here.tell('record', 1);
      there.tell('record', 2);
      expect(await there.ask('count')).toBe(1);
    }
    // The scope's end ran shutdown(): the report is ready, and outside tells are refused.
    const report = await kept.whenShutdown();
    expect(report.processed).toBe(3);
    expect(report.deadLettered).toBe(0);
  });

  it('Z1: closes admission from outside actors; actor-to-actor messages continue during the drain', async () => {
    const system = await createSystem({ threads: 2 });
    const recorder = system.spawn(Recorder, undefined, { placement: { thread: 0 } });
    const reporter = system.spawn(Reporter, { to: recorder }, { placement: { thread: 2 } });
    reporter.tell('forwardLater', 42); // forwards to the recorder about 20 ms from now
    const done = system.shutdown();
    expect(() => recorder.tell('record', 'from outside')).toThrow(ShuttingDownError);
    await expect(recorder.ask('count')).rejects.toBeInstanceOf(ShuttingDownError);
    expect(() => system.spawn(Recorder, undefined)).toThrow(ShuttingDownError);
    const report = await done;
    // forwardLater, the forwarded record, and the reporter's onStop record: all handled.
    expect(report).toEqual({ processed: 3, deadLettered: 0, forced: 0 });
    expect(await system.shutdown()).toBe(report); // idempotent
  });

  it('Z2: every accepted message is processed before its actor stops', async () => {
    const system = await createSystem({ threads: 2 });
    const recorder = system.spawn(Recorder, undefined, { placement: { thread: 0 } });
    const reporters = Array.from({ length: 5 }, () => system.spawn(Reporter, { to: recorder }));
    for (const r of reporters) for (let i = 0; i < 1000; i++) r.tell('slow', i);
    const report = await system.shutdown();
    // 5000 slow messages, 5000 forwarded records, 5 onStop records.
    expect(report).toEqual({ processed: 10_005, deadLettered: 0, forced: 0 });
  });

  it('Z3: actors stop newest first, children before their parent, onStop once each; one that hangs is forced and the rest still stop', async () => {
    const system = await createSystem({ threads: 1, shutdownTimeoutMs: 200 });
    stopLog.length = 0;
    const a = system.spawn(Named, 'a', { placement: { thread: 0 } });
    await a.ask('child', 'a.1');
    await a.ask('child', 'a.2');
    system.spawn(Hanger, undefined, { placement: { thread: 0 } });
    system.spawn(Named, 'b', { placement: { thread: 0 } });
    const started = performance.now();
    const report = await system.shutdown();
    expect(report.forced).toBe(1);
    expect(performance.now() - started).toBeGreaterThanOrEqual(190); // the hang waited out its limit, once
    expect(stopLog.slice(0, 1)).toEqual(['b']);
    expect(stopLog.slice(1, 3).sort()).toEqual(['a.1', 'a.2']); // children first (in parallel)
    expect(stopLog.slice(3)).toEqual(['a']);
  });

  it('Z3: across threads, each actor stops after every newer one, while the older ones are alive; those with nothing to do stop in batches', async () => {
    const system = await createSystem({ threads: 2 });
    notes.length = 0;
    const noter = system.spawn(Noter, undefined, { placement: { thread: 0 } }); // the oldest: stops last
    const names: string[] = [];
    for (let i = 0; i < 9; i++) {
      names.push(`n${i}`);
      system.spawn(StopNoter, { to: noter, name: `n${i}` }, { placement: { thread: i % 3 } });
      for (let j = 0; j < 300; j++) system.spawn(Recorder, undefined, { placement: { thread: j % 3 } }); // nothing to do at stop
    }
    const report = await system.shutdown();
    expect(notes).toEqual(names.reverse()); // newest first, each onStop heard before the next began
    expect(report).toEqual({ processed: 9, deadLettered: 0, forced: 0 });
  });

  it('Z3: a stop that overruns on a worker is forced there; the others on every thread still stop', async () => {
    const system = await createSystem({ threads: 2, shutdownTimeoutMs: 100 });
    notes.length = 0;
    const noter = system.spawn(Noter, undefined, { placement: { thread: 0 } });
    system.spawn(StopNoter, { to: noter, name: 'older' }, { placement: { thread: 2 } });
    system.spawn(Hanger, undefined, { placement: { thread: 1 } });
    system.spawn(StopNoter, { to: noter, name: 'newer' }, { placement: { thread: 2 } });
    const report = await system.shutdown();
    expect(report.forced).toBe(1);
    expect(notes).toEqual(['newer', 'older']);
  });

  it('Z3: a stop that is forced leaves nothing uncounted: what the actor held, and the message it was stuck in, are dead letters', async () => {
    const system = await createSystem({ threads: 1, shutdownTimeoutMs: 100 });
    const letters: string[] = [];
    system.deadLetters.subscribe((l) => letters.push(l.reason));
    const stuck = system.spawn(Holder, undefined, { placement: { thread: 1 } });
    stuck.tell('hold'); // never settles
    stuck.tell('hold');
    stuck.tell('hold');
    await until(async () => (await system.inspect()).find((x) => x.id === stuck.id)?.mailboxDepth === 2, 5000, 'the first to start');
    const report = await system.shutdown({ drainMs: 0 });
    expect(report.forced).toBe(1);
    expect(report.deadLettered).toBe(3);
    expect(system.stats().accepted).toBe(report.processed + report.deadLettered);
  });

  it('Z4: at the drain deadline leftovers become dead letters and the counts add up', async () => {
    const system = await createSystem({ threads: 1 });
    const recorder = system.spawn(Recorder, undefined, { placement: { thread: 0 } });
    const reporter = system.spawn(Reporter, { to: recorder }, { placement: { thread: 1 } });
    const letters: string[] = [];
    system.deadLetters.subscribe((l) => letters.push(l.reason));
    for (let i = 0; i < 1000; i++) reporter.tell('forwardLater', i); // 20 ms each: 20 s of work
    const report = await system.shutdown({ drainMs: 50 });
    const accepted = system.stats().accepted;
    expect(report.deadLettered).toBeGreaterThan(0);
    expect(report.processed + report.deadLettered).toBe(accepted);
    expect(letters.every((r) => r === 'shutdown')).toBe(true);
  });
});
