// The diagnostics channels (docs/api.md, Diagnostics): each event with its documented payload,
// for an actor on the main thread and one on a worker; a worker's events reach the main thread
// only while someone there subscribes, and nothing travels otherwise.

import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import { channels, type ActorRef, type AnyDefinition } from 'troupe';
import { ManualClock } from 'troupe/testing';
import { forwardedEvents } from '../../src/actors/node/diagnostics-relay.js';
import { AskRelay, Exiter, Gate, Holder, Parent, Recorder } from '../fixtures/actors.js';
import { Counter } from '../fixtures/counter.js';
import { useSystem } from '../support/system.js';
import { until } from '../support/wait.js';

const systems = useSystem();

type Channel = keyof typeof channels;
const listening: [string, (message: unknown) => void][] = [];

/** Collects what `channel` publishes on this (the main) thread until the test ends. */
function listen(channel: Channel): Record<string, unknown>[] {
  const seen: Record<string, unknown>[] = [];
  const listener = (message: unknown): void => void seen.push(message as Record<string, unknown>);
  subscribe(channels[channel], listener);
  listening.push([channels[channel], listener]);
  return seen;
}

afterEach(() => {
  for (const [name, listener] of listening.splice(0)) unsubscribe(name, listener);
});

const about = (ref: ActorRef<AnyDefinition>) => (event: Record<string, unknown>) => event.id === ref.id;

describe('channels', () => {
  it('names every channel, frozen', () => {
    expect(channels).toEqual({
      spawn: 'troupe:actor:spawn',
      start: 'troupe:actor:start',
      stop: 'troupe:actor:stop',
      restart: 'troupe:actor:restart',
      deadLetter: 'troupe:dead-letter',
      threadExit: 'troupe:thread:exit',
      threadReplace: 'troupe:thread:replace',
      askStart: 'troupe:ask:start',
      askEnd: 'troupe:ask:end',
    });
    expect(Object.isFrozen(channels)).toBe(true);
  });
});

describe.each([
  { thread: 0, where: 'the main thread' },
  { thread: 1, where: 'a worker' },
])('diagnostics of an actor on $where', ({ thread }) => {
  it('publishes its spawn, start, restart and stop, each naming the thread, the actor and its definition', async () => {
    const system = await systems.start({ threads: 2 });
    const [spawns, starts, restarts, stops] = [listen('spawn'), listen('start'), listen('restart'), listen('stop')];
    const ref = system.spawn(Counter, { start: 0 }, { placement: { thread } });
    await expect(ref.ask('fail', 'boom')).rejects.toMatchObject({ code: 'ERR_ACTOR_FAILED' });
    expect(await ref.ask('get')).toBe(0); // restarted: fresh state
    await system.stop(ref);
    const mine = about(ref);
    await until(() => stops.some(mine), 5000, 'the stop event');
    expect(spawns.filter(mine)).toEqual([{ thread, id: ref.id, name: 'Counter', parent: undefined }]);
    expect(starts.filter(mine)).toEqual([
      { thread, id: ref.id, name: 'Counter' },
      { thread, id: ref.id, name: 'Counter' },
    ]);
    expect(restarts.filter(mine)).toEqual([{ thread, id: ref.id, name: 'Counter', error: expect.any(Error) }]);
    expect((restarts.find(mine)!.error as Error).message).toBe('boom');
    expect(stops.filter(mine)).toEqual([{ thread, id: ref.id, name: 'Counter', reason: 'normal' }]);
  });

  it("names a child's parent in its spawn event", async () => {
    const system = await systems.start({ threads: 2 });
    const spawns = listen('spawn');
    const log = system.spawn(Recorder, undefined, { placement: { thread: 0 } });
    const parent = await system.start(Parent, { to: log, n: 1, spread: false }, { placement: { thread } });
    await until(() => spawns.some((e) => e.parent === parent.id), 5000, "the child's spawn");
    expect(spawns.find((e) => e.parent === parent.id)).toEqual({ thread, id: expect.any(String), name: 'Child', parent: parent.id });
  });

  it('publishes its dead letters with their reason, with no dead-letter listener on the system', async () => {
    const system = await systems.start({ threads: 2 });
    const letters = listen('deadLetter');
    const ref = system.spawn(Counter, { start: 0 }, { placement: { thread } });
    (ref as unknown as { tell(type: string, payload: number): void }).tell('nobody-handles-this', 7);
    await ref.ask('get');
    await until(() => letters.length > 0, 5000, 'the dead letter');
    expect(letters).toEqual([
      {
        thread,
        letter: expect.objectContaining({ reason: 'unhandled', recipient: ref.id, message: { type: 'nobody-handles-this', payload: 7 } }),
      },
    ]);
  });

  it('publishes the start and end of each ask made there, with target, type, outcome and duration', async () => {
    const system = await systems.start({ threads: 2 });
    const [begun, ended] = [listen('askStart'), listen('askEnd')];
    const asker = system.spawn(AskRelay, undefined, { placement: { thread } });
    const counter = system.spawn(Counter, { start: 5 }, { placement: { thread: 2 } });
    const holder = system.spawn(Holder, undefined, { placement: { thread: 2 } });
    const gate = system.spawn(Gate, undefined, { placement: { thread: 2 } });
    expect(await asker.ask('relay', { target: counter, type: 'get' })).toEqual({ reply: 5 });
    expect(await asker.ask('relay', { target: counter, type: 'fail', payload: 'no' })).toEqual({ code: 'ERR_ACTOR_FAILED' });
    expect(await asker.ask('relay', { target: holder, type: 'hold', timeoutMs: 20 })).toEqual({ code: 'ERR_ASK_TIMEOUT' });
    await until(async () => (await gate.ask('open', 'late')) === true, 5000, 'the hold to be released');
    const fromAsker = (e: Record<string, unknown>) => e.thread === thread && (e.id === counter.id || e.id === holder.id);
    await until(() => ended.filter(fromAsker).length === 3, 5000, 'three ask ends');
    const starts = begun.filter(fromAsker);
    expect(starts).toEqual([
      { thread, askId: expect.any(Number), id: counter.id, name: 'Counter', type: 'get' },
      { thread, askId: expect.any(Number), id: counter.id, name: 'Counter', type: 'fail' },
      { thread, askId: expect.any(Number), id: holder.id, name: 'Holder', type: 'hold' },
    ]);
    const ends = ended.filter(fromAsker);
    expect(ends.map((e) => [e.askId, e.outcome, (e.error as Error | undefined)?.name])).toEqual([
      [starts[0]!.askId, 'reply', undefined],
      [starts[1]!.askId, 'error', 'ActorFailedError'],
      [starts[2]!.askId, 'timeout', 'AskTimeoutError'],
    ]);
    for (const e of ends) expect(e.durationMs).toBeGreaterThanOrEqual(0);
    expect(ends[2]!.durationMs).toBeGreaterThanOrEqual(20);
  });
});

