import { describe, expect, it } from 'vitest';
import { ActorPinnedError, ActorStoppedError, MailboxFullError, SerializationError, type ActorRef } from 'troupe';
import { Linked, OrderChecker, Recorder, Sup, SupChild, Watcher } from '../fixtures/actors.js';
import { AckMover, Blaster, Keeper } from '../fixtures/movers.js';
import { fileGate, type FileGate } from '../support/gate.js';
import { useSystem } from '../support/system.js';
import { until } from '../support/wait.js';

const systems = useSystem();

type Child = ActorRef<typeof SupChild>;

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('moves between threads (V1, V5)', () => {
  it('V1: a move under load loses and reorders nothing, for senders on every thread', async () => {
    const system = await systems.start({ threads: 3 });
    const checker = system.spawn(OrderChecker, undefined, { placement: { thread: 1 } });
    // Senders on the checker's thread, on other threads, and main itself.
    const blasters = [1, 2, 3].map((thread) => system.spawn(Blaster, { name: `t${thread}` }, { placement: { thread } }));
    const path = [2, 3, 1, 3, 2, 1, 2];
    let mainSent = 0;
    const perBlast = 2000;
    const moves: Promise<void>[] = [];
    for (const to of path) {
      for (const b of blasters) b.tell('blast', { target: checker, n: perBlast });
      moves.push(system.move(checker, to));
      // Main sends while the move is under way, a chunk per event-loop turn.
      for (let c = 0; c < 5; c++) {
        for (let k = 0; k < 400; k++) checker.tell('seq', { from: 'main', i: ++mainSent });
        await turn();
      }
      await moves[moves.length - 1];
    }
    await Promise.all(moves);
    const expected = path.length * perBlast;
    await until(async () => {
      const { counts } = (await checker.ask('report')) as { counts: Record<string, number> };
      return counts.t1 === expected && counts.t2 === expected && counts.t3 === expected && counts.main === mainSent;
    }, 20_000, 'every message');
    const report = (await checker.ask('report')) as { counts: Record<string, number>; violations: number };
    expect(report.violations).toBe(0);
    expect(report.counts).toEqual({ t1: expected, t2: expected, t3: expected, main: mainSent });
    const info = (await system.inspect()).find((a) => a.id === checker.id)!;
    expect(info.thread).toBe(2);
    expect(info.moves).toBe(path.length);
    expect(system.stats().deadLetters).toBe(0);
  });

  it('V1: its topic subscriptions go with it: what is published while it moves reaches it once, in order per publisher, from main and from workers', async () => {
    const system = await systems.start({ threads: 3 });
    const checker = system.spawn(OrderChecker, undefined, { placement: { thread: 1 } });
    // A second subscriber that stays on thread 1: the two share one record per publish there until the first moves.
    const stayer = system.spawn(OrderChecker, undefined, { placement: { thread: 1 } });
    system.subscribe('nums', checker);
    system.subscribe('nums', stayer);
    // Told after the subscriptions went out, in the same rings: they publish knowing of both.
    const publishers = [2, 3].map((thread) => system.spawn(Blaster, { name: `t${thread}` }, { placement: { thread } }));
    const path = [2, 3, 1, 2];
    const perRound = 1500;
    let mainSent = 0;
    for (const to of path) {
      for (const p of publishers) p.tell('publishSeq', { topic: 'nums', n: perRound });
      const moving = system.move(checker, to);
      for (let c = 0; c < 5; c++) {
        for (let k = 0; k < 200; k++) system.publish('nums', 'seq', { from: 'main', i: ++mainSent });
        await turn();
      }
      await moving;
    }
    const expected = { t2: path.length * perRound, t3: path.length * perRound, main: mainSent };
    for (const ref of [checker, stayer]) {
      await until(async () => {
        const { counts } = (await ref.ask('report')) as { counts: Record<string, number> };
        return counts.t2 === expected.t2 && counts.t3 === expected.t3 && counts.main === expected.main;
      }, 20_000, 'every publication');
      expect(await ref.ask('report')).toEqual({ counts: expected, violations: 0 });
    }
    expect((await system.inspect()).find((a) => a.id === checker.id)?.thread).toBe(2);
    expect(system.stats().deadLetters).toBe(0);
  });

  it('V1: state, timers and watches go with it; refs held anywhere follow it', async () => {
    const system = await systems.start({ threads: 2 });
    const probe = system.spawn(Recorder, undefined, { placement: { thread: 2 } });
    const watcher = system.spawn(Watcher, { to: probe }, { placement: { thread: 2 } });
    const keeper = system.spawn(Keeper, { start: 5 }, { placement: { thread: 1 } });
    const watched = system.spawn(Keeper, { start: 0 }, { placement: { thread: 2 } });
    await keeper.ask('add', 10);
    await keeper.ask('watch', watched);
    await watcher.ask('watch', keeper);
    await until(async () => (await system.inspect()).find((a) => a.id === keeper.id)?.watchers === 1, 5000, 'the watch');
    await keeper.ask('later', { ms: 150, line: 'once' });
    await keeper.ask('later', { ms: 40, line: 'tick', every: true, key: 'beat' });
    const before = await keeper.ask('thread');
    await system.move(keeper, 2);
    const after = await keeper.ask('thread');
    expect(after).not.toBe(before);
    expect(await keeper.ask('sum')).toBe(15);
    expect(await keeper.ask('map')).toEqual([['created', 1]]);
    // Its timers run on, once each for 'once', repeatedly for 'beat'.
    await until(async () => {
      const log = (await keeper.ask('log')) as string[];
      return log.includes('once') && log.filter((l) => l === 'tick').length >= 3;
    }, 5000, 'timers after the move');
    expect(((await keeper.ask('log')) as string[]).filter((l) => l === 'once')).toHaveLength(1);
    // What it watches, and who watches it, survive the move.
    await system.stop(watched);
    await until(async () => ((await keeper.ask('log')) as string[]).some((l) => l.startsWith(`terminated ${watched.id}`)), 5000, 'terminated at the moved watcher');
    await system.move(keeper, 1);
    // Counted per thread: out of 1 and into 2, then out of 2 and into 1.
    const stats = system.stats();
    expect(stats.moves).toBe(2);
    expect(stats.threads.map((t) => [t.movedOut, t.movedIn])).toEqual([[0, 0], [1, 1], [1, 1]]);
    expect(system.metricsText()).toContain('troupe_actors_moved_in_total{thread="2"} 1');
    await system.stop(keeper);
    await until(async () => ((await probe.ask('seen')) as unknown[]).some((s) => (s as { terminated?: string }).terminated === keeper.id), 5000, 'terminated from the moved actor');
  });

  it('V1: its state arrives exactly: a -0 in it is still -0 on the new thread, and back', async () => {
    const system = await systems.start({ threads: 2 });
    const keeper = system.spawn(Keeper, { start: -0 }, { placement: { thread: 1 } });
    expect(Object.is(await keeper.ask('sum'), -0)).toBe(true);
    await system.move(keeper, 2);
    expect(Object.is(await keeper.ask('sum'), -0)).toBe(true);
    await system.move(keeper, 1);
    expect(Object.is(await keeper.ask('sum'), -0)).toBe(true);
  });

  it('V1: a timer whose payload could not be carried refuses the move with SerializationError; the actor runs on where it was, its timer kept', async () => {
    const system = await systems.start({ threads: 2 });
    for (const [from, to] of [[1, 2], [0, 1]] as const) {
      const keeper = system.spawn(Keeper, { start: 7 }, { placement: { thread: from } });
      const where = await keeper.ask('thread');
      await keeper.ask('oddLater');
      await expect(system.move(keeper, to)).rejects.toBeInstanceOf(SerializationError);
      expect(await keeper.ask('thread')).toBe(where);
      expect(await keeper.ask('sum')).toBe(7);
      expect(await keeper.ask('cancel', 'odd')).toBe(true); // still there
      await system.move(keeper, to);
      expect(await keeper.ask('thread')).not.toBe(where);
      expect(await keeper.ask('sum')).toBe(7);
    }
  });

  it('V1: links go with it: exits reach it on its new thread from peers on either thread, and its own exits reach them', async () => {
    const system = await systems.start({ threads: 2 });
    const log = system.spawn(Recorder, undefined, { placement: { thread: 2 } });
    const seen = async (): Promise<string[]> => (await log.ask('seen')) as string[];
    const a = system.spawn(Linked, { name: 'a', log }, { placement: { thread: 1 } });
    const there = system.spawn(Linked, { name: 'there', log }, { placement: { thread: 2 } }); // on the thread it moves to
    const here = system.spawn(Linked, { name: 'here', log }, { placement: { thread: 1 } }); // on the thread it leaves
    for (const x of [a, there, here]) await x.ask('trap');
    await a.ask('link', there);
    await a.ask('link', here);
    await system.move(a, 2);
    const info = (await system.inspect()).find((x) => x.id === a.id)!;
    expect([info.thread, info.pinned]).toEqual([2, null]);
    there.tell('fail');
    here.tell('fail');
    await until(async () => (await seen()).filter((l) => l.startsWith('exit a')).length === 2, 5000, 'both exits at the moved actor');
    expect((await seen()).filter((l) => l.startsWith('exit a')).sort()).toEqual(['exit a <- failed', 'exit a <- failed']);
    // Used up by those exits: its own failure now reaches no one.
    await a.ask('link', here);
    await system.move(a, 1);
    a.tell('fail');
    await until(async () => (await seen()).includes('exit here <- failed'), 5000, 'its exit at the peer');
    expect((await seen()).filter((l) => l.startsWith('exit there'))).toEqual([]);
  });

  it('V1: an exit sent to it while it moves, and a link made meanwhile, are neither lost nor doubled', async () => {
    const system = await systems.start({ threads: 2 });
    const log = system.spawn(Recorder, undefined, { placement: { thread: 2 } });
    const seen = async (): Promise<string[]> => (await log.ask('seen')) as string[];
    const a = system.spawn(Linked, { name: 'a', log }, { placement: { thread: 1 } });
    await a.ask('trap');
    for (let round = 0; round < 10; round++) {
      const peer = system.spawn(Linked, { name: `p${round}`, log }, { placement: { thread: 1 + (round % 2) } });
      const late = system.spawn(Linked, { name: `q${round}`, log }, { placement: { thread: 2 - (round % 2) } });
      await peer.ask('trap');
      await late.ask('trap');
      await a.ask('link', peer);
      const to = (round % 2) + 1 === 1 ? 2 : 1;
      // A backlog that follows it in many records: it is on its way for a while.
      for (let i = 0; i < 20_000; i++) a.tell('ping');
      const moving = system.move(a, to);
      peer.tell('fail'); // its exit races the move
      late.tell('link', a); // a link made while it moves
      await moving;
      late.tell('fail');
      await until(async () => {
        const lines = await seen();
        return lines.includes(`restart p${round}`) && lines.includes(`restart q${round}`) && lines.filter((l) => l === 'exit a <- failed').length === 2 * (round + 1);
      }, 5000, `both exits of round ${round}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await seen()).filter((l) => l === 'exit a <- failed')).toHaveLength(20);
  });

  it('V1: an unlink made while it moves holds: its later failure reaches the peer no more', async () => {
    const system = await systems.start({ threads: 2 });
    const log = system.spawn(Recorder, undefined, { placement: { thread: 2 } });
    const seen = async (): Promise<string[]> => (await log.ask('seen')) as string[];
    for (let round = 0; round < 10; round++) {
      const from = 1 + (round % 2);
      const a = system.spawn(Linked, { name: `a${round}`, log }, { placement: { thread: from } });
      const peer = system.spawn(Linked, { name: `u${round}`, log }, { placement: { thread: 3 - from } }); // where it goes
      const kept = system.spawn(Linked, { name: `k${round}`, log }, { placement: { thread: 3 - from } });
      for (const x of [a, peer, kept]) await x.ask('trap');
      await peer.ask('link', a);
      await kept.ask('link', a);
      for (let i = 0; i < 20_000; i++) a.tell('ping'); // it is on its way a while
      let moved = false;
      const moving = system.move(a, 3 - from).then(() => (moved = true));
      // Once it is on its way (its old thread says it is moving), the unlink goes where it goes.
      while (!moved && !(await system.inspect()).some((x) => x.id === a.id && x.status === 'moving'));
      peer.tell('unlink', a);
      await moving;
      // The unlink is done once the peer has handled it (main's ask comes after main's tell): a
      // failure told before that could reach the peer first, from another thread, while still linked.
      await peer.ask('ping');
      a.tell('fail');
      await until(async () => (await seen()).includes(`exit k${round} <- failed`), 5000, `the exit at the peer still linked, round ${round}`);
      await a.ask('reach', peer); // behind the exit it would have sent the unlinked peer
      await new Promise((resolve) => setTimeout(resolve, 50)); // and what the peer would log of it
      expect((await seen()).filter((l) => l.startsWith(`exit u${round}`))).toEqual([]);
    }
  });

  it('V1: what it sent before a move arrives before what it sends after, and asks queued during a move are answered', async () => {
    const system = await systems.start({ threads: 3 });
    const checker = system.spawn(OrderChecker, undefined, { placement: { thread: 3 } });
    const keeper = system.spawn(Keeper, { start: 7 }, { placement: { thread: 1 } });
    const asker = system.spawn(Blaster, { name: 'asker' }, { placement: { thread: 2 } });
    let from = 1;
    for (const to of [2, 1, 2, 3, 1]) {
      keeper.tell('count', { to: checker, from, n: 3000 });
      from += 3000;
      const answers = [asker.ask('askSum', keeper), keeper.ask('sum'), asker.ask('askSum', keeper)];
      await system.move(keeper, to);
      keeper.tell('count', { to: checker, from, n: 3000 });
      from += 3000;
      expect(await Promise.all(answers)).toEqual([7, 7, 7]);
    }
    await until(async () => ((await checker.ask('report')) as { counts: Record<string, number> }).counts.keeper === from - 1, 10_000, 'every count');
    expect(((await checker.ask('report')) as { violations: number }).violations).toBe(0);
  });

  it("V1: an actor on the caller's own thread (main) moves to a worker and back, its state and main's messages in order", async () => {
    const system = await systems.start({ threads: 2 });
    const checker = system.spawn(OrderChecker, undefined, { placement: 'local' });
    let sent = 0;
    for (const to of [1, 0, 2, 0]) {
      for (let i = 0; i < 500; i++) checker.tell('seq', { from: 'main', i: ++sent });
      const moving = system.move(checker, to);
      for (let i = 0; i < 500; i++) checker.tell('seq', { from: 'main', i: ++sent });
      await moving;
      expect((await system.inspect()).find((a) => a.id === checker.id)?.thread).toBe(to);
    }
    expect(await checker.ask('report')).toEqual({ counts: { main: sent }, violations: 0 });
  });

  it('V5: an actor whose state would not arrive unchanged is pinned, and inspect() says why', async () => {
    const system = await systems.start({ threads: 2 });
    const keeper = system.spawn(Keeper, { start: 1 }, { placement: { thread: 1 } });
    await keeper.ask('spoil');
    const refused = system.move(keeper, 2);
    await expect(refused).rejects.toBeInstanceOf(ActorPinnedError);
    await expect(refused).rejects.toMatchObject({ code: 'ERR_ACTOR_PINNED', message: expect.stringContaining('its state.when is an instance of Stamp') });
    expect((await system.inspect()).find((a) => a.id === keeper.id)?.pinned).toContain('Stamp');
    // It stays where it was, and keeps working.
    await keeper.ask('add', 1);
    expect(await keeper.ask('sum')).toBe(2);
    // Children move with their parent, so one placed on another thread pins its parent.
    const log = system.spawn(Recorder, undefined, { placement: { thread: 2 } });
    const parent = system.spawn(Sup, { log }, { placement: { thread: 1 } });
    await parent.ask('add', { name: 'far', thread: 2 });
    await expect(system.move(parent, 2)).rejects.toMatchObject({ code: 'ERR_ACTOR_PINNED', message: expect.stringContaining('a child on another thread') });
  });

  it('V1: children move with their parent, and its supervision with them: strategy, restart window, stop', async () => {
    const system = await systems.start({ threads: 2 });
    const log = system.spawn(Recorder, undefined, { placement: { thread: 2 } });
    const sup = system.spawn(Sup, { log }, { placement: { thread: 1 }, supervision: { strategy: 'one-for-all', maxRestarts: 2, withinMs: 60_000 } });
    const a = (await sup.ask('add', { name: 'a' })) as Child;
    const b = (await sup.ask('add', { name: 'b' })) as Child;
    const seen = async () => (await log.ask('seen')) as string[];
    const since = async (mark: number) => (await seen()).slice(mark).filter((l) => l.startsWith('stop') || l.startsWith('start'));
    // The first restart in its window, decided on thread 1.
    a.tell('crash');
    await until(async () => (await seen()).filter((l) => l === 'start b').length === 2, 5000, 'both restarted');
    await b.ask('inc');
    await b.ask('inc');
    // A child alone does not move: it goes where its parent goes.
    await expect(system.move(b, 2)).rejects.toMatchObject({ code: 'ERR_ACTOR_PINNED', message: expect.stringContaining('moves with its parent') });
    expect((await system.inspect()).find((x) => x.id === b.id)?.pinned).toContain('moves with its parent');
    await system.move(sup, 2);
    const where = async () => {
      const info = await system.inspect();
      return [sup, a, b].map((ref) => info.find((x) => x.id === ref.id)?.thread);
    };
    expect(await where()).toEqual([2, 2, 2]);
    expect(await b.ask('get')).toBe(2);
    expect((await system.inspect()).find((x) => x.id === a.id)?.moves).toBe(1);
    // The second, decided on thread 2 with the same strategy: b halted, then both started in order.
    let mark = (await seen()).length;
    a.tell('crash');
    await until(async () => (await since(mark)).includes('start b'), 5000, 'restarted on thread 2');
    expect(await since(mark)).toEqual(['stop b', 'start a', 'start b']);
    expect(await b.ask('get')).toBe(0);
    // Back to thread 1: the third restart in the window is past the limit counted on both threads,
    // so the supervisor stops its children and fails in turn (with no parent of its own, it stops).
    await system.move(sup, 1);
    expect(await where()).toEqual([1, 1, 1]);
    mark = (await seen()).length;
    a.tell('crash');
    await until(async () => (await since(mark)).includes('stop a'), 5000, 'the supervisor gave up');
    expect(await since(mark)).toEqual(['stop b', 'stop a']);
    // Gone from inspect() first: an ask that reached an actor while it was stopping would be a dead letter of its own.
    await until(async () => !(await system.inspect()).some((x) => [sup.id, a.id, b.id].includes(x.id)), 5000, 'the tree gone');
    await expect(sup.ask('ping')).rejects.toBeInstanceOf(ActorStoppedError);
    for (const ref of [a, b]) await expect(ref.ask('get')).rejects.toBeInstanceOf(ActorStoppedError);
    expect(system.stats().deadLetters).toBe(0);
  });

  it("V1: a parent on the caller's own thread (main) moves to a worker with its children and back; a stop stops them all", async () => {
    const system = await systems.start({ threads: 2 });
    const log = system.spawn(Recorder, undefined, { placement: 'local' });
    const sup = system.spawn(Sup, { log }, { placement: 'local' });
    const a = (await sup.ask('add', { name: 'a' })) as Child;
    const b = (await sup.ask('add', { name: 'b', restart: 'temporary' })) as Child;
    await a.ask('inc');
    const seen = async () => (await log.ask('seen')) as string[];
    await system.move(sup, 1);
    expect((await system.inspect()).filter((x) => [sup.id, a.id, b.id].includes(x.id)).map((x) => x.thread)).toEqual([1, 1, 1]);
    // A temporary child that stops itself leaves its parent's children there (were it still
    // counted, the move back below would be refused: a child that is nowhere pins its parent).
    b.tell('done');
    await until(async () => (await seen()).includes('stop b'), 5000, 'b stopped');
    // One-for-one, decided on thread 1.
    a.tell('crash');
    await until(async () => (await seen()).filter((l) => l === 'start a').length === 2, 5000, 'a restarted');
    await system.move(sup, 0);
    expect((await system.inspect()).filter((x) => [sup.id, a.id].includes(x.id)).map((x) => x.thread)).toEqual([0, 0]);
    await a.ask('inc');
    expect(await a.ask('get')).toBe(1);
    await system.stop(sup);
    expect((await seen()).filter((l) => l.startsWith('stop'))).toEqual(['stop b', 'stop a']);
    expect((await system.inspect()).filter((x) => [sup.id, a.id, b.id].includes(x.id))).toEqual([]);
    expect(system.stats().deadLetters).toBe(0);
  });

  it('V1: a bounded mailbox goes with it: exactly its capacity fits, before and after each move, for senders on its thread, on others and on main', async () => {
    const system = await systems.start({ threads: 2 });
    const capacity = 20;
    const keeper = system.spawn(Keeper, { start: 0 }, { placement: { thread: 1 }, mailbox: { capacity, overflow: 'reject' } });
    const filler = system.spawn(Blaster, { name: 'filler' }, { placement: { thread: 2 } });
    const probe = system.spawn(Recorder, undefined, { placement: { thread: 2 } });
    let holds = 0;
    const gates: FileGate[] = [];
    /** The keeper sits in a handler (nothing leaves its mailbox) until the gate this returns opens. */
    const hold = async (): Promise<FileGate> => {
      const gate = fileGate();
      gates.push(gate);
      keeper.tell('hold', { ms: 20_000, gate: gate.path, to: probe });
      holds++;
      await until(async () => (await probe.ask('count')) === holds, 5000, 'the keeper in its handler');
      return gate;
    };
    const mainFill = (n: number): number => {
      let accepted = 0;
      for (let k = 0; k < n; k++) {
        try {
          keeper.tell('add', 1);
          accepted++;
        } catch (error) {
          if (!(error instanceof MailboxFullError)) throw error;
        }
      }
      return accepted;
    };
    let sum = 0;
    // Refused while the mailbox is full (an ask takes room too): then it is asked again.
    const handled = async (): Promise<boolean> => (await keeper.ask('sum').catch(() => -1)) === sum;
    // On thread 1 (the filler on another thread), then on thread 2 (the filler on its thread), then back.
    for (const to of [2, 1]) {
      let gate = await hold();
      expect(await filler.ask('fill', { target: keeper, n: capacity + 5 })).toBe(capacity);
      expect(mainFill(1)).toBe(0);
      sum += capacity;
      // It moves once the handler ends, with what it holds queued: their room goes with them.
      const moving = system.move(keeper, to);
      gate.open();
      await moving;
      await until(handled, 5000, 'what was queued, handled after the move');
      gate = await hold();
      expect(mainFill(capacity + 5)).toBe(capacity);
      expect(await filler.ask('fill', { target: keeper, n: 1 })).toBe(0);
      sum += capacity;
      gate.open();
      await until(handled, 5000, 'every accepted message');
    }
    expect(system.stats().deadLetters).toBe(0);
    for (const gate of gates) gate.dispose();
  });

  it("V1: a mailbox with back-pressure or drop-oldest goes with it: waiting sends go through after the move, the oldest still gives way", async () => {
    const system = await systems.start({ threads: 2 });
    const probe = system.spawn(Recorder, undefined, { placement: { thread: 2 } });
    const pressed = system.spawn(Keeper, { start: 0 }, { placement: { thread: 1 }, mailbox: { capacity: 5, overflow: 'backpressure' } });
    const dropping = system.spawn(Keeper, { start: 0 }, { placement: { thread: 1 }, mailbox: { capacity: 5, overflow: 'drop-oldest' } });
    const letters: { reason: string; message: { payload: unknown } }[] = [];
    system.deadLetters.subscribe((l) => letters.push(l));
    // Both sit in their handlers until the gate opens, once the test has filled their mailboxes.
    const held = fileGate();
    pressed.tell('hold', { ms: 20_000, gate: held.path, to: probe });
    dropping.tell('hold', { ms: 20_000, gate: held.path, to: probe });
    await until(async () => (await probe.ask('count')) === 2, 5000, 'both in their handlers');
    for (let k = 0; k < 5; k++) pressed.tell('add', 1);
    expect(() => pressed.tell('add', 1)).toThrow(MailboxFullError);
    // Sends wait for room; they are let in on the thread the actor lives on by then.
    const sends = Array.from({ length: 10 }, () => pressed.send('add', 1, { timeoutMs: 20_000 }));
    for (let k = 1; k <= 8; k++) dropping.tell('add', k); // 1, 2 and 3 give way to 6, 7 and 8
    const moves = Promise.all([system.move(pressed, 2), system.move(dropping, 2)]);
    held.open(); // they move once their handlers end
    await moves;
    await Promise.all(sends);
    await until(async () => (await pressed.ask('sum').catch(() => -1)) === 15, 5000, 'every send');
    expect(await dropping.ask('sum')).toBe(4 + 5 + 6 + 7 + 8);
    await until(() => letters.length >= 3, 5000, 'the dropped messages as dead letters');
    expect(letters.map((l) => [l.reason, l.message.payload])).toEqual([['mailbox-full', 1], ['mailbox-full', 2], ['mailbox-full', 3]]);
    // Its capacity holds on the new thread.
    const again = fileGate();
    dropping.tell('hold', { ms: 20_000, gate: again.path, to: probe, then: 'released' });
    await until(async () => (await probe.ask('count')) === 3, 5000, 'in its handler again');
    for (let k = 1; k <= 8; k++) dropping.tell('add', 100);
    again.open();
    // Not asked before its handler ends: an ask would take a place in its mailbox too.
    await until(async () => (await probe.ask('count')) === 4, 5000, 'its handler over');
    expect(await dropping.ask('sum')).toBe(30 + 500);
    expect(letters).toHaveLength(6);
    expect((await system.inspect()).filter((a) => a.thread === 2 && a.name === 'Keeper')).toHaveLength(2);
    held.dispose();
    again.dispose();
  });

  it('V1: a member of a pool moves; the pool routes to it where it lives, in order, and drops it once it stops', async () => {
    const system = await systems.start({ threads: 2 });
    const pool = system.spawnPool(OrderChecker, undefined, { size: 2 });
    const [first, second] = pool.members;
    await Promise.all([first!.ask('report'), second!.ask('report')]); // both started
    const where = async (ref: ActorRef<typeof OrderChecker>) => (await system.inspect()).find((a) => a.id === ref!.id)!.thread;
    let sent = 0;
    for (const to of [(await where(first!)) === 1 ? 2 : 1, 0]) {
      for (let k = 0; k < 1000; k++) pool.tell('seq', { from: 'main', i: ++sent });
      const moving = system.move(first!, to);
      for (let k = 0; k < 1000; k++) pool.tell('seq', { from: 'main', i: ++sent });
      await moving;
      expect(await where(first!)).toBe(to);
    }
    const reports = (await Promise.all([first!.ask('report'), second!.ask('report')])) as { counts: { main: number }; violations: number }[];
    expect(reports.map((r) => r.violations)).toEqual([0, 0]);
    expect(reports[0]!.counts.main + reports[1]!.counts.main).toBe(sent);
    expect(reports[0]!.counts.main).toBe(sent / 2); // round-robin: every other message, wherever it was
    await system.stop(first!);
    await until(() => pool.members.length === 1, 5000, 'the stopped member out of the routing');
    expect(system.stats().deadLetters).toBe(0);
  });

  it('V1: an actor in ack mode with dedup moves between messages: its dedup table goes with it, a nacked attempt is delivered again where it lives; deferred acks or kept copies pin it, and inspect() says why', async () => {
    const system = await systems.start({ threads: 2 });
    const a = system.spawn(AckMover, undefined, { placement: { thread: 1 }, delivery: { mode: 'at-least-once', maxAckPending: 2, dedupWindowMs: 60_000 } });
    expect(await a.send('rec', 'first', { messageId: 'm-1' })).toEqual({ duplicate: false });
    await system.move(a, 2);
    expect(await a.ask('thread')).not.toBe(await system.spawn(Keeper, { start: 0 }, { placement: { thread: 1 } }).ask('thread'));
    // The id it took on thread 1 is known on thread 2: sent again, a duplicate; a new one is not.
    expect(await a.send('rec', 'first again', { messageId: 'm-1' })).toEqual({ duplicate: true });
    expect(await a.send('rec', 'second', { messageId: 'm-2' })).toEqual({ duplicate: false });
    a.tell('nackOnce', 'third');
    await until(async () => ((await a.ask('log')) as string[]).length === 3, 5000, 'the third delivered again');
    const log = (await a.ask('log')) as string[];
    expect(log.map((l) => l.split(' on ')[0])).toEqual(['first@1', 'second@1', 'third@2']);
    expect(new Set(log.slice(1).map((l) => l.split(' on ')[1])).size).toBe(1); // all on its new thread
    // An ack deferred and not settled: it stays, and says why, until it is settled.
    await a.ask('defer');
    await expect(system.move(a, 1)).rejects.toThrow(ActorPinnedError);
    expect((await system.inspect()).find((x) => x.id === a.id)!.pinned).toMatch(/deferred acks/);
    await a.ask('settle');
    await system.move(a, 1);
    expect((await system.inspect()).find((x) => x.id === a.id)).toMatchObject({ thread: 1, pinned: null });
    expect(await a.send('rec', 'second again', { messageId: 'm-2' })).toEqual({ duplicate: true });
    // Copies kept on the spawner's thread are numbered there: such an actor stays.
    const kept = system.spawn(AckMover, undefined, { placement: { thread: 1 }, delivery: { mode: 'at-least-once', keepCopies: true } });
    await kept.ask('log');
    await expect(system.move(kept, 2)).rejects.toThrow(/keepCopies/);
    expect(system.stats().deadLetters).toBe(0);
  });

  it('V1: in ack mode with dedup, the tells with ids queued when it moves are handled on its new thread, once; a handler abandoned at its ack deadline and still running pins it', async () => {
    const system = await systems.start({ threads: 2 });
    const a = system.spawn(AckMover, undefined, { placement: { thread: 1 }, delivery: { mode: 'at-least-once', dedupWindowMs: 60_000, ackWaitMs: 1000 } });
    await a.ask('log');
    a.tell('slow', 200); // busy: what follows waits in its mailbox, taken into its dedup table
    for (let i = 0; i < 5; i++) a.tell('rec', `q${i}`, { messageId: `q-${i}` });
    await system.move(a, 2); // once the slow handler is done
    await until(async () => ((await a.ask('log')) as string[]).length === 6, 5000, 'the queued tells handled');
    const log = (await a.ask('log')) as string[];
    expect(log.slice(1).map((l) => l.split(' on ')[0])).toEqual(['q0@1', 'q1@1', 'q2@1', 'q3@1', 'q4@1']);
    expect(await a.send('rec', 'q0 again', { messageId: 'q-0' })).toEqual({ duplicate: true });
    // Abandoned at its deadline (ackWaitMs 1000), the slow handler goes on (until the gate opens):
    // the actor stays until it ends.
    const gate = fileGate();
    a.tell('slowUntil', { gate: gate.path, capMs: 20_000 });
    const pinned = async (): Promise<string | null | undefined> => (await system.inspect()).find((x) => x.id === a.id)?.pinned;
    await until(async () => /abandoned at its ack deadline/.test((await pinned()) ?? ''), 5000, 'the handler abandoned at its deadline');
    await expect(system.move(a, 1)).rejects.toThrow(/abandoned at its ack deadline/);
    gate.open();
    await until(async () => ((await a.ask('log')) as string[]).filter((l) => l.startsWith('gated')).length >= 1, 5000, 'the abandoned handler over');
    await until(async () => (await system.inspect()).find((x) => x.id === a.id)!.pinned === null, 5000, 'its retry settled');
    await system.move(a, 1);
    expect((await system.inspect()).find((x) => x.id === a.id)!.thread).toBe(1);
    expect(system.stats().deadLetters).toBe(0);
    gate.dispose();
  });

  it('bad input: a thread that is not there, a stopped actor; the system keeps running', async () => {
    const system = await systems.start({ threads: 2 });
    const keeper = system.spawn(Keeper, { start: 1 }, { placement: { thread: 1 } });
    await expect(system.move(keeper, 9)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(system.move(keeper, 1.5)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(system.move({} as never, 1)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await system.move(keeper, 1); // where it is: nothing to do
    const gone = system.spawn(Keeper, { start: 1 }, { placement: { thread: 2 } });
    await system.stop(gone);
    await expect(system.move(gone, 1)).rejects.toBeInstanceOf(ActorStoppedError);
    expect(await keeper.ask('sum')).toBe(1);
  });
});
