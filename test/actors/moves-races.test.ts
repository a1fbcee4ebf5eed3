// Moves racing what else happens to the actor: a record too large to send, stops, watches in
// flight both ways, a thread's death, the new thread dying during the fence (SEMANTICS V1).

import { describe, expect, it } from 'vitest';
import { ActorStoppedError, type ActorRef, type ActorSystem } from 'troupe';
import { Exiter, Linked, OrderChecker, Recorder, Sup, Watcher, type SupChild } from '../fixtures/actors.js';
import { AckMover, Blaster, Keeper, Spinner } from '../fixtures/movers.js';
import { fileGate } from '../support/gate.js';
import { useSystem } from '../support/system.js';
import { until } from '../support/wait.js';

const systems = useSystem();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const logOf = async (ref: ActorRef<typeof Keeper>): Promise<string[]> => (await ref.ask('log')) as string[];
/**
 * Waits until a move to thread 2, while that thread spins, is under way: its fence round waits
 * unread in thread 2's rings (nothing else is sent there then). Not inspect(): it asks every
 * thread, and the spinning one answers nothing.
 */
const fenceWaiting = (system: { stats(): { threads: readonly { ringBytesUsed: number }[] } }): Promise<void> =>
  until(() => system.stats().threads[2]!.ringBytesUsed > 0, 5000, 'the move under way');

/**
 * Actor `a` on thread 1, trapping exits and linked to `failing` (thread 3) and `hearing` (on
 * `hearingThread`), all trapping exits and telling a Recorder on thread 3 what they hear.
 */
async function linkedTrio(system: ActorSystem, hearingThread: number) {
  const log = system.spawn(Recorder, undefined, { placement: { thread: 3 } });
  const seen = async (): Promise<unknown[]> => (await log.ask('seen')) as unknown[];
  const a = system.spawn(Linked, { name: 'a', log }, { placement: { thread: 1 } });
  const failing = system.spawn(Linked, { name: 'failing', log }, { placement: { thread: 3 } });
  const hearing = system.spawn(Linked, { name: 'hearing', log }, { placement: { thread: hearingThread } });
  for (const x of [a, failing, hearing]) await x.ask('trap');
  await a.ask('link', failing);
  await a.ask('link', hearing);
  return { log, seen, a, failing, hearing };
}

