import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from 'troupe';
import { Recorder, Ticker } from '../fixtures/actors.js';
import { useTestSystem } from '../support/system.js';

const systems = useTestSystem();

/** A Ticker on the main thread, whose timers run on the system's manual clock. */
async function mainThreadTicker() {
  const system = await systems.start();
  return { system, ticker: system.spawn(Ticker, {}, { placement: { thread: 0 } }) };
}

describe('timers', () => {
  it('once: sends the message after its delay, once', async () => {
    const { system, ticker } = await mainThreadTicker();
    await ticker.ask('once', { ms: 100, payload: 'a' });
    system.clock.advance(99);
    expect(await ticker.ask('ticks')).toEqual([]);
    system.clock.advance(1);
    expect(await ticker.ask('ticks')).toEqual(['a']);
    system.clock.advance(1000);
    expect(await ticker.ask('ticks')).toEqual(['a']);
  });

  it('every: repeats until cancelled', async () => {
    const { system, ticker } = await mainThreadTicker();
    const key = await ticker.ask('every', { ms: 10, payload: 'r' });
    system.clock.advance(35);
    expect(await ticker.ask('ticks')).toEqual(['r', 'r', 'r']);
    expect(await ticker.ask('cancel', key)).toBe(true);
    expect(await ticker.ask('active', key)).toBe(false);
    system.clock.advance(100);
    expect(await ticker.ask('ticks')).toEqual(['r', 'r', 'r']);
  });

  it('a timer started under a key in use replaces it', async () => {
    const { system, ticker } = await mainThreadTicker();
    await ticker.ask('once', { ms: 10, payload: 'first', key: 'k' });
    await ticker.ask('once', { ms: 20, payload: 'second', key: 'k' });
    system.clock.advance(50);
    expect(await ticker.ask('ticks')).toEqual(['second']);
  });

  it('is cancelled when the actor restarts, so the new incarnation never sees it', async () => {
    const { system, ticker } = await mainThreadTicker();
    await ticker.ask('every', { ms: 10, payload: 'old', key: 'k' });
    await expect(ticker.ask('fail')).rejects.toMatchObject({ code: 'ERR_ACTOR_FAILED' });
    expect(await ticker.ask('active', 'k')).toBe(false);
    system.clock.advance(100);
    expect(await ticker.ask('ticks')).toEqual([]);
  });

  it('is cancelled when the actor stops', async () => {
    const system = await systems.start();
    const probe = system.createProbe();
    const ticker = system.spawn(Ticker, { to: probe.refAs<typeof Recorder>() }, { placement: { thread: 0 } });
    await ticker.ask('every', { ms: 10, payload: 'x' });
    system.clock.advance(10);
    expect((await probe.expectMessage('record')).payload).toBe('x');
    await system.stop(ticker);
    expect(system.clock.pending).toBe(0);
    system.clock.advance(100);
    await probe.expectNoMessage(20);
  });

  it('refuses a bad delay with InvalidArgumentError, and the actor carries on', async () => {
    const { ticker } = await mainThreadTicker();
    const error = await ticker.ask('every', { ms: 0, payload: 'x' }).catch((e: unknown) => e);
    expect((error as Error).cause).toBeInstanceOf(InvalidArgumentError);
    expect(await ticker.ask('ticks')).toEqual([]);
  });

  it('runs on worker threads with real time', async () => {
    const system = await systems.start();
    const probe = system.createProbe();
    const ticker = system.spawn(Ticker, { to: probe.refAs<typeof Recorder>() }, { placement: { thread: 1 } });
    ticker.tell('once', { ms: 5, payload: 'from a worker' });
    expect((await probe.expectMessage('record')).payload).toBe('from a worker');
  });
});
