import { describe, expect, it } from 'vitest';
import { MailboxFullError, type DeadLetter, type SpawnOptions } from 'troupe';
import { Flaky } from '../fixtures/actors.js';
import { until } from '../support/wait.js';
import { useTestSystem } from '../support/system.js';

const systems = useTestSystem();

/** A Flaky actor on the main thread, so its backoff runs on the manual clock. */
async function flaky(options: SpawnOptions) {
  const system = await systems.start();
  const ref = system.spawn(Flaky, undefined, { placement: { thread: 0 }, ...options });
  const status = async () => (await system.inspect()).find((a) => a.id === ref.id)?.status;
  const running = () => until(async () => (await status()) === 'running', 5000, 'the actor to run');
  await running();
  return { system, ref, status, running };
}

describe('restart backoff', () => {
  it('R4: waits min·2^n, capped at max, before each restart', async () => {
    const { system, ref, status, running } = await flaky({ maxRestarts: 10, backoff: { minMs: 100, maxMs: 1000, jitter: 0 } });
    for (const delay of [100, 200, 400, 800, 1000, 1000]) {
      ref.tell('fail');
      await until(async () => (await status()) === 'restarting', 5000, 'the failure');
      system.clock.advance(delay - 1);
      expect(await status()).toBe('restarting');
      system.clock.advance(1);
      await running();
    }
  });

  it('R4: adds a random jitter within [d, d·(1+factor)]', async () => {
    const { system, ref, status, running } = await flaky({ backoff: { minMs: 100, maxMs: 1000, jitter: 0.2 } });
    ref.tell('fail');
    await until(async () => (await status()) === 'restarting', 5000, 'the failure');
    system.clock.advance(99);
    expect(await status()).toBe('restarting');
    system.clock.advance(21);
    await running();
  });

  it('R4: stops the actor after maxRestarts failures in a row', async () => {
    const { system, ref, status, running } = await flaky({ maxRestarts: 2, backoff: { minMs: 10, maxMs: 10, jitter: 0 } });
    for (let i = 0; i < 2; i++) {
      ref.tell('fail');
      await until(async () => (await status()) === 'restarting', 5000, 'the failure');
      system.clock.advance(10);
      await running();
    }
    ref.tell('fail');
    await until(async () => (await status()) === undefined, 5000, 'the actor to stop');
  });

  it('R5: the count resets after resetAfterMs without a failure', async () => {
    const { system, ref, status, running } = await flaky({ maxRestarts: 10, backoff: { minMs: 100, maxMs: 1000, jitter: 0 } });
    for (const delay of [100, 200, 400]) {
      ref.tell('fail');
      await until(async () => (await status()) === 'restarting', 5000, 'the failure');
      system.clock.advance(delay);
      await running();
    }
    system.clock.advance(600); // default resetAfter = (100 + 1000) / 2 = 550
    ref.tell('fail');
    await until(async () => (await status()) === 'restarting', 5000, 'the failure');
    system.clock.advance(99);
    expect(await status()).toBe('restarting');
    system.clock.advance(1);
    await running();
  });

  it('R6: messages during the backoff wait, in order, up to the stash capacity; the rest are dead letters', async () => {
    const { system, ref, status, running } = await flaky({ backoff: { minMs: 100, maxMs: 100, jitter: 0 } });
    const letters: DeadLetter[] = [];
    system.deadLetters.subscribe((l) => letters.push(l));
    ref.tell('fail');
    await until(async () => (await status()) === 'restarting', 5000, 'the failure');
    for (let i = 1; i <= 1200; i++) ref.tell('rec', i);
    // An ask that finds the stash full is refused as full (and is one more dead letter).
    await expect(ref.ask('log')).rejects.toBeInstanceOf(MailboxFullError);
    system.clock.advance(100);
    await running();
    expect(await ref.ask('log')).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(letters).toHaveLength(201);
    expect(letters.every((l) => l.reason === 'restart-stash-full')).toBe(true);
    expect(letters[0]!.message.payload).toBe(1001);
  });

  it('R3: a restart whose init throws counts as a restart and is retried', async () => {
    const { system, ref, status, running } = await flaky({ maxRestarts: 5 });
    await ref.ask('failInitsNext', 2);
    ref.tell('fail');
    // The failure restarts it; two inits fail and count as restarts too; the third succeeds.
    await until(async () => (await system.inspect()).find((a) => a.id === ref.id)?.restarts === 3, 5000, 'three restarts');
    await running();
    expect(await status()).toBe('running');
    expect(await ref.ask('log')).toEqual([]);
  });
});
