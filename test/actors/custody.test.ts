// Custody (issue: accepted messages outlive their thread). What a worker took from its rings and
// had not finished lives in its custody log, in shared memory, until done: when the thread dies,
// its replacement delivers what was not started, in order, to the restarted actor behind the same
// ref; the message in a handler goes again in ack mode and is a dead letter (with its payload)
// otherwise; and the books balance exactly. Senders on the main thread and on another worker.
// Then per message: seeded runs where every message carries its own id.

import { describe, expect, it } from 'vitest';
import type { DeadLetter } from 'troupe';
import { Exiter, Publisher } from '../fixtures/actors.js';
import { Collector, IdSender, Keeper, Streamer, Target, type Work } from '../fixtures/custody.js';
import { seededRandom } from '../support/random.js';
import { useSystem } from '../support/system.js';
import { until } from '../support/wait.js';

const systems = useSystem();

const FROM_MAIN = 300;
const FROM_WORKER = 200;

async function killWithBacklog(delivery: 'at-most-once' | 'at-least-once') {
  const system = await systems.start({ threads: 2 });
  const letters: DeadLetter[] = [];
  system.deadLetters.subscribe((l) => letters.push(l));
  const keeper = system.spawn(Keeper, undefined, { placement: { thread: 1 }, ...(delivery === 'at-least-once' ? { delivery: { mode: 'at-least-once' as const } } : {}) });
  const exiter = system.spawn(Exiter, undefined, { placement: { thread: 1 } });
  const streamer = system.spawn(Streamer, undefined, { placement: { thread: 2 } });
  keeper.tell('hold', 'first'); // its handler never ends: what follows waits in the mailbox
  for (let i = 1; i <= FROM_MAIN; i++) keeper.tell('item', i);
  expect(await streamer.ask('stream', { target: keeper, first: 10_001, n: FROM_WORKER })).toBe(FROM_WORKER);
  // Every one of them has left the rings: taken by thread 1, waiting in the actor's mailbox.
  await until(async () => (await system.inspect()).find((a) => a.id === keeper.id)?.mailboxDepth === FROM_MAIN + FROM_WORKER, 5000, 'the backlog in the mailbox');
  expect(system.stats().threads[1]!.ringBytesUsed).toBe(0);
  expect(system.stats().threads[1]!.custodyBytes).toBeGreaterThan(0); // ... and kept in its custody log
  exiter.tell('exit', { code: 9, spinMs: 0 });
  await until(() => system.stats().threads[1]!.replaced === 1 && system.stats().threads[1]!.alive, 5000, 'the replacement');
  return { system, letters, keeper };
}

function balance(system: Awaited<ReturnType<typeof killWithBacklog>>['system']): number {
  const s = system.stats();
  return s.accepted - (s.handled + (s.deadLetters - s.lateReplies) + s.duplicates);
}

describe('custody: what a thread took and had not finished outlives it', () => {
  it('W3: at most once, the backlog reaches the restarted actor in order from each sender; the message in its handler is a dead letter with its payload', async () => {
    const { system, letters, keeper } = await killWithBacklog('at-most-once');
    const seen = (await keeper.ask('seen')) as number[];
    expect(seen.filter((n) => n <= FROM_MAIN)).toEqual(Array.from({ length: FROM_MAIN }, (_, i) => i + 1));
    expect(seen.filter((n) => n > 10_000)).toEqual(Array.from({ length: FROM_WORKER }, (_, i) => 10_001 + i));
    expect(seen).toHaveLength(FROM_MAIN + FROM_WORKER);
    await until(() => letters.some((l) => l.message.type === 'hold'), 5000, 'the interrupted message as a dead letter');
    const crashed = letters.filter((l) => l.reason === 'thread-crash');
    // One per message, with what it was; no count-only letters: nothing died with the heap.
    expect(crashed.map((l) => [l.recipient, l.message.type, l.message.payload])).toEqual([
      [keeper.id, 'hold', 'first'],
      [expect.stringMatching(/\./), 'exit', { code: 9, spinMs: 0 }],
    ]);
    await until(() => balance(system) === 0, 5000, 'the books to balance');
  });

  it('W3: at least once, the message in its handler goes again first, flagged redelivered, then the backlog in order', async () => {
    const { system, letters, keeper } = await killWithBacklog('at-least-once');
    const seen = (await keeper.ask('seen')) as unknown[];
    expect(seen[0]).toBe('first again (delivery 2)');
    expect(seen.filter((n) => typeof n === 'number' && n <= FROM_MAIN)).toEqual(Array.from({ length: FROM_MAIN }, (_, i) => i + 1));
    expect(seen.filter((n) => typeof n === 'number' && n > 10_000)).toEqual(Array.from({ length: FROM_WORKER }, (_, i) => 10_001 + i));
    expect(seen).toHaveLength(1 + FROM_MAIN + FROM_WORKER);
    await until(() => balance(system) === 0, 5000, 'the books to balance');
    expect(letters.filter((l) => l.reason === 'thread-crash' && l.recipient === keeper.id)).toEqual([]);
  });
});

