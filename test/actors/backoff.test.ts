import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, MailboxFullError, type ActorRef, type DeadLetter, type SpawnOptions } from 'troupe';
import { Flaky, Recorder, Sup } from '../fixtures/actors.js';
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


/** What the tests below hold of one restarting actor. */
interface Restarting {
  readonly system: { readonly clock: { advance(ms: number): void } };
  readonly ref: { tell(type: 'fail'): void };
  status(): Promise<string | undefined>;
  running(): Promise<void>;
}

/** Fails the actor and checks that it starts again exactly `delay` ms of the manual clock later. */
async function failAndRestartAfter(t: Restarting, delay: number): Promise<void> {
  t.ref.tell('fail');
  await until(async () => (await t.status()) === 'restarting', 5000, 'the failure');
  t.system.clock.advance(delay - 1);
  expect(await t.status()).toBe('restarting');
  t.system.clock.advance(1);
  await t.running();
}

describe('restart backoff', () => {
  it('R4: waits min·2^n, capped at max, before each restart', async () => {
    const t = await flaky({ maxRestarts: 10, backoff: { minMs: 100, maxMs: 1000, jitter: 0 } });
    for (const delay of [100, 200, 400, 800, 1000, 1000]) await failAndRestartAfter(t, delay);
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

/** A Flaky child of a supervising parent on the main thread; the child on `thread`. */
async function supervised(supervision: SpawnOptions['supervision'], child: { thread?: number; backoff?: SpawnOptions['backoff'] }) {
  const system = await systems.start({ threads: 1 });
  const log = system.spawn(Recorder, undefined, { placement: { thread: 0 } });
  const sup = system.spawn(Sup, { log }, { placement: { thread: 0 }, supervision });
  const ref = (await sup.ask('addFlaky', child)) as ActorRef<typeof Flaky>;
  const status = async () => (await system.inspect()).find((a) => a.id === ref.id)?.status;
  const running = () => until(async () => (await status()) === 'running', 5000, 'the child to run');
  await running();
  return { system, ref, status, running };
}

describe('restart backoff under a supervising parent', () => {
  it('R4: a restart its supervisor decides waits out the child\'s own backoff', async () => {
    const t = await supervised({ maxRestarts: 10 }, { backoff: { minMs: 100, maxMs: 1000, jitter: 0 } });
    for (const delay of [100, 200, 400]) await failAndRestartAfter(t, delay);
  });

  it("R4: without a backoff of its own, the child waits out its supervisor's supervision.backoff", async () => {
    const t = await supervised({ maxRestarts: 10, backoff: { minMs: 50, maxMs: 1000, jitter: 0 } }, {});
    for (const delay of [50, 100]) await failAndRestartAfter(t, delay);
  });

  it("R4: a child on another thread waits its supervisor's backoff in real time", async () => {
    const { system, ref, status } = await supervised({ maxRestarts: 10, backoff: { minMs: 300, maxMs: 300, jitter: 0 } }, { thread: 1 });
    const failed = performance.now();
    ref.tell('fail');
    // Restarted and running again, not 'restarting' seen on the way (it lasts only the backoff: a
    // loaded machine may not look in time). Its thread counts the restart as it enters 'restarting'
    // (inspect()'s restarts are those its own policy decided), so running after that is after it.
    await until(async () => system.stats().threads[1]!.restarts === 1 && (await status()) === 'running', 5000, 'the restart');
    expect(performance.now() - failed).toBeGreaterThanOrEqual(290); // it waited (no upper bound: a busy machine is slow)
  });

  it('R6: messages during a supervised backoff wait up to the stash capacity; the rest are restart-stash-full dead letters', async () => {
    const { system, ref, status, running } = await supervised({ backoff: { minMs: 100, maxMs: 100, jitter: 0 } }, {});
    const letters: DeadLetter[] = [];
    system.deadLetters.subscribe((l) => letters.push(l));
    ref.tell('fail');
    await until(async () => (await status()) === 'restarting', 5000, 'the directive to restart');
    for (let i = 1; i <= 1200; i++) ref.tell('rec', i);
    system.clock.advance(100);
    await running();
    expect(await ref.ask('log')).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(letters).toHaveLength(200);
    expect(letters.every((l) => l.reason === 'restart-stash-full')).toBe(true);
  });

  it('refuses an unknown key in supervision, naming it', async () => {
    const system = await systems.start();
    expect(() => system.spawn(Sup, { log: system.spawn(Recorder, undefined) }, { supervision: { backof: { minMs: 1, maxMs: 2 } } as never })).toThrow(InvalidArgumentError);
    expect(() => system.spawn(Sup, { log: system.spawn(Recorder, undefined) }, { supervision: { backof: { minMs: 1, maxMs: 2 } } as never })).toThrow(/options\.supervision\.backof/);
    expect(() => system.spawn(Sup, { log: system.spawn(Recorder, undefined) }, { supervision: { backoff: { minMs: 5, maxMs: 1 } } })).toThrow(/options\.supervision\.backoff\.maxMs/);
  });
});
