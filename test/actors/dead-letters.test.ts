// SEMANTICS.md X1: every path that loses an accepted message emits exactly one dead letter, with
// a reason from the fixed list. One system, each reason triggered once; the books balance.

import { addExtension } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import type { DeadLetter, DeadLetterReason } from 'troupe';
import { Acker, Exiter, Flaky, Gate, Holder, Napper, Recorder } from '../fixtures/actors.js';
import { Counter } from '../fixtures/counter.js';
import { fileGate } from '../support/gate.js';
import { useTestSystem } from '../support/system.js';
import { until } from '../support/wait.js';

const systems = useTestSystem();

/** Waits until shutdown has begun to stop the actor `id` (inspect() says it is stopping). */
const stopBegun = (system: { inspect(): Promise<{ id: string; status: string }[]> }, id: string): Promise<void> =>
  until(async () => (await system.inspect()).find((a) => a.id === id)?.status === 'stopping', 5000, 'its stop to begin');

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
// Provoked elsewhere, with what they need: a message to an entity that its store could not take
// (a full disk) in entity-full-disk.test.ts, on a file system of its own; a message to a node that
// is gone, or larger than the NATS server takes, in the cluster tests (test/cluster/), which need
// a NATS server.
const NOT_PROVOKED: DeadLetterReason[] = ['storage-failed', 'node-down', 'too-large'];

describe('dead letters', () => {
  it('X1: each way of losing a message makes exactly one dead letter, with its reason', async () => {
    // A stop is forced only well after the test has seen it begin and let the handler end.
    const system = await systems.start({ threads: 2, shutdownTimeoutMs: 20_000 });
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

    // shutdown: what is still queued at the drain deadline. The first message's handler runs
    // until the gate opens: once its actor is stopping, so the second is still queued then.
    const busy = system.spawn(Napper, undefined, { placement: { thread: 1 } });
    const napGate = fileGate();
    busy.tell('napUntil', { gate: napGate.path, capMs: 20_000 });
    busy.tell('napUntil', { gate: napGate.path, capMs: 20_000 });
    await until(async () => (await system.inspect()).find((a) => a.id === busy.id)?.mailboxDepth === 1, 5000, 'one held, one queued');
    const shutdown = system.shutdown({ drainMs: 0 });
    await stopBegun(system, busy.id);
    napGate.open();
    await shutdown;
    await until(() => count('shutdown') === 1, 5000, 'a shutdown dead letter');

    expect(REASONS.map(count)).toEqual(REASONS.map(() => 1));
    expect(new Set(letters.map((l) => l.reason))).toEqual(new Set(REASONS));
    const s = system.stats();
    expect(s.accepted).toBe(s.handled + (s.deadLetters - s.lateReplies) + s.duplicates);
    // Counted by reason too, on whichever thread raised each (one that died included).
    expect(s.deadLettersByReason).toEqual(Object.fromEntries([...REASONS.map((reason) => [reason, 1]), ...NOT_PROVOKED.map((reason) => [reason, 0])]));
    napGate.dispose();
  });
});

describe('dead letters as an async iterable', () => {
  /** The counter's tell, for a type it has no handler for (an `unhandled` dead letter each). */
  const unhandled = (ref: unknown) => (payload: unknown) => (ref as { tell(type: string, payload: unknown): void }).tell('nothing-handles-this', payload);

  it('delivers the letters of a worker through for await, to each iterator, and break unsubscribes', async () => {
    const system = await systems.start({ threads: 1 });
    const counter = system.spawn(Counter, { start: 0 }, { placement: { thread: 1 } });
    await counter.ask('get');
    const read = async (n: number): Promise<DeadLetter[]> => {
      const seen: DeadLetter[] = [];
      for await (const letter of system.deadLetters) {
        seen.push(letter);
        if (seen.length === n) break;
      }
      return seen;
    };
    const three = read(3);
    const one = read(1);
    for (let i = 0; i < 3; i++) unhandled(counter)(i);
    expect((await one).map((l) => l.message.payload)).toEqual([0]);
    expect((await three).map((l) => [l.reason, l.message.type, l.message.payload, l.recipient])).toEqual(
      [0, 1, 2].map((i) => ['unhandled', 'nothing-handles-this', i, counter.id]),
    );
    // Both loops broke: nobody listens, so the worker forwards nothing any more (it only counts).
    const out = system.stats().threads[1]!.messagesOut;
    unhandled(counter)(3);
    await until(() => system.stats().threads[1]!.deadLetters === 4, 5000, 'the fourth dead letter');
    expect(system.stats().threads[1]!.messagesOut).toBe(out);
  });

  it('keeps the letters that arrive between two reads', async () => {
    const system = await systems.start({ threads: 1 });
    const counter = system.spawn(Counter, { start: 0 }, { placement: { thread: 1 } });
    await counter.ask('get');
    const iterator = system.deadLetters[Symbol.asyncIterator]();
    const first = iterator.next();
    const witness: DeadLetter[] = [];
    const stop = system.deadLetters.subscribe((letter) => witness.push(letter));
    for (let i = 0; i < 3; i++) unhandled(counter)(i);
    expect((await first).value?.message.payload).toBe(0);
    await until(() => witness.length === 3, 5000, 'three letters on main');
    stop();
    expect([(await iterator.next()).value?.message.payload, (await iterator.next()).value?.message.payload]).toEqual([1, 2]);
    expect(await iterator.return!()).toEqual({ done: true, value: undefined });
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
  });

  it('subscribes from the first next(): a letter raised before it is not seen', async () => {
    const system = await systems.start({ threads: 1 });
    const counter = system.spawn(Counter, { start: 0 }, { placement: { thread: 1 } });
    await counter.ask('get');
    const iterator = system.deadLetters[Symbol.asyncIterator]();
    unhandled(counter)('before');
    await until(() => system.stats().threads[1]!.deadLetters === 1, 5000, 'the first dead letter');
    const next = iterator.next();
    unhandled(counter)('after');
    expect((await next).value?.message.payload).toBe('after');
    await iterator.return!();
  });

  it('ends once the system has shut down, after the letters of the shutdown itself', async () => {
    const system = await systems.start({ threads: 1, shutdownTimeoutMs: 20_000 }); // no stop forced: the gate opens first
    const busy = system.spawn(Napper, undefined, { placement: { thread: 1 } });
    // The first handler runs until the gate opens, once its actor is stopping: the second is
    // still queued then, and is the shutdown's one dead letter.
    const gate = fileGate();
    busy.tell('napUntil', { gate: gate.path, capMs: 20_000 });
    busy.tell('napUntil', { gate: gate.path, capMs: 20_000 });
    await until(async () => (await system.inspect()).find((a) => a.id === busy.id)?.mailboxDepth === 1, 5000, 'one held, one queued');
    const reading = (async () => {
      const reasons: DeadLetterReason[] = [];
      for await (const letter of system.deadLetters) reasons.push(letter.reason);
      return reasons;
    })();
    const shutdown = system.shutdown({ drainMs: 0 });
    await stopBegun(system, busy.id);
    gate.open();
    await shutdown;
    expect(await reading).toEqual(['shutdown']);
    expect(await system.deadLetters[Symbol.asyncIterator]().next()).toEqual({ done: true, value: undefined });
    gate.dispose();
  });
});