describe('custody: topic copies', () => {
  // 3 subscribers: the record keeps each copy's state; 40: those past the 32nd are kept beside it.
  for (const [subscribers, stuck] of [
    [3, 0],
    [40, 35],
  ] as const) {
    it(`W3: of a publication to ${subscribers} subscribers on a thread that dies, each copy not done goes again to its own subscriber, and no other`, async () => {
      const system = await systems.start({ threads: 2 });
      const letters: DeadLetter[] = [];
      system.deadLetters.subscribe((l) => letters.push(l));
      const keepers = Array.from({ length: subscribers }, () => system.spawn(Keeper, undefined, { placement: { thread: 1 } }));
      for (const k of keepers) await k.ask('join', 'news');
      const exiter = system.spawn(Exiter, undefined, { placement: { thread: 1 } });
      const publisher = system.spawn(Publisher, undefined, { placement: { thread: 2 } });
      const busy = keepers[stuck]!;
      const free = keepers.filter((k) => k !== busy);
      busy.tell('hold', 'first'); // its copies wait; the others handle theirs
      expect(await publisher.ask('publishMany', { topic: 'news', n: 20, prefix: 'n' })).toBe(20 * subscribers);
      await until(async () => (await Promise.all(free.map((k) => k.ask('seen')))).every((seen) => seen.length === 20), 5000, 'the free ones done');
      await until(async () => (await system.inspect()).find((a) => a.id === busy.id)?.mailboxDepth === 20, 5000, 'the busy one\'s copies queued');
      exiter.tell('exit', { code: 9, spinMs: 0 });
      await until(() => system.stats().threads[1]!.replaced === 1 && system.stats().threads[1]!.alive, 5000, 'the replacement');
      expect(await busy.ask('seen')).toEqual(Array.from({ length: 20 }, (_, i) => `n${i}`));
      // Restarted, the others are not sent again what they had handled.
      for (const k of free) expect(await k.ask('seen')).toEqual([]);
      await until(() => balance(system) === 0, 5000, 'the books to balance');
      expect(letters.filter((l) => l.reason === 'thread-crash').map((l) => l.message.type).sort()).toEqual(['exit', 'hold']);
    });
  }
});

describe('custody: large payloads', () => {
  it('W3: a payload too large for the ring (it came on a port), even one larger than a segment of the log, is kept beside its record and reaches the restarted actor', async () => {
    const system = await systems.start({ threads: 2 });
    const keeper = system.spawn(Keeper, undefined, { placement: { thread: 1 } });
    const exiter = system.spawn(Exiter, undefined, { placement: { thread: 1 } });
    keeper.tell('hold', 'first');
    keeper.tell('large', 'abc'.repeat(40_000)); // 120 kB: more than a quarter of the 256 KiB ring
    keeper.tell('item', 1);
    keeper.tell('large', 'xyz'.repeat(200_000)); // 600 kB: more than a segment of the log
    keeper.tell('item', 2);
    await until(async () => (await system.inspect()).find((a) => a.id === keeper.id)?.mailboxDepth === 4, 5000, 'all four in the mailbox');
    exiter.tell('exit', { code: 9, spinMs: 0 });
    await until(() => system.stats().threads[1]!.replaced === 1 && system.stats().threads[1]!.alive, 5000, 'the replacement');
    expect(await keeper.ask('seen')).toEqual(['large: 120000 abc', 1, 'large: 600000 xyz', 2]);
    await until(() => balance(system) === 0, 5000, 'the books to balance');
  });
});

