import { describe, expect, it } from 'vitest';
import type { DeadLetterReason } from 'troupe';
import { AskLoop, Flaky, OrderChecker, Recorder, Sender } from '../fixtures/actors.js';
import { Counter } from '../fixtures/counter.js';
import { useSystem, useTestSystem } from '../support/system.js';
import { until } from '../support/wait.js';

const systems = useSystem();
const testSystems = useTestSystem();

/** Index of the bucket whose bound is 2^i us: 1 ms falls in i = 10 (1.024 ms), 3 ms in 12, 5 ms in 13, 10 ms in 14. */
const BUCKET_OF_MS: Record<number, number> = { 0: 0, 1: 10, 3: 12, 5: 13, 10: 14 };

describe('metrics', () => {
  it('exposes the per-thread counters in Prometheus text format', async () => {
    const system = await systems.start({ threads: 2 });
    const recorder = system.spawn(Recorder, undefined, { placement: { thread: 2 } });
    for (let i = 0; i < 41; i++) recorder.tell('record', i);
    expect(await recorder.ask('count')).toBe(41);
    const text = system.metricsText();
    expect(text).toContain('# TYPE troupe_messages_handled_total counter');
    expect(text).toContain('troupe_messages_handled_total{thread="2"} 42');
    expect(text).toContain('troupe_messages_accepted_total{thread="0"} 42');
    expect(text).toContain('troupe_actors{thread="2"} 1');
    expect(text).toContain('troupe_thread_alive{thread="1"} 1');
    expect(text).toContain('troupe_thread_replacements_total{thread="1"} 0');
    expect(text).toContain('troupe_dead_letters_total{thread="2",reason="unhandled"} 0');
    expect(text).toContain('# TYPE troupe_ask_duration_seconds histogram');
    expect(text).toContain('troupe_ask_duration_seconds_count{thread="0",outcome="ok"} 1');
    // Every sample line is `name{thread="n",label="value"…} number`; every metric has HELP and TYPE.
    for (const line of text.trim().split('\n')) {
      expect(line).toMatch(/^(# (HELP|TYPE) troupe_\w+ .+|troupe_\w+\{thread="\d+"(,\w+="[\w.+-]+")*\} -?[\d.e+-]+)$/);
    }
    const names = new Set(text.split('\n').filter((l) => l.startsWith('troupe_')).map((l) => l.split('{')[0]!));
    for (const name of names) {
      const family = /_(bucket|sum|count)$/.test(name) && text.includes(`# TYPE ${name.replace(/_(bucket|sum|count)$/, '')} histogram`) ? name.replace(/_(bucket|sum|count)$/, '') : name;
      expect(text).toContain(`# HELP ${family} `);
      expect(text).toContain(`# TYPE ${family} `);
    }
  });

  it('counts the user messages between each pair of threads, and their rate since the last stats()', async () => {
    const system = await systems.start({ threads: 2 });
    const sender = system.spawn(Sender, { name: 's' }, { placement: { thread: 1 } });
    const checker = system.spawn(OrderChecker, undefined, { placement: { thread: 2 } });
    await sender.ask('blast', { target: checker, n: 0 }); // both started: their spawns are not user messages
    const before = system.stats().traffic.messages;
    expect(await sender.ask('blast', { target: checker, n: 300 })).toBe(300);
    await until(async () => (await checker.ask('report')).counts.s === 300, 5_000, 'the 300 tells');
    const { messages, perSecond } = system.stats().traffic;
    const delta = (from: number, to: number): number => messages[from]![to]! - before[from]![to]!;
    expect(delta(1, 2)).toBe(300); // the handler's tells
    expect(delta(2, 1)).toBe(0);
    expect(delta(0, 1)).toBe(1); // the ask to the sender
    expect(messages.map((row, t) => row[t])).toEqual([0, 0, 0]); // a thread's own messages take no ring
    expect(perSecond[1]![2]).toBeGreaterThan(0);
    expect(system.metricsText()).toContain(`troupe_thread_messages_total{thread="1",to="2"} ${messages[1]![2]}`);
  });

  it('writes each histogram as cumulative buckets up to +Inf, with its sum and count', async () => {
    const system = await testSystems.start({ threads: 1 });
    const counter = system.spawn(Counter, { start: 0 }, { placement: { thread: 1 } });
    const asked = counter.ask('get');
    system.clock.advance(3);
    await asked;
    const lines = system.metricsText().split('\n').filter((l) => l.startsWith('troupe_ask_duration_seconds') && l.includes('thread="0",outcome="ok"'));
    const buckets = lines.filter((l) => l.includes('_bucket'));
    expect(buckets.map((l) => /le="([^"]+)"/.exec(l)![1])).toEqual([...Array.from({ length: 25 }, (_, i) => `${2 ** i / 1e6}`), '+Inf']);
    expect(buckets[0]).toBe('troupe_ask_duration_seconds_bucket{thread="0",outcome="ok",le="0.000001"} 0');
    expect(buckets.map((l) => Number(l.split(' ')[1]))).toEqual([...Array(12).fill(0), ...Array(14).fill(1)]); // 3 ms <= 4.096 ms
    expect(lines).toContain('troupe_ask_duration_seconds_sum{thread="0",outcome="ok"} 0.003');
    expect(lines).toContain('troupe_ask_duration_seconds_count{thread="0",outcome="ok"} 1');
    expect(system.metricsText()).toContain('# HELP troupe_mailbox_wait_seconds Time from a message waking an idle actor (arriving in its empty mailbox) to its handler starting');
  });

  it.each([0, 1])('counts dead letters by reason and restarts on the thread that hosts the actor (thread %i)', async (thread) => {
    const system = await testSystems.start({ threads: 1 });
    const other = 1 - thread;
    // Two restarts: each 'fail' restarts the actor behind the same ref.
    const flaky = system.spawn(Flaky, undefined, { placement: { thread } });
    flaky.tell('fail');
    flaky.tell('fail');
    expect(await flaky.ask('log')).toEqual([]);
    // unhandled: a type the actor has no handler for.
    (flaky as unknown as { tell(type: string): void }).tell('nothing-handles-this');
    // mailbox-full: a drop-oldest mailbox of one, two tells before it starts.
    const small = system.spawn(Recorder, undefined, { placement: { thread }, mailbox: { capacity: 1, overflow: 'drop-oldest' } });
    small.tell('record', 'evicted');
    small.tell('record', 'kept');
    await until(() => system.stats().threads[thread]!.deadLetters === 2, 5000, 'two dead letters');

    const s = system.stats();
    const t = s.threads[thread]!;
    const expected: Partial<Record<DeadLetterReason, number>> = { unhandled: 1, 'mailbox-full': 1 };
    for (const [reason, n] of Object.entries(t.deadLettersByReason)) expect([reason, n]).toEqual([reason, expected[reason as DeadLetterReason] ?? 0]);
    expect(Object.values(s.threads[other]!.deadLettersByReason).every((n) => n === 0)).toBe(true);
    expect(s.deadLettersByReason).toEqual(t.deadLettersByReason);
    expect([t.restarts, s.threads[other]!.restarts, s.restarts]).toEqual([2, 0, 2]);
    const text = system.metricsText();
    expect(text).toContain(`troupe_dead_letters_total{thread="${thread}",reason="unhandled"} 1`);
    expect(text).toContain(`troupe_dead_letters_total{thread="${thread}",reason="mailbox-full"} 1`);
    expect(text).toContain(`troupe_dead_letters_total{thread="${thread}",reason="stopped"} 0`);
    expect(text).toContain(`troupe_restarts_total{thread="${thread}"} 2`);
    expect(text).toContain(`troupe_restarts_total{thread="${other}"} 0`);
  });

  it.each([0, 1])('times asks from the main thread by outcome, in buckets of the injected clock (actor on thread %i)', async (thread) => {
    const system = await testSystems.start({ threads: 1 });
    const counter = system.spawn(Counter, { start: 0 }, { placement: { thread } });
    await counter.ask('get'); // started, and one ask of 0 ms
    const asked = async (ms: number, ask: () => Promise<unknown>): Promise<unknown> => {
      const settled = ask().then(
        () => 'ok',
        (error: Error) => error.name,
      );
      system.clock.advance(ms);
      return settled;
    };
    expect(await asked(3, () => counter.ask('get'))).toBe('ok');
    expect(await asked(5, () => counter.ask('get'))).toBe('ok');
    expect(await asked(1, () => counter.ask('fail', 'on purpose'))).toBe('ActorFailedError');
    expect(await asked(10, () => counter.ask('sleep', 50, { timeoutMs: 10 }))).toBe('AskTimeoutError');

    const main = system.stats().threads[0]!.askDuration;
    const bucketed = (ms: number[]) => {
      const counts = new Array<number>(25).fill(0);
      for (const m of ms) for (let i = BUCKET_OF_MS[m]!; i < 25; i++) counts[i]!++;
      return counts;
    };
    expect(main.ok.counts).toEqual(bucketed([0, 3, 5]));
    expect([main.ok.count, main.ok.sum]).toEqual([3, 0.008]);
    expect(main.error.counts).toEqual(bucketed([1]));
    expect([main.error.count, main.error.sum]).toEqual([1, 0.001]);
    expect(main.timeout.counts).toEqual(bucketed([10]));
    expect([main.timeout.count, main.timeout.sum]).toEqual([1, 0.01]);
    // The asking thread counts them; the actor's thread (when it is another) asked nothing.
    if (thread === 1) expect(system.stats().threads[1]!.askDuration.ok.count).toBe(0);
    expect(system.stats().askDuration.ok.count).toBe(3);
  });

  it('times asks on the worker thread that makes them', async () => {
    const system = await systems.start({ threads: 2 });
    const counter = system.spawn(Counter, { start: 0 }, { placement: { thread: 2 } });
    const loop = system.spawn(AskLoop, undefined, { placement: { thread: 1 } });
    expect(await loop.ask('run', { to: counter, n: 20, failing: 2 })).toBe(20);
    const s = system.stats();
    const asker = s.threads[1]!.askDuration;
    expect([asker.ok.count, asker.error.count, asker.timeout.count]).toEqual([20, 2, 0]);
    expect(asker.ok.sum).toBeGreaterThan(0);
    // Cumulative: never falling, and every ask within the last bound (16.8 s).
    expect(asker.ok.counts.every((c, i) => i === 0 || c >= asker.ok.counts[i - 1]!)).toBe(true);
    expect(asker.ok.counts.at(-1)).toBe(20);
    expect(s.threads[2]!.askDuration.ok.count).toBe(0); // the asked thread asked nothing
    expect(s.threads[0]!.askDuration.ok.count).toBe(1); // main asked once: 'run'
    expect(s.restarts).toBe(2);
  });

  it('samples one wake-up in 64 for its mailbox wait, timed by the injected clock on the main thread', async () => {
    const system = await testSystems.start({ threads: 1 });
    const counters = Array.from({ length: 128 }, () => system.spawn(Counter, { start: 0 }, { placement: { thread: 0 } }));
    await Promise.all(counters.map((c) => c.ask('get')));
    const before = system.stats().threads[0]!;
    // Each wakes with its first tell, in one synchronous run; all run in a later turn, 5 ms on.
    for (const c of counters) for (let i = 0; i < 3; i++) c.tell('record', i);
    system.clock.advance(5);
    await until(() => system.stats().threads[0]!.handled === before.handled + 384, 5000, 'the tells handled');
    const wait = system.stats().threads[0]!.mailboxWait;
    // 128 wake-ups hold two 64ths (the asks before woke them too, but each was handled before the next sample).
    expect(wait.count - before.mailboxWait.count).toBeGreaterThanOrEqual(1);
    expect(wait.count - before.mailboxWait.count).toBeLessThanOrEqual(2);
    const added = wait.count - before.mailboxWait.count;
    expect(wait.counts[BUCKET_OF_MS[5]! - 1]! - before.mailboxWait.counts[BUCKET_OF_MS[5]! - 1]!).toBe(0);
    expect(wait.counts[BUCKET_OF_MS[5]!]! - before.mailboxWait.counts[BUCKET_OF_MS[5]!]!).toBe(added);
    expect(wait.sum - before.mailboxWait.sum).toBeCloseTo(0.005 * added, 12);
    // Nothing is paid per message: more tells to an actor already awake are not wake-ups.
    expect(await counters[0]!.ask('log')).toEqual([0, 1, 2]);
  });

  it('samples wake-ups for the mailbox wait on the worker thread that handles them', async () => {
    const system = await systems.start({ threads: 1 });
    const counters = Array.from({ length: 64 }, () => system.spawn(Counter, { start: 0 }, { placement: { thread: 1 } }));
    await Promise.all(counters.map((c) => c.ask('get')));
    const before = system.stats();
    for (let round = 0; round < 20; round++) await Promise.all(counters.map((c) => c.ask('get'))); // 1,280 wake-ups
    const after = system.stats();
    const wait = after.threads[1]!.mailboxWait;
    expect(wait.count - before.threads[1]!.mailboxWait.count).toBeGreaterThanOrEqual(1);
    expect(wait.count - before.threads[1]!.mailboxWait.count).toBeLessThanOrEqual(20);
    expect(wait.counts.every((c, i) => i === 0 || c >= wait.counts[i - 1]!)).toBe(true);
    expect(wait.counts.at(-1)).toBe(wait.count);
    expect(after.threads[0]!.mailboxWait.count).toBe(before.threads[0]!.mailboxWait.count); // main hosts none
    expect(after.mailboxWait.count).toBe(wait.count + after.threads[0]!.mailboxWait.count);
  });

  it('delivers periodic snapshots until unsubscribed', async () => {
    const system = await systems.start({ threads: 1 });
    const snapshots: number[] = [];
    const stop = await new Promise<() => void>((resolve) => {
      const unsubscribe = system.statsEvery(5, (s) => {
        snapshots.push(s.threads.length);
        if (snapshots.length === 3) resolve(unsubscribe);
      });
    });
    stop();
    const count = snapshots.length;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(snapshots.length).toBe(count);
    expect(snapshots.every((n) => n === 2)).toBe(true);
  });
});
