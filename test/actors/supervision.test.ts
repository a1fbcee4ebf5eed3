// SEMANTICS.md S1–S3, S5, S6, R1, R2 and L4: parent-driven supervision. The supervisor runs on
// the main thread (its restart window on the test system's manual clock) with children spread
// over the workers; everything they log goes to a Recorder on the main thread, so the log's
// order is the order in which the supervisor saw things happen.

import { describe, expect, it } from 'vitest';
import { ActorInitializationError, ActorStoppedError, type ActorRef, type SpawnOptions } from 'troupe';
import { Ordered, Recorder, RootSup, Sup, SupChild } from '../fixtures/actors.js';
import { useTestSystem } from '../support/system.js';
import { until } from '../support/wait.js';

const systems = useTestSystem();

type Child = ActorRef<typeof SupChild>;

async function supervisor(supervision: SpawnOptions['supervision'], children: { name: string; restart?: 'permanent' | 'transient' | 'temporary'; thread?: number }[]) {
  const system = await systems.start({ threads: 2 });
  const log = system.spawn(Recorder, undefined, { placement: { thread: 0 } });
  const sup = system.spawn(Sup, { log }, { placement: { thread: 0 }, supervision });
  const refs: Child[] = [];
  for (const c of children) refs.push((await sup.ask('add', c)) as Child);
  for (const ref of refs) await ref.ask('get'); // started
  const seen = async () => (await log.ask('seen')) as string[];
  const mark = (await seen()).length;
  /** What was logged since the children started, for the given prefixes. */
  const since = async (...prefixes: string[]) => (await seen()).slice(mark).filter((l) => prefixes.some((p) => l.startsWith(p)));
  return { system, log, sup, refs, seen, since };
}

const ABC = [
  { name: 'A', thread: 1 },
  { name: 'B', thread: 2 },
  { name: 'C' }, // on the supervisor's own thread
];