describe('custody: per message, over seeded runs with a thread killed mid-run', () => {
  const MAILBOXES = [undefined, { capacity: 16, overflow: 'reject' as const }, { capacity: 16, overflow: 'drop-oldest' as const }];

  for (const seed of [11, 12, 13]) {
    it(`X1, X3: every accepted id is handled exactly once (in ack mode at least once) or dead-lettered exactly once with its payload; a refused one neither (seed ${seed})`, async () => {
      const system = await systems.start({ threads: 3 });
      const random = seededRandom(seed);
      const letters: DeadLetter[] = [];
      system.deadLetters.subscribe((l) => letters.push(l));
      const collector = system.spawn(Collector, undefined, { placement: { thread: 0 } });
      // Targets on every worker, thread 3 (the one that dies) included, with every kind of mailbox.
      const targets = Array.from({ length: 12 }, (_, i) =>
        system.spawn(Target, { collector }, { placement: { thread: 1 + (i % 3) }, maxRestarts: 1_000_000, mailbox: MAILBOXES[Math.floor(i / 3) % 3] }),
      );
      // And three in ack mode (at least once), one on each worker: targets 12, 13, 14.
      for (let i = 0; i < 3; i++) targets.push(system.spawn(Target, { collector }, { placement: { thread: 1 + i }, maxRestarts: 1_000_000, delivery: { mode: 'at-least-once' } }));
      const acked = (id: string): boolean => Number(id.slice(id.indexOf('@') + 1)) >= 12;
      // Senders on threads 1 and 2 (they outlive the run, so what they sent is known) and on main.
      const senders = [1, 2].map((thread) => system.spawn(IdSender, undefined, { placement: { thread } }));
      const runs = senders.map((s, i) => s.ask('run', { targets, n: 1500, prefix: `w${i + 1}`, seed: seed * 10 + i }, { timeoutMs: 60_000 }));
      const sent: string[] = [];
      const refused: string[] = [];
      const asked: Promise<unknown>[] = [];
      const refusedAsks: string[] = [];
      const stoppedIndex = Math.floor(random() * 12);
      for (let i = 0; i < 1500; i++) {
        const t = Math.floor(random() * targets.length);
        const id = `m-${i}@${t}`;
        const work: Work = { id, fail: random() < 0.05, async: random() < 0.3 };
        const target = targets[t]!;
        try {
          // Asks go to actors that are not stopped: a refused ask and one dead-lettered as
          // 'stopped' reject alike, and only the tells' refusals are told apart here.
          if (random() < 0.1 && t !== stoppedIndex) {
            const rejects = t < 12 && MAILBOXES[Math.floor(t / 3) % 3]?.overflow === 'reject';
            asked.push(target.ask('work', work, { timeoutMs: 30_000 }).catch((e: unknown) => (rejects && (e as { code?: string }).code === 'ERR_MAILBOX_FULL' && refusedAsks.push(id), e)));
          }
          else target.tell('work', work);
          sent.push(id);
        } catch (error) {
          expect(['ERR_MAILBOX_FULL', 'ERR_ACTOR_STOPPED']).toContain((error as { code?: string }).code);
          refused.push(id);
        }
        if (i === 500) void system.stop(targets[stoppedIndex]!);
        if (i === 700) system.spawn(Exiter, undefined, { placement: { thread: 3 } }).tell('exit', { code: 7, spinMs: 0 });
        if (i % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
      }
      // No promise left pending: every ask settled, none by its timeout.
      for (const outcome of await Promise.all(asked)) expect((outcome as { code?: string } | null)?.code).not.toBe('ERR_ASK_TIMEOUT');
      // An ask refused at its admission (a full mailbox that rejects) rejects instead of throwing.
      for (const id of refusedAsks) {
        sent.splice(sent.indexOf(id), 1);
        refused.push(id);
      }
      for (const r of await Promise.all(runs)) {
        const { sent: s, refused: f } = r as { sent: string[]; refused: string[] };
        sent.push(...s);
        refused.push(...f);
      }
      await until(() => system.stats().threads[3]!.replaced === 1 && system.stats().threads[3]!.alive, 10_000, 'thread 3 replaced');
      await until(() => balance(system) === 0 && system.stats().deadLetters === letters.length, 10_000, 'quiescence with the books balanced');

      const handled = new Map((await collector.ask('report')) as [string, number][]);
      const dead = new Map<string, number>();
      for (const l of letters) {
        if (l.message.type !== 'work') continue;
        const id = (l.message.payload as Work | undefined)?.id;
        expect(id, `a dead letter without its payload: ${JSON.stringify(l)}`).toBeDefined();
        dead.set(id!, (dead.get(id!) ?? 0) + 1);
      }
      const problems: string[] = [];
      for (const id of sent) {
        const h = handled.get(id) ?? 0;
        const d = dead.get(id) ?? 0;
        // At most once: handled once, or a dead letter once. At least once: handled, maybe more
        // than once (a redelivery), or after its last attempt a dead letter once.
        if (acked(id) ? !(d === 1 || (d === 0 && h >= 1)) : h + d !== 1) problems.push(`${id}: handled ${h}, dead-lettered ${d}`);
      }
      for (const id of refused) if (handled.has(id) || dead.has(id)) problems.push(`${id}: refused, yet handled or dead-lettered`);
      expect(problems).toEqual([]);
      expect(sent.length + refused.length).toBe(4500);
      expect(sent.filter(acked).length).toBeGreaterThan(500); // the ack-mode targets had their share
      expect(new Set(letters.filter((l) => l.reason === 'thread-crash').map((l) => l.message.type))).toContain('exit');
    });
  }
});