describe('moves racing other events (V1)', () => {
  it('V1: a state too large to send is refused up front; the actor stays, working', async () => {
    const system = await systems.start({ threads: 2, maxMessageBytes: 4096 });
    const keeper = system.spawn(Keeper, { start: 1 }, { placement: { thread: 1 } });
    keeper.tell('note', 'x'.repeat(1500));
    keeper.tell('note', 'y'.repeat(1500));
    await expect(system.move(keeper, 2)).rejects.toMatchObject({ code: 'ERR_ACTOR_PINNED', message: expect.stringContaining('maxMessageBytes') });
    expect(await keeper.ask('sum')).toBe(1);
    await system.stop(keeper);
  });

  it('V1: a backlog larger than one record follows in several, in order, none lost', async () => {
    const system = await systems.start({ threads: 2, maxMessageBytes: 8192 });
    const checker = system.spawn(OrderChecker, undefined, { placement: { thread: 1 } });
    await checker.ask('report');
    const moving = system.move(checker, 2);
    for (let i = 1; i <= 2000; i++) checker.tell('seq', { from: 'main', i }); // queued at the old thread during the fence
    await moving;
    const report = (await checker.ask('report')) as { counts: Record<string, number>; violations: number };
    expect(report).toEqual({ counts: { main: 2000 }, violations: 0 });
    expect(system.stats().deadLetters).toBe(0);
  });

  it('V1: a graceful stop queued before a move ends the actor; the move says it stopped', async () => {
    const system = await systems.start({ threads: 2 });
    const keeper = system.spawn(Keeper, { start: 0 }, { placement: { thread: 1 } });
    keeper.tell('slow', 200);
    await sleep(20);
    const stopped = system.stop(keeper, { graceful: true });
    await expect(system.move(keeper, 2)).rejects.toMatchObject({ code: 'ERR_ACTOR_STOPPED' });
    await stopped;
  });

  it('V1: once stopped on the thread it moved to, late tells are dead letters and a watch says noproc', async () => {
    const system = await systems.start({ threads: 2 });
    const watcher = system.spawn(Keeper, { start: 0 }, { placement: { thread: 1 } });
    const blaster = system.spawn(Blaster, { name: 'b' }, { placement: { thread: 1 } });
    const target = system.spawn(OrderChecker, undefined, { placement: { thread: 1 } });
    await system.move(target, 2);
    await blaster.ask('blast', { target, n: 10 }); // thread 1's refs learn thread 2
    blaster.tell('blast', { target, n: 20000 });
    await sleep(5);
    await system.stop(target);
    await watcher.ask('watch', target);
    await until(async () => (await logOf(watcher)).includes(`terminated ${target.id} noproc`), 5000, 'noproc');
    await until(async () => {
      const s = system.stats();
      return s.accepted === s.handled + s.deadLetters;
    }, 5000, 'every message handled or a dead letter');
  });

  it('V1: a watcher on its way to another thread still hears that what it watches ended', async () => {
    const system = await systems.start({ threads: 3 });
    const x = system.spawn(Keeper, { start: 0 }, { placement: { thread: 2 } });
    const w = system.spawn(Keeper, { start: 0 }, { placement: { thread: 1 } });
    const spinner = system.spawn(Spinner, undefined, { placement: { thread: 3 } });
    await w.ask('watch', x);
    await until(async () => (await system.inspect()).find((a) => a.id === x.id)?.watchers === 1, 5000, 'the watch');
    spinner.tell('spin', 500); // thread 3 reads nothing meanwhile: the fence round waits for it
    await sleep(50);
    const moving = system.move(w, 3);
    await sleep(100);
    await system.stop(x); // ends while w is on its way
    await moving;
    await until(async () => (await logOf(w)).includes(`terminated ${x.id} normal`), 5000, 'terminated at the watcher');
  });

  it('V1: the death of the thread a watched actor left does not end the watch', async () => {
    const system = await systems.start({ threads: 3 });
    const x = system.spawn(Keeper, { start: 0 }, { placement: { thread: 1 } });
    const exiter = system.spawn(Exiter, undefined, { placement: { thread: 1 } });
    const w = system.spawn(Keeper, { start: 0 }, { placement: { thread: 3 } });
    await w.ask('watch', x);
    await until(async () => (await system.inspect()).find((a) => a.id === x.id)?.watchers === 1, 5000, 'the watch');
    await system.move(x, 2);
    exiter.tell('exit', { code: 3, spinMs: 0 });
    await until(async () => system.stats().threads[1]!.replaced === 1, 5000, 'thread 1 replaced');
    await sleep(200);
    expect(await x.ask('sum')).toBe(0);
    expect((await logOf(w)).filter((l) => l.startsWith('terminated'))).toEqual([]);
    await system.stop(x);
    await until(async () => (await logOf(w)).includes(`terminated ${x.id} normal`), 5000, 'terminated once it stops');
  });

  it('V2: the new thread dying around the move: the move is undone, or done and the actor restarts there; never half', async () => {
    const system = await systems.start({ threads: 2 });
    const x = system.spawn(Keeper, { start: 5 }, { placement: { thread: 1 } });
    const exiter = system.spawn(Exiter, undefined, { placement: { thread: 2 } });
    const probe = system.spawn(Recorder, undefined, { placement: { thread: 1 } });
    await x.ask('add', 10);
    const gate = fileGate();
    exiter.tell('exit', { code: 3, spinMs: 20_000, gate: gate.path, to: probe });
    await until(async () => ((await probe.ask('seen')) as unknown[]).includes('exiting'), 5000, 'thread 2 spinning');
    const moving = system.move(x, 2).then(
      () => 'moved',
      (error: { code?: string; message: string }) => (error.message.includes('stays on thread') ? 'undone' : `${error.code}`),
    );
    for (let i = 0; i < 100; i++) x.tell('add', 1);
    await fenceWaiting(system);
    gate.open(); // thread 2 dies with the move under way
    const outcome = await moving;
    await until(async () => system.stats().threads[2]!.replaced === 1, 5000, 'thread 2 replaced');
    // Undone: it stayed with its state and every message. Done: it restarted on the replacement (W2).
    const sum = (await x.ask('sum')) as number;
    // (ERR_ACTOR_FAILED without 'stays': it had left when its new thread died, and started again there.)
    if (outcome === 'undone') expect(sum).toBe(115);
    else expect(sum === 115 || sum >= 5).toBe(true);
    await until(async () => {
      const s = system.stats();
      return s.accepted === s.handled + s.deadLetters;
    }, 5000, 'every message handled or a dead letter');
    gate.dispose();
  });

  it('V2: a linked and watched actor whose move is under way when its new thread dies: undone, its links and watches hold (its peers and watchers, on its thread and another, hear no thread-exit)', async () => {
    const system = await systems.start({ threads: 3 });
    // Peers and watchers on its own thread and on another.
    const { log, seen, a, failing } = await linkedTrio(system, 1);
    for (const thread of [1, 3]) await system.spawn(Watcher, { to: log }, { placement: { thread } }).ask('watch', a);
    await until(async () => (await system.inspect()).find((x) => x.id === a.id)?.watchers === 2, 5000, 'the watches');
    const exiter = system.spawn(Exiter, undefined, { placement: { thread: 2 } });
    const gate = fileGate();
    exiter.tell('exit', { code: 3, spinMs: 20_000, gate: gate.path, to: log });
    await until(async () => (await seen()).includes('exiting'), 5000, 'thread 2 spinning');
    const moving = system.move(a, 2).then(
      () => 'moved',
      (error: Error) => (error.message.includes('stays on thread') ? 'undone' : error.message),
    );
    await fenceWaiting(system);
    gate.open(); // thread 2 dies with the move's fence unanswered: it is undone
    expect(await moving).toBe('undone');
    await until(async () => system.stats().threads[2]!.replaced === 1, 5000, 'thread 2 replaced');
    expect((await system.inspect()).find((x) => x.id === a.id)).toMatchObject({ thread: 1, status: 'running', watchers: 2 });
    failing.tell('fail');
    await until(async () => (await seen()).includes('exit a <- failed'), 5000, "the peer's exit at the actor that stayed");
    a.tell('fail');
    await until(async () => (await seen()).includes('exit hearing <- failed'), 5000, 'its exit at its other peer');
    await system.stop(a);
    await until(async () => (await seen()).filter((l) => typeof l === 'object').length === 2, 5000, 'its end at its watchers');
    const heard = await seen();
    expect(heard.filter((l) => typeof l === 'string' && l.endsWith('<- thread-exit'))).toEqual([]);
    expect(heard.filter((l) => typeof l === 'object')).toEqual(Array(2).fill({ terminated: a.id, reason: 'normal' }));
    gate.dispose();
  });

  it('V2: a linked actor whose move races its new thread\'s death: undone, its links hold; done, its peers hear thread-exit once and it starts again unlinked', async () => {
    const system = await systems.start({ threads: 3 });
    const trio = await linkedTrio(system, 3);
    const { a, failing, hearing } = trio;
    const seen = async (): Promise<string[]> => (await trio.seen()) as string[]; // only its Linked actors tell the log
    const exiter = system.spawn(Exiter, undefined, { placement: { thread: 2 } });
    exiter.tell('exit', { code: 3, spinMs: 300 });
    await sleep(50);
    const outcome = await system.move(a, 2).then(
      () => 'moved',
      (error: Error) => (error.message.includes('stays on thread') ? 'undone' : error.message),
    );
    await until(async () => system.stats().threads[2]!.replaced === 1, 5000, 'thread 2 replaced');
    await until(async () => (await system.inspect()).some((x) => x.id === a.id && x.status === 'running'), 5000, 'the actor running');
    expect(await a.ask('ping')).toBe('pong');
    if (outcome === 'undone') {
      expect((await system.inspect()).find((x) => x.id === a.id)!.thread).toBe(1);
      failing.tell('fail');
      await until(async () => (await seen()).includes('exit a <- failed'), 5000, "the peer's exit at the actor that stayed");
      a.tell('fail');
      await until(async () => (await seen()).includes('exit hearing <- failed'), 5000, 'its exit at its other peer');
    } else {
      expect(outcome).toBe('moved');
      // It died with its new thread: each peer heard so once, and it started again there.
      await until(async () => (await seen()).filter((l) => l.endsWith('<- thread-exit')).length === 2, 5000, 'thread-exit at both peers');
      expect((await system.inspect()).find((x) => x.id === a.id)!.thread).toBe(2);
      failing.tell('fail');
      await until(async () => (await seen()).includes('restart failing'), 5000, 'the peer failed');
      hearing.tell('fail');
      await until(async () => (await seen()).includes('restart hearing'), 5000, 'the other peer failed');
      // An exit either sent it came before these answers from the same threads.
      await a.ask('reach', failing);
      await a.ask('reach', hearing);
      expect((await seen()).filter((l) => l.startsWith('exit a') || l.endsWith('<- thread-exit')).sort()).toEqual(['exit failing <- thread-exit', 'exit hearing <- thread-exit']);
    }
  });

  it("V2 (K7): an actor with dedup that moved off its spawner's thread, started again after its new thread died, still knows the ids it took before and after the move", async () => {
    const system = await systems.start({ threads: 2 });
    const a = system.spawn(AckMover, undefined, { placement: { thread: 0 }, delivery: { dedupWindowMs: 60_000 } }); // on main, by main
    expect(await a.send('rec', 'one', { messageId: 'k-1' })).toEqual({ duplicate: false });
    await system.move(a, 2);
    expect(await a.send('rec', 'two', { messageId: 'k-2' })).toEqual({ duplicate: false });
    system.spawn(Exiter, undefined, { placement: { thread: 2 } }).tell('exit', { code: 3, spinMs: 0 });
    await until(async () => system.stats().threads[2]!.replaced === 1, 5000, 'thread 2 replaced');
    await until(async () => (await system.inspect()).some((x) => x.id === a.id && x.status === 'running'), 5000, 'the actor started again');
    expect(await a.send('rec', 'one again', { messageId: 'k-1' })).toEqual({ duplicate: true });
    expect(await a.send('rec', 'two again', { messageId: 'k-2' })).toEqual({ duplicate: true });
    expect(await a.send('rec', 'three', { messageId: 'k-3' })).toEqual({ duplicate: false });
  });

  it('V2: children that moved with their parent live on when the thread they left dies, and do not outlive their parent', async () => {
    const system = await systems.start({ threads: 3 });
    const log = system.spawn(Recorder, undefined, { placement: { thread: 3 } });
    const sup = system.spawn(Sup, { log }, { placement: { thread: 1 } });
    const exiter = system.spawn(Exiter, undefined, { placement: { thread: 1 } });
    const a = (await sup.ask('add', { name: 'a' })) as ActorRef<typeof SupChild>;
    await a.ask('inc');
    await system.move(sup, 2);
    const seen = async () => (await log.ask('seen')) as string[];
    // The thread they left (and where a was spawned) dies: parent and child live on, together.
    exiter.tell('exit', { code: 3, spinMs: 0 });
    await until(async () => system.stats().threads[1]!.replaced === 1, 5000, 'thread 1 replaced');
    await a.ask('inc');
    expect(await a.ask('get')).toBe(2);
    // Its parent still supervises it, on thread 2.
    a.tell('crash');
    await until(async () => (await seen()).filter((l) => l === 'start a').length === 2, 5000, 'a restarted');
    expect((await system.inspect()).filter((x) => x.id === sup.id || x.id === a.id).map((x) => x.thread)).toEqual([2, 2]);
    // Their thread dies: the parent starts again on the replacement, without the old child. The
    // child's spawn record died with thread 1, and thread 1's replacement took it up: it declares
    // the child gone, so calls to it fail at once instead of waiting for it.
    await a.ask('exit', 3).catch(() => undefined);
    await until(async () => system.stats().threads[2]!.replaced === 1, 5000, 'thread 2 replaced');
    expect(await sup.ask('ping')).toBe('pong');
    expect((await system.inspect()).some((x) => x.id === a.id)).toBe(false);
    await until(() => a.ask('get', undefined, { timeoutMs: 1000 }).then(() => false, (error: unknown) => error instanceof ActorStoppedError), 5000, 'a gone');
    expect(() => a.tell('inc')).toThrow(ActorStoppedError);
  });
});
