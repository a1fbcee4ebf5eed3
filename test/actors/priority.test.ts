import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from 'troupe';
import { PauseGate, Pausable } from '../fixtures/actors.js';
import { useSystem } from '../support/system.js';
import { until } from '../support/wait.js';

const systems = useSystem();

/** An actor on a worker, paused in a handler while the test fills its mailbox. */
async function paused() {
  const system = await systems.start({ threads: 1 });
  const actor = system.spawn(Pausable, undefined, { placement: { thread: 1 } });
  const gate = system.spawn(PauseGate, undefined, { placement: { thread: 1 } });
  actor.tell('pause');
  return {
    actor,
    resume: () => until(async () => await gate.ask('open'), 5000, 'the actor to pause and resume'),
  };
}

describe('priority', () => {
  it('P1: higher priorities go first, equal ones stay FIFO, the running handler is not preempted', async () => {
    const { actor, resume } = await paused();
    actor.tell('rec', 'low1');
    actor.tell('rec', 'high1', { priority: 3 });
    actor.tell('rec', 'low2', { priority: 0 });
    actor.tell('rec', 'high2', { priority: 3 });
    actor.tell('rec', 'mid', { priority: 1 });
    await resume();
    expect(await actor.ask('log')).toEqual(['high1', 'high2', 'mid', 'low1', 'low2']);
  });

  it('P2: a missing priority counts as 0, one above 3 counts as 3, one below 0 as 0', async () => {
    const { actor, resume } = await paused();
    actor.tell('rec', 'none');
    actor.tell('rec', 'nine', { priority: 9 });
    actor.tell('rec', 'three', { priority: 3 });
    actor.tell('rec', 'minus', { priority: -2 });
    actor.tell('rec', 'two', { priority: 2.7 });
    await resume();
    expect(await actor.ask('log')).toEqual(['nine', 'three', 'two', 'none', 'minus']);
  });

  it('an ask can carry a priority too', async () => {
    const { actor, resume } = await paused();
    actor.tell('rec', 'normal');
    const urgent = actor.ask('log', undefined, { priority: 3 });
    await resume();
    expect(await urgent).toEqual([]); // answered before the normal message was handled
    expect(await actor.ask('log')).toEqual(['normal']);
  });

  it('refuses a priority that is not a number', async () => {
    const system = await systems.start({ threads: 1 });
    const actor = system.spawn(Pausable, undefined, { placement: { thread: 1 } });
    expect(() => actor.tell('rec', 1, { priority: 'high' as never })).toThrow(InvalidArgumentError);
    await expect(actor.ask('log', undefined, { priority: 'high' as never })).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(await actor.ask('log')).toEqual([]);
  });

  it('orders same-thread messages by priority as well', async () => {
    const system = await systems.start({ threads: 1 });
    const actor = system.spawn(Pausable, undefined, { placement: { thread: 0 } });
    const gate = system.spawn(PauseGate, undefined, { placement: { thread: 0 } });
    actor.tell('pause');
    actor.tell('rec', 'a');
    actor.tell('rec', 'b', { priority: 2 });
    await until(async () => await gate.ask('open'), 5000, 'resume');
    expect(await actor.ask('log')).toEqual(['b', 'a']);
  });
});
