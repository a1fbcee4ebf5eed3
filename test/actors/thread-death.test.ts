// SEMANTICS.md W1–W7: a worker thread that dies is a failure of every actor it hosted, each
// reported to its own supervisor; the pool replaces the thread; the actors start again there
// behind the same refs, and what was accepted for them and still lay in the rings reaches them
// in order. Main-thread time is a manual clock that never moves: no ask here can time out, so
// every rejection seen is a prompt one.

import { describe, expect, it } from 'vitest';
import { ActorFailedError, ActorStoppedError, type ActorRef, type DeadLetter } from 'troupe';
import { createTestSystem } from 'troupe/testing';
import { AckWorker, Asker, Echo, ExitOnStart, Exiter, Gate, Holder, Recorder, Sup, SupChild } from '../fixtures/actors.js';
import { Counter } from '../fixtures/counter.js';
import { fileGate } from '../support/gate.js';
import { until } from '../support/wait.js';

type Cause = Error & { kind: string; code: number };

describe('a worker thread that dies', () => {
  it('W2, W4, W5: asks waiting on it fail at once; the same refs answer again from a new thread; other threads carry on', async () => {
    const system = await createTestSystem({ threads: 2 });
    const holder = system.spawn(Holder, undefined, { placement: { thread: 1 } });
    const counter = system.spawn(Counter, { start: 7 }, { placement: { thread: 1 } });
    const exiter = system.spawn(Exiter, undefined, { placement: { thread: 1 } });
    const survivor = system.spawn(Counter, { start: 0 }, { placement: { thread: 2 } });
    counter.tell('add', 1);
    const before = await counter.ask('thread');
    expect(await counter.ask('get')).toBe(8);
    const held = holder.ask('hold', undefined, { timeoutMs: 30_000 }).catch((e: unknown) => e);
    exiter.tell('exit', { code: 3, spinMs: 0 });
    for (let i = 0; i < 100; i++) survivor.tell('add', 1);

    const error = (await held) as ActorFailedError;
    expect(error).toBeInstanceOf(ActorFailedError);
    expect((error.cause as Cause).message).toBe('thread 1 exited with code 3');
    expect((error.cause as Cause).kind).toBe('thread-exit');
    expect((error.cause as Cause).code).toBe(3);
    // The same ref, a fresh instance (its state starts again from its args), another thread.
    expect(await counter.ask('get')).toBe(7);
    expect(await counter.ask('thread')).not.toBe(before);
    expect(await survivor.ask('get')).toBe(100);
    const stats = system.stats();
    expect(stats.threads.map((t) => t.alive)).toEqual([true, true, true]);
    expect(stats.threads.map((t) => t.replaced)).toEqual([0, 1, 0]);
    expect(stats.spare).toBeNull(); // no spare asked for: a fresh worker took its place
    expect((await system.inspect()).filter((a) => a.thread === 1).map((a) => a.id).sort()).toEqual([counter.id, exiter.id, holder.id].sort());
    const report = await system.shutdown({ drainMs: 2000 });
    expect(report.forced).toBe(0);
  });

  it('W2: two threads that die close together are each replaced, and their actors answer again (a large payload crosses between them)', async () => {
    for (const gapMs of [0, 5]) {
      const system = await createTestSystem({ threads: 2 });
      const exiters = [1, 2].map((thread) => system.spawn(Exiter, undefined, { placement: { thread } }));
      const counters = [1, 2].map((thread) => system.spawn(Counter, { start: thread }, { placement: { thread } }));
      const echo = system.spawn(Echo, undefined, { placement: { thread: 2 } });
      const relay = system.spawn(Echo, undefined, { placement: { thread: 1 } });
      expect(await Promise.all(counters.map((c) => c.ask('get')))).toEqual([1, 2]);
      exiters[0]!.tell('exit', { code: 3, spinMs: 0 });
      if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
      exiters[1]!.tell('exit', { code: 3, spinMs: 0 });
      await until(() => system.stats().threads.every((t) => t.alive && (t.thread === 0 || t.replaced === 1)), 10_000, `both threads replaced (${gapMs} ms apart)`);
      expect(await Promise.all(counters.map((c) => c.ask('get', undefined, { timeoutMs: 5_000 })))).toEqual([1, 2]);
      // Thread 1 to thread 2 and back with a payload too large for a ring: the channels between the two replacements work.
      const big = 'x'.repeat(1 << 20);
      expect(await relay.ask('relay', { target: echo, payload: big }, { timeoutMs: 5_000 })).toBe(big.length);
      await system.shutdown({ drainMs: 2000 });
    }
  });

  it('W3: tells accepted and not yet read survive in the ring and reach the restarted actor in order; asks there and the running message are dead letters', async () => {
    const system = await createTestSystem({ threads: 2 });
    const letters: DeadLetter[] = [];
    system.deadLetters.subscribe((l) => letters.push(l));
    const probe = system.createProbe();
    const exiter = system.spawn(Exiter, undefined, { placement: { thread: 1 } });
    const logger = system.spawn(Counter, { start: 0 }, { placement: { thread: 1 } });
    const echo = system.spawn(Echo, undefined, { placement: { thread: 1 } });
    // 100 object shapes first, read by the thread before it dies: the stream's record structures
    // wrap past msgpackr's 64 ids, so the replacement can decode what follows only if it joins
    // the stream with the right ones.
    for (let i = 0; i < 100; i++) echo.tell('echo', { [`k${i}`]: i });
    expect(await echo.ask('echo', { last: true })).toEqual({ last: true });
    const gate = fileGate();
    exiter.tell('exit', { code: 5, spinMs: 20_000, gate: gate.path, to: probe.refAs<typeof Recorder>() });
    await probe.expectMessage('record'); // the thread now spins until the gate opens: what follows stays in its ring
    const sent = Array.from({ length: 49 }, (_, i) => ({ [`k${(i * 7) % 100}`]: i + 2, n: i + 2 }));
    for (const m of sent) logger.tell('record', m as never);
    const asks = Array.from({ length: 5 }, () => logger.ask('get', undefined, { timeoutMs: 30_000 }).catch((e: unknown) => e));
    gate.open();

    for (const outcome of await Promise.all(asks)) expect(outcome).toBeInstanceOf(ActorFailedError);
    await until(() => system.stats().threads[1]!.replaced === 1 && system.stats().threads[1]!.alive, 5000, 'the replacement');
    expect(await logger.ask('log')).toEqual(sent);
    // The asks in the ring were answered (failed) already: dead letters. So is the message that
    // was running when the thread died (at most once), with all it was: the custody log kept it.
    await until(() => letters.filter((l) => l.reason === 'thread-crash').length === 6, 5000, 'six thread-crash dead letters');
    const crashed = letters.filter((l) => l.reason === 'thread-crash');
    expect(crashed.filter((l) => l.message.type === 'get')).toHaveLength(5);
    const running = crashed.filter((l) => l.message.type === 'exit');
    expect(running.map((l) => l.recipient)).toEqual([exiter.id]);
    expect(running[0]!.message.payload).toMatchObject({ code: 5, gate: gate.path });
    const s = system.stats();
    expect(s.accepted).toBe(s.handled + (s.deadLetters - s.lateReplies) + s.duplicates);
    await system.shutdown({ drainMs: 2000 });
    gate.dispose();
  });

  it('W3: the stream survives what lay unread in the ring: a codec reset, and a large payload (lost with the port: a dead letter)', async () => {
    const system = await createTestSystem({ threads: 2, maxMessageBytes: 200_000 });
    const letters: DeadLetter[] = [];
    system.deadLetters.subscribe((l) => letters.push(l));
    const probe = system.createProbe();
    const exiter = system.spawn(Exiter, undefined, { placement: { thread: 1 } });
    const logger = system.spawn(Counter, { start: 0 }, { placement: { thread: 1 } });
    const gate = fileGate();
    exiter.tell('exit', { code: 5, spinMs: 20_000, gate: gate.path, to: probe.refAs<typeof Recorder>() });
    await probe.expectMessage('record'); // the thread spins until the gate opens: all that follows stays unread
    logger.tell('record', { before: 1 } as never);
    // Too large: refused, after its encoding defined structures, so both ends reset their codec.
    expect(() => logger.tell('record', { big: 'x'.repeat(300_000), shape: { a: 1 } } as never)).toThrow(/maxMessageBytes/);
    logger.tell('record', { after: 2, shape: { b: 2 } } as never);
    // Larger than a ring record (64 KiB here) but allowed: it travels on the dead thread's port.
    logger.tell('record', { large: 'y'.repeat(100_000) } as never);
    logger.tell('record', { last: 3 } as never);
    gate.open();
    await until(() => system.stats().threads[1]!.replaced === 1 && system.stats().threads[1]!.alive, 5000, 'the replacement');
    expect(await logger.ask('log')).toEqual([{ before: 1 }, { after: 2, shape: { b: 2 } }, { last: 3 }]);
    await until(() => letters.some((l) => l.reason === 'thread-crash' && l.message.type === 'record'), 5000, 'the large one as a dead letter');
    const s = system.stats();
    await until(() => {
      const now = system.stats();
      return now.accepted === now.handled + (now.deadLetters - now.lateReplies) + now.duplicates;
    }, 5000, 'the books to balance');
    expect(s.threads[1]!.alive).toBe(true);
    await system.shutdown({ drainMs: 2000 });
    gate.dispose();
  });

  it('W1: each actor is reported to its own supervisor, with the reason; one-for-all restarts the sibling elsewhere, a temporary child is not restarted', async () => {
    const system = await createTestSystem({ threads: 2 });
    const log = system.spawn(Recorder, undefined, { placement: { thread: 0 } });
    const decided: string[] = [];
    const root = system.spawn(Sup, { log }, {
      placement: { thread: 0 },
      supervision: {
        strategy: 'one-for-all',
        decide: (error) => {
          const cause = error.cause as Cause;
          decided.push(`${cause.kind}:${cause.code}`);
          return 'restart';
        },
      },
    });
    const a = (await root.ask('add', { name: 'a', thread: 1 })) as ActorRef<typeof SupChild>;
    const b = (await root.ask('add', { name: 'b', thread: 2 })) as ActorRef<typeof SupChild>;
    const t = (await root.ask('add', { name: 't', thread: 1, restart: 'temporary' })) as ActorRef<typeof SupChild>;
    const aThread = await a.ask('thread');
    expect(await b.ask('inc')).toBe(1);
    expect(await t.ask('inc')).toBe(1);
    a.tell('exit', 3);

    await until(async () => (await log.ask('seen')).filter((x) => x === 'start a').length === 2, 5000, 'a to start again');
    expect(await a.ask('get')).toBe(0);
    expect(await a.ask('thread')).not.toBe(aThread);
    expect(await b.ask('get')).toBe(0); // one-for-all: restarted with a, though its thread lived
    expect(decided).toEqual(['thread-exit:3']);
    const seen = (await log.ask('seen')) as string[];
    const count = (entry: string): number => seen.filter((x) => x === entry).length;
    expect([count('start a'), count('start b'), count('start t'), count('stop b')]).toEqual([2, 2, 1, 1]);
    await expect(t.ask('get')).rejects.toThrow(); // temporary: gone with its thread
    await system.shutdown({ drainMs: 2000 });
  });

  it('W6: a supervisor on the dead thread is restarted by its parent, and recreates its children elsewhere exactly once', async () => {
    const system = await createTestSystem({ threads: 2 });
    const log = system.spawn(Recorder, undefined, { placement: { thread: 0 } });
    const root = system.spawn(Sup, { log }, { placement: { thread: 0 }, supervision: { strategy: 'one-for-one' } });
    const nest = (await root.ask('addNest', { thread: 1, childThread: 2 })) as ActorRef<typeof import('../fixtures/actors.js').Nest>;
    const first = await nest.ask('children');
    expect(first).toHaveLength(2);
    await until(async () => (await log.ask('count')) === 3, 5000, 'nest and two children to start');
    nest.tell('exit', 9);

    await until(async () => (await log.ask('count')) === 8, 5000, 'the children stopped and started again');
    const seen = (await log.ask('seen')) as string[];
    expect(seen.slice(0, 3).sort()).toEqual(['start c1', 'start c2', 'start nest']);
    expect(seen.slice(3).sort()).toEqual(['start c1', 'start c2', 'start nest', 'stop c1', 'stop c2']);
    const second = await nest.ask('children');
    expect(second.map((c) => c.id)).not.toEqual(first.map((c) => c.id));
    for (const child of second) expect(await child.ask('get')).toBe(0);
    const onTwo = (await system.inspect()).filter((x) => x.thread === 2).map((x) => x.id);
    expect(onTwo.sort()).toEqual(second.map((c) => c.id).sort());
    await system.shutdown({ drainMs: 2000 });
  });

  it('W7: the pool regains its size; an actor that kills its thread on every start is given up after its restart limit', async () => {
    const system = await createTestSystem({ threads: 4 });
    const letters: DeadLetter[] = [];
    system.deadLetters.subscribe((l) => letters.push(l));
    const counter = system.spawn(Counter, { start: 1 }, { placement: { thread: 3 } });
    const doomed = system.spawn(ExitOnStart, undefined, { placement: { thread: 2 }, maxRestarts: 2 });
    // First start and two restarts: three deaths, then its limit; the thread itself lives on.
    await until(() => system.stats().threads[2]!.replaced === 3 && system.stats().threads.every((t) => t.alive), 10_000, 'three replacements');
    await until(async () => (await system.inspect()).filter((a) => a.thread === 2).length === 0, 5000, 'the doomed actor to be given up');
    // Gone for good: a tell to it is refused at the call, as for any stopped actor.
    expect(() => doomed.tell('ping')).toThrow(ActorStoppedError);
    expect(letters.filter((l) => l.recipient === doomed.id && l.message.type === 'ping')).toEqual([]);
    const placed = system.spawn(Counter, { start: 2 }, { placement: { thread: 2 } });
    expect(await placed.ask('get')).toBe(2);
    expect(await counter.ask('get')).toBe(1);
    expect(system.stats().threads.map((t) => t.replaced)).toEqual([0, 0, 3, 0, 0]);
    await system.shutdown({ drainMs: 2000 });
  });

  it('K7: the dedup table survives its thread: an id sent before the death is a duplicate after the restart', async () => {
    const system = await createTestSystem({ threads: 2 });
    const recorder = system.spawn(Recorder, undefined, { placement: { thread: 1 }, delivery: { dedupWindowMs: 120_000 } });
    const exiter = system.spawn(Exiter, undefined, { placement: { thread: 1 } });
    expect(await recorder.send('record', 'x', { messageId: 'X' })).toEqual({ duplicate: false });
    expect(await recorder.ask('seen')).toEqual(['x']);
    exiter.tell('exit', { code: 2, spinMs: 0 });
    await until(() => system.stats().threads[1]!.replaced === 1 && system.stats().threads[1]!.alive, 5000, 'the replacement');
    expect(await recorder.send('record', 'x again', { messageId: 'X' })).toEqual({ duplicate: true });
    expect(await recorder.send('record', 'y', { messageId: 'Y' })).toEqual({ duplicate: false });
    expect(await recorder.ask('seen')).toEqual(['y']); // a fresh instance: state anew, ids kept
    await system.shutdown({ drainMs: 2000 });
  });

  it('ack mode with keepCopies: what the dead thread held goes again to the restarted actor, flagged redelivered, and the books balance', async () => {
    const system = await createTestSystem({ threads: 2 });
    const letters: DeadLetter[] = [];
    system.deadLetters.subscribe((l) => letters.push(l));
    const log = system.spawn(Recorder, undefined, { placement: { thread: 0 } });
    const worker = system.spawn(AckWorker, log, { placement: { thread: 1 }, delivery: { mode: 'at-least-once', keepCopies: true } });
    for (let n = 1; n <= 20; n++) worker.tell('job', n);
    await until(() => system.stats().threads[1]!.replaced === 1 && system.stats().threads[1]!.alive, 5000, 'the replacement');
    await until(async () => new Set(((await log.ask('seen')) as { n: number }[]).map((x) => x.n)).size === 20, 5000, 'every job handled');
    const seen = (await log.ask('seen')) as { n: number; redelivered: boolean }[];
    expect(seen.find((x) => x.n === 5)).toEqual({ n: 5, redelivered: true });
    // Jobs handled before the death whose work had not left the thread may run again (at least once).
    expect(seen.length).toBeGreaterThanOrEqual(20);
    expect(letters.filter((l) => l.reason === 'thread-crash')).toEqual([]);
    await until(() => {
      const s = system.stats();
      return s.accepted === s.handled + (s.deadLetters - s.lateReplies) + s.duplicates;
    }, 5000, 'the books to balance');
    await system.shutdown({ drainMs: 2000 });
  });

  it('with a spare thread, the spare takes the place of the dead thread (and a new spare its place), twice over', async () => {
    const system = await createTestSystem({ threads: 2, spareThread: true });
    const counter = system.spawn(Counter, { start: 7 }, { placement: { thread: 1 } });
    const exiter = system.spawn(Exiter, undefined, { placement: { thread: 1 } });
    const threads = new Set([await counter.ask('thread')]);
    expect(system.stats().spare?.used).toBe(0);
    for (let kill = 1; kill <= 2; kill++) {
      await until(() => system.stats().spare?.ready === true, 10_000, 'the spare to be ready');
      exiter.tell('exit', { code: 3, spinMs: 0 });
      await until(() => system.stats().threads[1]!.replaced === kill && system.stats().threads[1]!.alive, 5000, `replacement ${kill}`);
      expect(system.stats().spare?.used).toBe(kill); // the spare took the place, not a fresh worker
      counter.tell('add', kill);
      expect(await counter.ask('get')).toBe(7 + kill);
      threads.add(await counter.ask('thread'));
    }
    expect(threads.size).toBe(3);
    const report = await system.shutdown({ drainMs: 2000 });
    expect(report.forced).toBe(0);
  });

  it('an actor with a backoff waits it out before it starts again on the replacement (its messages wait too)', async () => {
    const system = await createTestSystem({ threads: 2 });
    const counter = system.spawn(Counter, { start: 1 }, { placement: { thread: 1 }, backoff: { minMs: 200, maxMs: 200, jitter: 0 } });
    const exiter = system.spawn(Exiter, undefined, { placement: { thread: 1 } });
    expect(await counter.ask('get')).toBe(1);
    exiter.tell('exit', { code: 3, spinMs: 0 });
    await until(() => system.stats().threads[1]!.replaced === 1 && system.stats().threads[1]!.alive, 5000, 'the replacement');
    let answered = false;
    const answer = counter.ask('get', undefined, { timeoutMs: 60_000 }).then((n) => ((answered = true), n));
    expect(await system.spawn(Counter, { start: 2 }, { placement: { thread: 1 } }).ask('get')).toBe(2); // the thread runs
    expect(answered).toBe(false); // main's manual clock has not moved: still backing off
    system.clock.advance(200);
    expect(await answer).toBe(1);
    await system.shutdown({ drainMs: 2000 });
  });

  it('Z4: an actor still backing off after its thread died is given up at shutdown: what waits for it is a dead letter, the books balance', async () => {
    const system = await createTestSystem({ threads: 2 });
    const letters: DeadLetter[] = [];
    system.deadLetters.subscribe((l) => letters.push(l));
    const counter = system.spawn(Counter, { start: 1 }, { placement: { thread: 1 }, backoff: { minMs: 200, maxMs: 200, jitter: 0 } });
    const exiter = system.spawn(Exiter, undefined, { placement: { thread: 1 } });
    expect(await counter.ask('get')).toBe(1);
    exiter.tell('exit', { code: 3, spinMs: 0 });
    await until(() => system.stats().threads[1]!.replaced === 1 && system.stats().threads[1]!.alive, 5000, 'the replacement');
    counter.tell('add', 5); // held by the replacement while the actor backs off (the clock never moves)
    const asked = counter.ask('get', undefined, { timeoutMs: 60_000 }).then(
      () => 'answered',
      (error: unknown) => error,
    );
    const report = await system.shutdown({ drainMs: 300 });
    expect(await asked).toBeInstanceOf(ActorStoppedError);
    expect(report.processed + report.deadLettered).toBe(system.stats().accepted);
    expect(letters.filter((l) => l.message.type === 'add').length).toBe(1);
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
    await until(() => system.stats().threads[1]!.replaced === 1, 5000, 'thread 1 to die');
    // Now let the holder on thread 2 answer the asker, whose instance died with thread 1.
    await until(async () => (await gate.ask('open', 'too late for thread 1')) === true, 5000, 'the hold to be answered');
    await until(() => letters.some((l) => l.reason === 'late-reply'), 5000, 'a late-reply dead letter');
    counter.tell('add', 2);
    expect(await counter.ask('get')).toBe(2); // thread 2's scheduler is still running
    await system.shutdown({ drainMs: 2000 });
  });
});