describe('supervision strategies', () => {
  it('S1: one-for-one restarts only the failed child; the others keep their state', async () => {
    const { refs, since } = await supervisor({ strategy: 'one-for-one' }, ABC);
    const [a, b, c] = refs as [Child, Child, Child];
    for (const [ref, n] of [[a, 2], [b, 1], [c, 3]] as const) for (let i = 0; i < n; i++) await ref.ask('inc');
    b.tell('fail', 'Db');
    await until(async () => (await since('start B')).length === 1, 5000, 'B restarted');
    expect([await a.ask('get'), await b.ask('get'), await c.ask('get')]).toEqual([2, 0, 3]);
    expect(await since('stop', 'start', 'restart')).toEqual(['restart B', 'start B']);
  });

  it('S1: a child that fails while its supervisor is in an async handler is restarted once that handler ends, here or on another thread', async () => {
    const { sup, refs, since } = await supervisor({ strategy: 'one-for-one' }, [{ name: 'A', thread: 1 }, { name: 'C' }]);
    const [a, c] = refs as [Child, Child];
    await a.ask('inc');
    const napping = sup.ask('nap', 300);
    a.tell('fail', 'Da');
    c.tell('fail', 'Dc');
    await napping;
    await until(async () => (await since('start')).length === 2, 5000, 'both restarted');
    expect((await since('restart')).sort()).toEqual(['restart A', 'restart C']);
    expect(await a.ask('get')).toBe(0);
  });

  it('S2: one-for-all halts the others newest first, then starts all in start order', async () => {
    const { refs, since } = await supervisor({ strategy: 'one-for-all' }, ABC);
    const [a, b, c] = refs as [Child, Child, Child];
    await a.ask('inc');
    b.tell('fail', 'Db');
    await until(async () => (await since('start C')).length === 1, 5000, 'all restarted');
    expect(await since('stop', 'start')).toEqual(['stop C', 'stop A', 'start A', 'start B', 'start C']);
    expect([await a.ask('get'), await b.ask('get'), await c.ask('get')]).toEqual([0, 0, 0]);
  });

  it('S3: rest-for-one restarts the failed child and those started after it; earlier ones are untouched', async () => {
    const { refs, since } = await supervisor({ strategy: 'rest-for-one' }, ABC);
    const [a, b] = refs as [Child, Child, Child];
    await a.ask('inc');
    b.tell('fail', 'Db');
    await until(async () => (await since('start C')).length === 1, 5000, 'B and C restarted');
    expect(await since('stop', 'start')).toEqual(['stop C', 'start B', 'start C']);
    expect(await a.ask('get')).toBe(1);
  });

  it('S5: a temporary child is not restarted; a transient one is, after a failure', async () => {
    const { refs, since } = await supervisor({}, [
      { name: 'T', restart: 'temporary', thread: 1 },
      { name: 'R', restart: 'transient', thread: 2 },
    ]);
    const [temporary, transient] = refs as [Child, Child];
    temporary.tell('fail', 'Db');
    transient.tell('fail', 'Db');
    await until(async () => (await since('stop T', 'start R')).length === 2, 5000, 'T stopped and R restarted');
    await until(
      () => temporary.ask('get').then(() => false, (error: unknown) => error instanceof ActorStoppedError),
      5000,
      'T gone',
    );
    expect(await transient.ask('get')).toBe(0);
  });

  it('S5: after a normal exit, a permanent child is restarted; transient and temporary ones are not', async () => {
    const { refs, since } = await supervisor({}, [
      { name: 'P', thread: 1 },
      { name: 'R', restart: 'transient', thread: 2 },
      { name: 'T', restart: 'temporary' },
    ]);
    const [permanent, transient, temporary] = refs as [Child, Child, Child];
    for (const c of refs) await c.ask('inc');
    for (const c of refs) c.tell('done'); // each stops itself, normally
    await until(async () => (await since('start P', 'stop R', 'stop T')).length === 3, 5000, 'P restarted, R and T stopped');
    expect(await permanent.ask('get')).toBe(0); // a new incarnation
    for (const gone of [transient, temporary]) await expect(gone.ask('get')).rejects.toBeInstanceOf(ActorStoppedError);
    expect((await since('stop', 'start', 'restart')).sort()).toEqual(['restart P', 'start P', 'stop R', 'stop T']);
  });

  it('S5: under one-for-all, a temporary sibling is stopped, not restarted', async () => {
    const { refs, since } = await supervisor({ strategy: 'one-for-all' }, [
      { name: 'T', restart: 'temporary', thread: 1 },
      { name: 'P', thread: 2 },
    ]);
    const [temporary, permanent] = refs as [Child, Child];
    permanent.tell('fail', 'Db');
    await until(async () => (await since('start P')).length === 1, 5000, 'P restarted');
    expect(await since('start')).toEqual(['start P']);
    await expect(temporary.ask('get')).rejects.toBeInstanceOf(ActorStoppedError);
  });

  it('S6: the decider maps errors to resume (state kept), restart (state reset) and escalate (cause kept)', async () => {
    const decide = (error: Error) => (error.name === 'Validation' ? 'resume' : error.name === 'Fatal' ? 'escalate' : 'restart');
    const { sup, refs, since } = await supervisor({ decide }, [{ name: 'A', thread: 1 }]);
    const [a] = refs as [Child];
    await a.ask('inc');
    a.tell('fail', 'Validation');
    expect(await a.ask('inc')).toBe(2); // resumed: the state survived
    a.tell('fail', 'Db');
    await until(async () => (await since('start A')).length === 1, 5000, 'A restarted');
    expect(await a.ask('inc')).toBe(1); // restarted: the state is new
    a.tell('fail', 'Fatal');
    // Escalated: the supervisor fails with the Fatal error as cause and restarts (it has no
    // supervising parent); a restart does not keep its children.
    await until(async () => (await since('restart sup')).length === 1, 5000, 'the supervisor restarted');
    expect(await since('restart sup')).toEqual(['restart sup (cause Fatal)']);
    await until(() => a.ask('get').then(() => false, (error: unknown) => error instanceof ActorStoppedError), 5000, 'A stopped');
    expect(await sup.ask('ping')).toBe('pong');
  });

  it('L4: a parent restart stops its children first', async () => {
    const decide = () => 'escalate' as const;
    const { refs, since } = await supervisor({ decide }, [
      { name: 'A', thread: 1 },
      { name: 'B', thread: 2 },
    ]);
    const [a] = refs as [Child, Child];
    a.tell('fail', 'Db');
    await until(async () => (await since('restart sup')).length === 1, 5000, 'the supervisor restarted');
    // A was stopped when the supervisor escalated (the failed child goes first), then B with the restart.
    expect(await since('stop', 'restart sup')).toEqual(['stop A', 'stop B', 'restart sup (cause Db)']);
  });
});

