// SEMANTICS.md K1–K4, K6 and K8: at-least-once delivery and dedup. The ack-mode actor runs on
// the main thread, whose clock is the test system's manual clock, so every deadline and delay
// is stepped, never slept on.

import { afterEach, describe, expect, it } from 'vitest';
import { ActorFailedError, InvalidArgumentError, type DeadLetter, type SpawnOptions } from 'troupe';
import type { TestSystem } from 'troupe/testing';
import { Acker, Recorder, ackHandles, ackLog, ackWaiting } from '../fixtures/actors.js';
import { useTestSystem } from '../support/system.js';
import { until } from '../support/wait.js';

const systems = useTestSystem();

afterEach(() => {
  ackLog.length = 0;
  ackWaiting.length = 0;
  ackHandles.length = 0;
});

const AT_LEAST_ONCE: SpawnOptions['delivery'] = { mode: 'at-least-once', ackWaitMs: 100, maxDeliver: 5 };

async function acker(delivery: SpawnOptions['delivery'] = AT_LEAST_ONCE) {
  // A handler that hangs would hold the test's shutdown for the default 5 s.
  const system = await systems.start({ threads: 1, shutdownTimeoutMs: 100 });
  const dead: DeadLetter[] = [];
  system.deadLetters.subscribe((l) => dead.push(l));
  const actor = system.spawn(Acker, undefined, { placement: { thread: 0 }, delivery });
  return { system, actor, dead };
}

