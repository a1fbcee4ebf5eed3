// Cancellation with AbortSignal: ask and send take { signal }; a handler gets ctx.signal, aborted
// when its actor stops or its ack-mode attempt is abandoned. Each on the caller's thread and on
// another.

import { describe, expect, it } from 'vitest';
import type { DeadLetter } from 'troupe';
import { Recorder, SignalWaiter } from '../fixtures/actors.js';
import { Counter } from '../fixtures/counter.js';
import { fileGate } from '../support/gate.js';
import { useSystem } from '../support/system.js';
import { until } from '../support/wait.js';

const systems = useSystem();

for (const thread of [0, 1]) {
  describe(`cancellation (actor on thread ${thread})`, () => {
    it('an ask or send with a signal already aborted rejects at once with its reason, and nothing is sent', async () => {
      const system = await systems.start({ threads: 1 });
      const counter = system.spawn(Counter, { start: 0 }, { placement: { thread } });
      expect(await counter.ask('get')).toBe(0);
      const accepted = system.stats().accepted;
      const reason = new Error('changed my mind');
      await expect(counter.ask('add', 1, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
      await expect(counter.send('add', 1, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
      // Something that is not an AbortSignal: a typed error, and nothing sent either.
      await expect(counter.ask('add', 1, { signal: 'stop' as never })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
      await expect(counter.send('add', 1, { signal: {} as never })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
      expect(system.stats().accepted).toBe(accepted);
      expect(await counter.ask('get')).toBe(0);
    });

    it('an ask aborted after it was sent rejects at once; the answer that comes later is a late reply', async () => {
      const system = await systems.start({ threads: 1 });
      const letters: DeadLetter[] = [];
      system.deadLetters.subscribe((l) => letters.push(l));
      const counter = system.spawn(Counter, { start: 0 }, { placement: { thread } });
      const controller = new AbortController();
      const asked = counter.ask('sleep', 50, { signal: controller.signal, timeoutMs: 10_000 });
      controller.abort(new Error('no longer needed'));
      await expect(asked).rejects.toThrow('no longer needed');
      await until(() => letters.some((l) => l.reason === 'late-reply'), 5000, 'the late reply');
    });

    it('a send waiting for room gives up when aborted: it rejects with the reason, and the message never arrives', async () => {
      const system = await systems.start({ threads: 1 });
      const counter = system.spawn(Counter, { start: 0 }, { placement: { thread }, mailbox: { capacity: 1, overflow: 'backpressure' } });
      expect(await counter.ask('get')).toBe(0);
      const gate = fileGate();
      const busy = counter.ask('sleepUntil', { gate: gate.path, capMs: 20_000 }, { timeoutMs: 30_000 }); // once it is busy with this, one more fills its mailbox
      await until(() => {
        try {
          counter.tell('add', 1);
          return true;
        } catch {
          return false; // 'sleep' has not started yet: it still takes the room
        }
      }, 5000, 'room for one');
      const controller = new AbortController();
      const waiting = counter.send('add', 10, { signal: controller.signal, timeoutMs: 10_000 });
      setTimeout(() => controller.abort(new Error('gave up')), 20);
      await expect(waiting).rejects.toThrow('gave up');
      gate.open(); // the room stayed taken until the send gave up
      await busy;
      await until(async () => (await counter.ask('get').catch(() => -1)) === 1, 5000, 'the one add handled');
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await counter.ask('get')).toBe(1); // the aborted 10 never came
      gate.dispose();
    });

    it('ctx.signal aborts when the actor stops, with the reason, so work a handler started ends with it', async () => {
      const system = await systems.start({ threads: 1 });
      const recorder = system.spawn(Recorder, undefined, { placement: { thread: 0 } });
      const waiter = system.spawn(SignalWaiter, { to: recorder }, { placement: { thread } });
      waiter.tell('wait');
      await until(async () => (await recorder.ask('count')) === 1, 5000, 'the handler waiting');
      await system.stop(waiter);
      await until(async () => (await recorder.ask('count')) === 2, 5000, 'the abort reported');
      expect(await recorder.ask('seen')).toEqual(['waiting', `ActorStoppedError: actor ${waiter.id} is stopping`]);
    });
  });
}

describe('cancellation in ack mode', () => {
  it('ctx.signal aborts when the attempt overruns ackWaitMs and is abandoned', async () => {
    const system = await systems.start({ threads: 1 });
    const recorder = system.spawn(Recorder, undefined, { placement: { thread: 0 } });
    const waiter = system.spawn(SignalWaiter, { to: recorder }, { placement: { thread: 1 }, delivery: { mode: 'at-least-once', ackWaitMs: 50, maxDeliver: 1 } });
    waiter.tell('wait');
    await until(async () => (await recorder.ask('count')) >= 2, 5000, 'the abort reported');
    expect((await recorder.ask('seen')).slice(0, 2)).toEqual(['waiting', 'Error: not acknowledged within 50 ms']);
  });
});
