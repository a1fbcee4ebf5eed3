// Fault injection (SEMANTICS.md X3): many actors over three threads, thousands of seeded random
// messages from senders on every thread, random handler failures (sync and async), stops in the
// middle of the run and bounded mailboxes that overflow. At quiescence every accepted message
// was handled or dead-lettered, exactly, and no ask was left to its timeout.

import { describe, expect, it } from 'vitest';
import type { DeadLetter, SpawnOptions } from 'troupe';
import { Careless, Chaos, ChaosSender, Exiter } from '../fixtures/actors.js';
import { seededRandom } from '../support/random.js';
import { useSystem } from '../support/system.js';
import { until } from '../support/wait.js';

const systems = useSystem();

const MAILBOXES: SpawnOptions['mailbox'][] = [undefined, { capacity: 16, overflow: 'drop-oldest' }, { capacity: 16, overflow: 'reject' }];

async function chaos(seed: number, killThread: boolean) {
  const system = await systems.start({ threads: 3 });
  const random = seededRandom(seed);
  const dead: DeadLetter[] = [];
  system.deadLetters.subscribe((l) => dead.push(l));
  const targets = Array.from({ length: 24 }, (_, i) =>
    system.spawn(Chaos, undefined, { placement: { thread: 1 + (i % 3) }, maxRestarts: 1_000_000, mailbox: MAILBOXES[i % 3] }),
  );
  const senders = [1, 2, 3].map((thread) => system.spawn(ChaosSender, undefined, { placement: { thread } }));
  const runs = senders.map((s, i) => s.ask('run', { targets, n: 3000, seed: seed * 10 + i, failRate: 0.05 }, { timeoutMs: 60_000 }));
  // Main sends too, and stops two targets while the others are busy.
  let refusedOnMain = 0;
  for (let i = 0; i < 2000; i++) {
    try {
      targets[Math.floor(random() * targets.length)]!.tell('work', { fail: random() < 0.05 });
    } catch {
      refusedOnMain++;
    }
    if (i === 700) void system.stop(targets[Math.floor(random() * 12)]!);
    if (i === 1400) void system.stop(targets[12 + Math.floor(random() * 12)]!);
    if (i === 1000 && killThread) system.spawn(Exiter, undefined, { placement: { thread: 3 } }).tell('exit', { code: 7, spinMs: 0 });
    if (i % 100 === 99) await new Promise((resolve) => setImmediate(resolve));
  }
  const results = await Promise.allSettled(runs);
  return { system, dead, results, refusedOnMain };
}

function balance(system: Awaited<ReturnType<typeof chaos>>['system']): number {
  const s = system.stats();
  return s.accepted - (s.handled + (s.deadLetters - s.lateReplies) + s.duplicates);
}

describe('fault injection', () => {
  for (const seed of [1, 2, 3]) {
    it(`X3: accepted = handled + dead-lettered, exactly, under failures, stops and overflow (seed ${seed})`, async () => {
      const { system, dead, results } = await chaos(seed, false);
      for (const r of results) {
        expect(r.status).toBe('fulfilled');
        expect((r as PromiseFulfilledResult<{ timedOut: number }>).value.timedOut).toBe(0); // asks rejected promptly, never by timeout
      }
      await until(() => balance(system) === 0, 10_000, 'quiescence with the books balanced');
      const s = system.stats();
      expect(s.failed).toBeGreaterThan(0);
      expect(s.rejected).toBeGreaterThan(0);
      const reasons = new Set(dead.map((l) => l.reason));
      expect(reasons.has('stopped')).toBe(true);
      expect(reasons.has('mailbox-full')).toBe(true);
      // Workers forward their letters through the rings: the counters may be seen first.
      await until(() => system.stats().deadLetters === dead.length, 5000, 'every dead letter reported');
    });
  }

  it('a worker killed mid-run: every ask settles promptly, the thread is replaced, and the books still balance exactly', async () => {
    const { system, dead, results } = await chaos(4, true);
    // The sender on the killed thread died mid-run (its ask fails); the others finish, with no
    // ask left to its timeout: those to the dead thread's actors failed at once.
    const fulfilled = results.filter((r) => r.status === 'fulfilled') as PromiseFulfilledResult<{ timedOut: number }>[];
    expect(fulfilled).toHaveLength(2);
    for (const r of fulfilled) expect(r.value.timedOut).toBe(0);
    expect(results.find((r) => r.status === 'rejected')).toMatchObject({ reason: { code: 'ERR_ACTOR_FAILED' } });
    await until(() => system.stats().threads[3]!.replaced === 1 && system.stats().threads[3]!.alive, 10_000, 'thread 3 to be replaced');
    // What the dead thread held in its own memory is dead-lettered by count ('thread-crash'):
    // the law holds exactly across the death.
    await until(() => balance(system) === 0, 10_000, 'quiescence with the books balanced');
    expect(dead.some((l) => l.reason === 'thread-crash')).toBe(true);
    await until(() => system.stats().deadLetters === dead.length, 5000, 'every dead letter reported');
  });
});

describe('a promise rejected with no handler', () => {
  it('is counted and survived: the thread and its other actors go on; the first is reported', async () => {
    const warnings: string[] = [];
    const system = await systems.start({ threads: 1, logger: { warn: (m) => void warnings.push(m), error: (m) => void warnings.push(m) } });
    const careless = system.spawn(Careless, undefined, { placement: { thread: 1 } });
    const neighbour = system.spawn(Chaos, undefined, { placement: { thread: 1 } });
    careless.tell('forget');
    careless.tell('forget');
    await until(() => system.stats().threads[1]!.unhandledRejections === 2, 5000, 'two counted');
    expect(await careless.ask('ping')).toBe('pong');
    expect(await neighbour.ask('slow', { fail: false })).toBe(1);
    expect(system.stats().threads[1]!.alive).toBe(true);
    expect(warnings).toEqual([expect.stringContaining('troupe thread 1: a promise was rejected and nothing handled it')]);
  });
});
