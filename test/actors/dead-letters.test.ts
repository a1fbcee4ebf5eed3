// SEMANTICS.md X1: every path that loses an accepted message emits exactly one dead letter, with
// a reason from the fixed list. One system, each reason triggered once; the books balance.

import { addExtension } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import type { DeadLetter, DeadLetterReason } from 'troupe';
import { Acker, Exiter, Flaky, Gate, Holder, Recorder } from '../fixtures/actors.js';
import { Counter } from '../fixtures/counter.js';
import { useTestSystem } from '../support/system.js';
import { until } from '../support/wait.js';

const systems = useTestSystem();

class OnlyOnMain {
  constructor(readonly n: number) {}
}
addExtension({ Class: OnlyOnMain, type: 0x5c, write: (o: OnlyOnMain) => o.n, read: (n: number) => new OnlyOnMain(n) });

const REASONS: DeadLetterReason[] = [
  'stopped',
  'mailbox-full',
  'restart-stash-full',
  'thread-crash',
  'late-reply',
  'terminated',
  'max-deliveries',
  'no-routee',
  'shutdown',
  'decode-failed',
  'unhandled',
];

describe('dead letters', () => {
  it('X1: each way of losing a message makes exactly one dead letter, with its reason', async () => {
    const system = await systems.start({ threads: 2, shutdownTimeoutMs: 2000 });
    const letters: DeadLetter[] = [];
    system.deadLetters.subscribe((l) => letters.push(l));
    const count = (reason: DeadLetterReason) => letters.filter((l) => l.reason === reason).length;
    const one = (reason: DeadLetterReason) => until(() => count(reason) === 1, 5000, `a ${reason} dead letter`);

    // stopped: a tell that races its actor's stop (once the stop is done, a tell throws instead).
    const gone = system.spawn(Counter, { start: 0 }, { placement: { thread: 1 } });
    const stopping = system.stop(gone);
    gone.tell('add', 1);
    await stopping;
    await one('stopped');

    // mailbox-full: a drop-oldest mailbox of one, two tells before it starts.
    const small = system.spawn(Recorder, undefined, { placement: { thread: 0 }, mailbox: { capacity: 1, overflow: 'drop-oldest' } });
    small.tell('record', 'evicted');
    small.tell('record', 'kept');
    await one('mailbox-full');

    // restart-stash-full: a tell while it waits out a backoff with a stash of one.
    const flaky = system.spawn(Flaky, undefined, { placement: { thread: 0 }, backoff: { minMs: 100, maxMs: 100, jitter: 0 }, stashCapacity: 1 });
    flaky.tell('fail');
    await until(async () => (await system.inspect()).find((a) => a.id === flaky.id)?.status === 'restarting', 5000, 'the backoff');
    flaky.tell('rec', 1);
    flaky.tell('rec', 2);
    await one('restart-stash-full');
    system.clock.advance(100);

    // terminated and max-deliveries: ack mode.
    const acker = system.spawn(Acker, undefined, { placement: { thread: 0 }, delivery: { mode: 'at-least-once', maxDeliver: 1 } });
    acker.tell('do', 'term');
    await one('terminated');
    acker.tell('do', 'always-throw');
    await one('max-deliveries');

    // no-routee: a pool with no members.
    system.spawnPool(Counter, { start: 0 }, { size: 0 }).tell('add', 1);
    await one('no-routee');

    // decode-failed: a message the receiving thread cannot decode.
    const decoder = system.spawn(Counter, { start: 0 }, { placement: { thread: 1 } });
    decoder.tell('echo', new OnlyOnMain(1) as never);
    await one('decode-failed');

    // unhandled: a type the actor has no handler for.
    (decoder as unknown as { tell(type: string): void }).tell('nothing-handles-this');
    await one('unhandled');

    // late-reply: the answer to an ask that timed out (main's manual clock).
    const holder = system.spawn(Holder, undefined, { placement: { thread: 1 } });
    const gate = system.spawn(Gate, undefined, { placement: { thread: 1 } });
    const late = holder.ask('hold', undefined, { timeoutMs: 10 }).catch((e: unknown) => e);
    await until(async () => (await system.inspect()).find((a) => a.id === holder.id)?.mailboxDepth === 0, 5000, 'the hold to start');
    system.clock.advance(10);
    expect(await late).toMatchObject({ code: 'ERR_ASK_TIMEOUT' });
    await until(async () => (await gate.ask('open', 'too late')) === true, 5000, 'the answer');
    await one('late-reply');

    // thread-crash: the message a thread was running when it died.
    const exiter = system.spawn(Exiter, undefined, { placement: { thread: 2 } });
    exiter.tell('exit', { code: 4, spinMs: 0 });
    await one('thread-crash');
    await until(() => system.stats().threads[2]!.alive, 5000, 'the replacement');

    // shutdown: what is still queued at the drain deadline.
    const busy = system.spawn(Counter, { start: 0 }, { placement: { thread: 1 } });
    busy.tell('sleep', 300);
    busy.tell('sleep', 300);
    await until(async () => (await system.inspect()).find((a) => a.id === busy.id)?.mailboxDepth === 1, 5000, 'one held, one queued');
    await system.shutdown({ drainMs: 0 });
    await until(() => count('shutdown') === 1, 5000, 'a shutdown dead letter');

    expect(REASONS.map(count)).toEqual(REASONS.map(() => 1));
    expect(new Set(letters.map((l) => l.reason))).toEqual(new Set(REASONS));
    const s = system.stats();
    expect(s.accepted).toBe(s.handled + (s.deadLetters - s.lateReplies) + s.duplicates);
  });
});
