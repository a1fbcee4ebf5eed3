import { describe, expect, it } from 'vitest';
import { ActorFailedError, InvalidArgumentError, OffloadError } from 'troupe';
import { Offloader } from '../fixtures/actors.js';
import { fileGate } from '../support/gate.js';
import { useSystem } from '../support/system.js';

const systems = useSystem();

describe('ctx.offload', () => {
  it('runs a task module on the pool and returns its result', async () => {
    const system = await systems.start({ threads: 1 });
    const actor = system.spawn(Offloader, undefined, { placement: { thread: 1 } });
    expect(await actor.ask('fib', 20)).toBe(6765);
  });

  it('brings a task error back typed, with the task error as cause', async () => {
    const system = await systems.start({ threads: 1 });
    const actor = system.spawn(Offloader, undefined, { placement: { thread: 1 } });
    const error = (await actor.ask('fail', 'too big').catch((e: unknown) => e)) as ActorFailedError;
    expect(error).toBeInstanceOf(ActorFailedError); // the handler rethrew it
    expect(error.cause).toBeInstanceOf(OffloadError);
    expect(((error.cause as Error).cause as Error).message).toBe('too big');
    const missing = (await actor.ask('missing').catch((e: unknown) => e)) as ActorFailedError;
    expect((missing.cause as Error).message).toMatch(/no function export named "nope"/);
    const notAUrl = (await actor.ask('notAUrl', './tasks.ts').catch((e: unknown) => e)) as ActorFailedError;
    expect(notAUrl.cause).toBeInstanceOf(InvalidArgumentError);
    expect((notAUrl.cause as Error).message).toContain('offload(taskModuleUrl)');
    expect(await actor.ask('ping')).toBe('pong'); // the actor carries on
  });

  it("keeps the actor's thread serving other actors while a job runs", async () => {
    const system = await systems.start({ threads: 1 });
    const worker = system.spawn(Offloader, undefined, { placement: { thread: 1 } });
    const neighbour = system.spawn(Offloader, undefined, { placement: { thread: 1 } });
    // The job spins until the test opens its gate (not for a fixed time: a loaded machine may
    // take longer than that for the pings).
    const gate = fileGate();
    let jobDone = false;
    const job = worker.ask('spinUntil', { gate: gate.path, capMs: 20_000 }, { timeoutMs: 30_000 }).then((loops) => {
      jobDone = true;
      return loops;
    });
    for (let i = 0; i < 5; i++) expect(await neighbour.ask('ping')).toBe('pong');
    expect(jobDone).toBe(false); // five round trips through the same thread, all while the job ran
    gate.open();
    expect(await job).toBeGreaterThan(0);
    gate.dispose();
  });
});