/** Lets the main thread's scheduler run what the last step made ready. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

function attempts(what: string) {
  return ackLog.filter((a) => a.what === what).map((a) => [a.count, a.redelivered]);
}

function conserved(system: TestSystem): void {
  const s = system.stats();
  expect(s.accepted).toBe(s.handled + s.deadLetters + s.duplicates);
}

describe('at-least-once delivery', () => {
  it('K1: a handler that overruns ackWaitMs is abandoned and its message delivered again', async () => {
    const { system, actor } = await acker();
    actor.tell('do', 'hang');
    await until(() => attempts('hang').length === 1, 5000, 'attempt 1');
    system.clock.advance(99);
    await settle();
    expect(attempts('hang')).toHaveLength(1);
    system.clock.advance(1);
    await until(() => attempts('hang').length === 2, 5000, 'attempt 2');
    system.clock.advance(100);
    await until(() => attempts('hang').length === 3, 5000, 'attempt 3');
    expect(attempts('hang')).toEqual([
      [1, false],
      [2, true],
      [3, true],
    ]);
  });

  it('K2: nack(delay) delivers again after the delay', async () => {
    const { system, actor } = await acker();
    const answer = actor.ask('do', 'nack-once');
    await until(() => attempts('nack-once').length === 1, 5000, 'attempt 1');
    system.clock.advance(49);
    await settle();
    expect(attempts('nack-once')).toHaveLength(1);
    system.clock.advance(1);
    await until(() => attempts('nack-once').length === 2, 5000, 'attempt 2');
    expect(await answer).toBe('nacked');
    conserved(system);
  });

  it('K2: inProgress() moves the deadline', async () => {
    const { system, actor } = await acker();
    actor.tell('do', 'wait');
    await until(() => ackWaiting.length === 1, 5000, 'attempt 1');
    system.clock.advance(80);
    ackWaiting[0]!.progress(); // now due at 180
    system.clock.advance(80);
    await settle();
    expect(attempts('wait')).toHaveLength(1);
    system.clock.advance(20);
    await until(() => attempts('wait').length === 2, 5000, 'attempt 2 after the moved deadline');
  });

  it('K2: term() ends the message as a dead letter, not delivered again', async () => {
    const { system, actor, dead } = await acker();
    await expect(actor.ask('do', 'term')).rejects.toBeInstanceOf(ActorFailedError);
    expect(dead.map((l) => [l.reason, l.deliveryCount])).toEqual([['terminated', 1]]);
    system.clock.advance(1000);
    await settle();
    expect(attempts('term')).toHaveLength(1);
    conserved(system);
  });

  it('K2: acks are idempotent; an acked message is not delivered again when the handler throws', async () => {
    const { system, actor } = await acker();
    actor.tell('do', 'ack-twice-then-throw');
    await until(() => ackLog.some((a) => a.what === 'restart'), 5000, 'the restart');
    system.clock.advance(1000);
    await settle();
    expect(attempts('ack-twice-then-throw')).toEqual([[1, false]]);
    expect(system.stats().handled).toBe(1);
    conserved(system);
  });

  it('K3: a throw counts as a nack: the restarted instance gets the message again', async () => {
    const { system, actor } = await acker();
    const answer = actor.ask('do', 'throw-once');
    expect(await answer).toBe('ok on attempt 2'); // the first failure did not reject the ask
    expect(ackLog.map((a) => a.what)).toEqual(['throw-once', 'restart', 'throw-once']);
    expect(attempts('throw-once')).toEqual([
      [1, false],
      [2, true],
    ]);
    conserved(system);
  });

  it('K4: after maxDeliver attempts, at the backoff delays, the message is a dead letter', async () => {
    const { system, actor, dead } = await acker({ mode: 'at-least-once', maxDeliver: 3, backoffMs: [50, 100] });
    const answer = actor.ask('do', 'always-throw').catch((error: unknown) => error);
    await until(() => attempts('always-throw').length === 1, 5000, 'attempt 1');
    system.clock.advance(49);
    await settle();
    expect(attempts('always-throw')).toHaveLength(1);
    system.clock.advance(1);
    await until(() => attempts('always-throw').length === 2, 5000, 'attempt 2 at 50 ms');
    system.clock.advance(99);
    await settle();
    expect(attempts('always-throw')).toHaveLength(2);
    system.clock.advance(1);
    await until(() => dead.length === 1, 5000, 'the dead letter after attempt 3 at 150 ms');
    expect(attempts('always-throw')).toHaveLength(3);
    expect(dead[0]).toMatchObject({ reason: 'max-deliveries', deliveryCount: 3 });
    expect(await answer).toBeInstanceOf(ActorFailedError);
    conserved(system);
  });

  it('K5: with maxAckPending 2, deferred acks let two messages be outstanding; the third waits for an ack; a redelivery may overtake', async () => {
    const { system, actor, dead } = await acker({ ...AT_LEAST_ONCE, maxAckPending: 2 });
    for (let i = 0; i < 4; i++) actor.tell('do', 'defer');
    await until(() => attempts('defer').length === 2, 5000, 'two outstanding');
    await settle();
    expect(attempts('defer')).toHaveLength(2); // the third waits
    ackHandles[0]!.ack();
    await until(() => attempts('defer').length === 3, 5000, 'the third, after an ack');
    ackHandles[1]!.nack(); // goes again ahead of the fourth: order is no longer strict
    await until(() => attempts('defer').length === 4, 5000, 'the redelivery');
    expect(attempts('defer')[3]).toEqual([2, true]);
    await settle();
    expect(attempts('defer')).toHaveLength(4); // two outstanding again: #3 and #2's second attempt
    ackHandles[0]!.ack(); // idempotent: already acked
    system.clock.advance(100); // both deadlines pass: both go again
    await until(() => attempts('defer').length === 6, 5000, 'both again after their deadline');
    expect(attempts('defer').slice(4).every(([count, again]) => (count as number) >= 2 && again === true)).toBe(true);
    for (const h of ackHandles) h.ack();
    await until(() => attempts('defer').length === 7, 5000, 'the fourth, at last');
    expect(attempts('defer')[6]).toEqual([1, false]);
    for (const h of ackHandles) h.ack();
    await settle();
    expect(dead).toEqual([]);
    conserved(system);
  });

  it('K5: with maxAckPending 1 (the default), a deferred ack holds the next message back: order stays strict', async () => {
    const { actor } = await acker();
    actor.tell('do', 'defer');
    actor.tell('do', 'after');
    await until(() => attempts('defer').length === 1, 5000, 'the first');
    await settle();
    expect(attempts('after')).toHaveLength(0);
    ackHandles[0]!.ack();
    await until(() => attempts('after').length === 1, 5000, 'the second, after the ack');
  });

  it('K5: deferred messages never acked become dead letters when the actor stops', async () => {
    const { system, actor, dead } = await acker({ ...AT_LEAST_ONCE, maxAckPending: 3 });
    for (let i = 0; i < 3; i++) actor.tell('do', 'defer');
    await until(() => attempts('defer').length === 3, 5000, 'three outstanding');
    await system.stop(actor);
    expect(dead.map((l) => l.reason)).toEqual(['stopped', 'stopped', 'stopped']);
    for (const h of ackHandles) h.ack(); // too late: changes nothing
    conserved(system);
  });

  it('K8: dedup never suppresses a redelivery', async () => {
    const { system, actor } = await acker();
    actor.tell('do', 'hang', { messageId: 'm-1' });
    await until(() => attempts('hang').length === 1, 5000, 'attempt 1');
    system.clock.advance(100);
    await until(() => attempts('hang').length === 2, 5000, 'attempt 2');
    expect(system.stats().duplicates).toBe(0);
  });

  it('messages queued behind an outstanding one wait for it: order stays strict', async () => {
    const { system, actor } = await acker();
    actor.tell('do', 'throw-once');
    actor.tell('do', 'after');
    await until(() => attempts('after').length === 1, 5000, 'the second message');
    expect(ackLog.map((a) => `${a.what}#${a.count}`)).toEqual(['throw-once#1', 'restart#0', 'throw-once#2', 'after#1']);
    conserved(system);
  });

  it('refuses the ack verbs outside ack mode, and bad delivery options', async () => {
    const system = await systems.start({ threads: 1 });
    expect(() => system.spawn(Acker, undefined, { delivery: { mode: 'exactly-once' as never } })).toThrow(/options\.delivery\.mode/);
    expect(() => system.spawn(Acker, undefined, { delivery: { maxDeliver: 0 } })).toThrow(InvalidArgumentError);
    const plain = system.spawn(Acker, undefined, { placement: { thread: 0 } });
    await expect(plain.ask('do', 'term')).rejects.toMatchObject({ cause: expect.any(InvalidArgumentError) });
  });
});

describe('dedup by messageId', () => {
  it('K6: the same id at 0, 1 and 3 minutes is accepted, a duplicate, accepted', async () => {
    const { system, actor } = await acker({ dedupWindowMs: 120_000 });
    actor.tell('do', 'first', { messageId: 'x' });
    system.clock.advance(60_000);
    actor.tell('do', 'second', { messageId: 'x' });
    system.clock.advance(120_000);
    actor.tell('do', 'third', { messageId: 'x' });
    await until(() => attempts('third').length === 1, 5000, 'the third message');
    expect(ackLog.map((a) => a.what)).toEqual(['first', 'third']);
    expect(system.stats().duplicates).toBe(1);
    conserved(system);
  });

  it('K7 (in part): the dedup table survives a restart of the actor', async () => {
    const { system, actor } = await acker({ dedupWindowMs: 120_000 });
    actor.tell('do', 'always-throw', { messageId: 'y' }); // at-most-once: handled once, then a restart
    await until(() => ackLog.some((a) => a.what === 'restart'), 5000, 'the restart');
    actor.tell('do', 'always-throw', { messageId: 'y' });
    actor.tell('do', 'marker');
    await until(() => attempts('marker').length === 1, 5000, 'the marker');
    expect(attempts('always-throw')).toHaveLength(1);
    expect(system.stats().duplicates).toBe(1);
  });

  it('K6: send resolves { duplicate: true } for an id the receiver has seen, on its thread and across threads', async () => {
    const { system, actor } = await acker({ dedupWindowMs: 120_000 });
    expect(await actor.send('do', 'one', { messageId: 'local' })).toEqual({ duplicate: false });
    expect(await actor.send('do', 'one again', { messageId: 'local' })).toEqual({ duplicate: true });
    expect(await actor.send('do', 'no id')).toEqual({ duplicate: false });
    const remote = system.spawn(Recorder, undefined, { placement: { thread: 1 }, delivery: {} });
    expect(await remote.send('record', 'a', { messageId: 'remote' })).toEqual({ duplicate: false });
    expect(await remote.send('record', 'a again', { messageId: 'remote' })).toEqual({ duplicate: true });
    expect(await remote.send('record', 'b', { messageId: 'other' })).toEqual({ duplicate: false });
    expect(await remote.ask('seen')).toEqual(['a', 'b']);
    expect(system.stats().duplicates).toBe(2);
  });

  it('K6: across threads: the id travels with the message', async () => {
    const system = await systems.start({ threads: 1 });
    const recorder = system.spawn(Recorder, undefined, { placement: { thread: 1 }, delivery: {} });
    recorder.tell('record', 'a', { messageId: 'id-a' });
    recorder.tell('record', 'a again', { messageId: 'id-a' });
    recorder.tell('record', 'b', { messageId: 'id-b' });
    recorder.tell('record', 'no id');
    recorder.tell('record', 'no id');
    await until(async () => (await recorder.ask('count')) === 4, 5000, 'four handled');
    expect(await recorder.ask('seen')).toEqual(['a', 'b', 'no id', 'no id']);
    await until(() => system.stats().duplicates === 1, 5000, 'the duplicate counted');
    conserved(system);
  });
});
