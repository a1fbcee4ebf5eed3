// Trace context: given to tell/send/ask or active when they are called, a trace travels with the
// message to any thread, is the handler's ctx.trace (awaits included) and is carried on to what
// the handler sends; a message without one sees none, even in the same turn.

import { describe, expect, it } from 'vitest';
import { withTrace, type ActorRef, type AnyDefinition } from 'troupe';
import { Hop } from '../fixtures/tracing.js';
import { useSystem } from '../support/system.js';
import { until } from '../support/wait.js';

const systems = useSystem();
const TRACE = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

const seen = (hop: ActorRef<typeof Hop>): Promise<(string | null)[]> => hop.ask('seen');

describe('trace context', () => {
  it('follows a message across every thread and on to what each handler sends', async () => {
    const system = await systems.start({ threads: 2 });
    const hops = [1, 2, 0, 1].map((thread) => system.spawn(Hop, undefined, { placement: { thread } }));
    hops[0]!.tell('pass', hops.slice(1) as ActorRef<AnyDefinition>[], { trace: TRACE });
    await until(async () => (await seen(hops[3]!)).length === 1, 5000, 'the last hop');
    for (const hop of hops) expect(await seen(hop)).toEqual([TRACE]);
  });

  it('is taken from withTrace when the call names none, and survives the handlers\' awaits', async () => {
    const system = await systems.start({ threads: 2 });
    const hops = [0, 2, 1].map((thread) => system.spawn(Hop, undefined, { placement: { thread } }));
    await withTrace(TRACE, async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      await hops[0]!.send('passLater', hops.slice(1) as ActorRef<AnyDefinition>[]);
    });
    await until(async () => (await seen(hops[2]!)).length === 1, 5000, 'the last hop');
    for (const hop of hops) expect(await seen(hop)).toEqual([TRACE]);
  });

  for (const thread of [0, 1]) {
    it(`goes with an ask and with what its handler asks in turn (actor on thread ${thread})`, async () => {
      const system = await systems.start({ threads: 1 });
      const first = system.spawn(Hop, undefined, { placement: { thread } });
      const second = system.spawn(Hop, undefined, { placement: { thread: 1 - thread } });
      expect(await first.ask('trace', undefined, { trace: TRACE })).toBe(TRACE);
      expect(await first.ask('askNext', second as ActorRef<AnyDefinition>, { trace: 'a-trace' })).toBe('a-trace');
      expect(await first.ask('trace')).toBeNull();
    });

    it(`is seen by no message that does not carry it, in the same turn too (actor on thread ${thread})`, async () => {
      // Started with a trace active: the scheduler's own loop must not lend it to any message.
      const system = await withTrace('where-the-system-started', () => systems.start({ threads: 1 }));
      const hop = system.spawn(Hop, undefined, { placement: { thread } });
      const other = system.spawn(Hop, undefined, { placement: { thread } });
      // The traced tell schedules the turn: the untraced ones after it must not inherit its trace.
      withTrace(TRACE, () => hop.tell('pass', [other as ActorRef<AnyDefinition>]));
      hop.tell('pass', []);
      hop.tell('pass', [], { trace: 'second' });
      hop.tell('pass', []);
      await until(async () => (await seen(hop)).length === 4, 5000, 'four messages');
      expect(await seen(hop)).toEqual([TRACE, null, 'second', null]);
      expect(await seen(other)).toEqual([TRACE]);
    });

    it(`stays with a message delivered again (actor on thread ${thread})`, async () => {
      const system = await systems.start({ threads: 1 });
      const hop = system.spawn(Hop, undefined, { placement: { thread }, delivery: { mode: 'at-least-once' } });
      hop.tell('nackOnce', undefined, { trace: TRACE });
      await until(async () => (await seen(hop)).length === 2, 5000, 'the redelivery');
      expect(await seen(hop)).toEqual([TRACE, TRACE]);
    });
  }

  it('goes with every copy of a publish, to subscribers on one thread and on others', async () => {
    const system = await systems.start({ threads: 2 });
    const publisher = system.spawn(Hop, undefined, { placement: { thread: 1 } });
    const subscribers = [0, 1, 1, 2, 2].map((thread) => system.spawn(Hop, undefined, { placement: { thread } }));
    const peers = [publisher, subscribers[0]!] as ActorRef<AnyDefinition>[];
    for (const s of subscribers) await s.ask('join', { topic: 'news', peers });
    expect(await publisher.ask('publish', 'news', { trace: TRACE })).toBe(5);
    system.publish('news', 'pass', [], { trace: 'from-main' });
    for (const s of subscribers) await until(async () => (await seen(s)).length === 2, 5000, 'both copies');
    // Two senders (the publisher's thread and main): no order between them is promised.
    for (const s of subscribers) expect([...(await seen(s))].sort()).toEqual([TRACE, 'from-main'].sort());
  });

  it('refuses a trace that is not a short string, with a typed error, and sends nothing', async () => {
    const system = await systems.start({ threads: 1 });
    const hop = system.spawn(Hop, undefined, { placement: { thread: 1 } });
    expect(() => hop.tell('pass', [], { trace: 42 as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringContaining('options.trace') }));
    expect(() => hop.tell('pass', [], { trace: 'x'.repeat(1025) })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    await expect(hop.ask('trace', undefined, { trace: '' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    expect(() => withTrace(undefined as never, () => 1)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringContaining('withTrace(trace)') }));
    expect(await seen(hop)).toEqual([]);
  });
});