describe('diagnostics of the main thread', () => {
  it("times an ask from outside any actor by the system's clock", async () => {
    const clock = new ManualClock();
    const system = await systems.start({ threads: 1, clock });
    const ended = listen('askEnd');
    const holder = system.spawn(Holder, undefined, { placement: { thread: 1 } });
    const gate = system.spawn(Gate, undefined, { placement: { thread: 1 } });
    const outcome = holder.ask('hold', undefined, { timeoutMs: 250 }).catch((error: Error) => error.name);
    clock.advance(250);
    expect(await outcome).toBe('AskTimeoutError');
    expect(ended).toEqual([
      { thread: 0, askId: expect.any(Number), id: holder.id, name: 'Holder', type: 'hold', outcome: 'timeout', durationMs: 250, error: expect.any(Error) },
    ]);
    await until(async () => (await gate.ask('open', 'late')) === true, 5000, 'the hold to be released');
  });

  it('publishes the exit of a worker and its replacement, naming the thread', async () => {
    const system = await systems.start({ threads: 1 });
    const [exits, replaced] = [listen('threadExit'), listen('threadReplace')];
    system.spawn(Exiter, undefined, { placement: { thread: 1 } }).tell('exit', { code: 7, spinMs: 0 });
    await until(() => replaced.length === 1, 10_000, 'the replacement');
    expect(exits).toEqual([{ thread: 1, code: 7, error: null, kind: 'thread-exit' }]);
    expect(replaced).toEqual([{ thread: 1, spare: false }]);
    expect(await system.spawn(Counter, { start: 3 }, { placement: { thread: 1 } }).ask('get')).toBe(3);
  });
});

describe('forwarding from workers', () => {
  it("sends a worker's events to the main thread only while someone there subscribes to their channel", async () => {
    const system = await systems.start({ threads: 1 });
    const quiet = async () => {
      const ref = system.spawn(Counter, { start: 0 }, { placement: { thread: 1 } });
      await ref.ask('get');
      await system.stop(ref);
      return ref;
    };
    // Nobody listens: the worker's spawn, start, ask and stop events send nothing.
    let before = forwardedEvents();
    await quiet();
    expect(forwardedEvents()).toBe(before);

    // A subscriber to spawns: exactly the spawn comes (its start and stop are not watched).
    const spawns = listen('spawn');
    before = forwardedEvents();
    const watched = await quiet();
    await until(() => spawns.some(about(watched)), 5000, 'the spawn event');
    expect(forwardedEvents() - before).toBe(1);

    // Unsubscribed: nothing more travels (main notices before it sends the next spawn).
    unsubscribe(channels.spawn, listening.pop()![1]);
    before = forwardedEvents();
    await quiet();
    expect(forwardedEvents()).toBe(before);
    expect(spawns).toHaveLength(1);
  });
});