describe('ordered start of static children', () => {
  it('S7: children start one at a time, in order; one that fails to start stops those before it, newest first, and the start rejects', async () => {
    const system = await systems.start({ threads: 2 });
    const log = system.spawn(Recorder, undefined, { placement: { thread: 0 } });
    const children = [{ name: 'a' }, { name: 'b' }, { name: 'c', fails: true }, { name: 'd' }];
    const started = system.start(Ordered, { log, children }, { placement: { thread: 1 } });
    const error = await started.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ActorInitializationError);
    expect(((error as Error).cause as Error).message).toMatch(/c cannot start/);
    await until(async () => (await log.ask('count')) === 4, 5000, 'two starts and two stops');
    expect(await log.ask('seen')).toEqual(['start a', 'start b', 'stop b', 'stop a']); // d never started
    expect((await system.inspect()).filter((a) => a.thread === 1)).toEqual([]);
  });

  it('S7: a start that succeeds resolves once every child, here or on another thread, has started', async () => {
    const system = await systems.start({ threads: 2 });
    const log = system.spawn(Recorder, undefined, { placement: { thread: 0 } });
    const sup = await system.start(Ordered, { log, children: [{ name: 'a' }, { name: 'b', thread: 2 }, { name: 'c' }] }, { placement: { thread: 1 } });
    const ids = await sup.ask('children');
    expect(ids).toHaveLength(3);
    await until(async () => (await log.ask('count')) === 3, 5000, 'three starts');
    expect(((await log.ask('seen')) as string[]).sort()).toEqual(['start a', 'start b', 'start c']);
    const placed = await system.inspect();
    expect(ids.map((id) => placed.find((a) => a.id === id)?.thread)).toEqual([1, 2, 1]);
  });
});

describe('dynamic children', () => {
  it('S4: children added at run time restart on their own and are not recreated when their supervisor restarts', async () => {
    const decide = (error: Error) => (error.name === 'Fatal' ? 'escalate' : 'restart');
    const { sup, since } = await supervisor({ decide }, []);
    const children: Child[] = [];
    for (let i = 0; i < 20; i++) children.push((await sup.ask('add', { name: `d${i}`, thread: 1 + (i % 2) })) as Child);
    for (const c of children) await c.ask('inc');
    children[7]!.tell('fail', 'Db');
    await until(async () => (await since('start d7')).length === 2, 5000, 'd7 restarted');
    expect(await since('restart')).toEqual(['restart d7']); // only d7, once
    expect(await children[8]!.ask('get')).toBe(1);
    children[3]!.tell('fail', 'Fatal'); // escalates: the supervisor restarts, its children go
    await until(async () => (await since('restart sup')).length === 1, 5000, 'the supervisor restarted');
    const gone = await Promise.all(children.map((c) => c.ask('get').then(() => false, (error: unknown) => error instanceof ActorStoppedError)));
    expect(gone.every(Boolean)).toBe(true);
    expect((await since('start d')).length).toBe(20 + 1); // none started again after the restart
  });
});

describe('restart limits', () => {
  it('R1: past maxRestarts within the window the supervisor stops its children and then itself', async () => {
    const { system, sup, refs, since } = await supervisor({ maxRestarts: 3, withinMs: 5000 }, [
      { name: 'A', thread: 1 },
      { name: 'B', thread: 2 },
    ]);
    const [a] = refs as [Child, Child];
    for (let i = 1; i <= 3; i++) {
      a.tell('fail', 'Db');
      await until(async () => (await since('start A')).length === i, 5000, `restart ${i}`);
      system.clock.advance(100);
    }
    a.tell('fail', 'Db');
    await until(() => sup.ask('ping').then(() => false, (error: unknown) => error instanceof ActorStoppedError), 5000, 'the supervisor stopped');
    expect(await since('stop')).toEqual(['stop B', 'stop A']); // newest first
  });

  it('R1: failures spread out over time stay within the limit', async () => {
    const { system, sup, refs, since } = await supervisor({ maxRestarts: 3, withinMs: 5000 }, [{ name: 'A', thread: 1 }]);
    const [a] = refs as [Child];
    for (let i = 1; i <= 15; i++) {
      a.tell('fail', 'Db');
      await until(async () => (await since('start A')).length === i, 5000, `restart ${i}`);
      system.clock.advance(2000);
    }
    expect(await sup.ask('ping')).toBe('pong');
    expect(await a.ask('inc')).toBe(1);
  });

  it('R2: nested limits multiply: 2 over 2 gives exactly 9 starts of the grandchild, then the root stops', async () => {
    const system = await systems.start({ threads: 2 });
    const log = system.spawn(Recorder, undefined, { placement: { thread: 0 } });
    const root = system.spawn(RootSup, log, { placement: { thread: 0 } });
    await until(() => root.ask('ping').then(() => false, (error: unknown) => error instanceof ActorStoppedError), 10_000, 'the root to stop');
    await until(async () => (await log.ask('count')) >= 9, 5000, 'nine starts logged');
    expect(((await log.ask('seen')) as string[]).filter((l) => l === 'start grandchild')).toHaveLength(9);
  });
});
