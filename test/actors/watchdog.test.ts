// SEMANTICS.md W8: the stall watchdog. A thread stuck in a handler past stallTimeoutMs is
// terminated and handled as a crash whose cause says 'stalled'; a long handler below the limit
// only shows in stats. (Real time: the watchdog watches real threads.)

import { describe, expect, it } from 'vitest';
import { ActorFailedError, type DeadLetter } from 'troupe';
import { Recorder, Spinner } from '../fixtures/actors.js';
import { useSystem } from '../support/system.js';
import { until } from '../support/wait.js';

const systems = useSystem();

describe('stall watchdog', () => {
  it('W8: a thread stuck in a handler is terminated and replaced; asks to it fail promptly, naming the stall', async () => {
    const system = await systems.start({ threads: 2, stallTimeoutMs: 300 });
    const dead: DeadLetter[] = [];
    system.deadLetters.subscribe((l) => dead.push(l));
    const stuck = system.spawn(Spinner, undefined, { placement: { thread: 1 } });
    const other = system.spawn(Recorder, undefined, { placement: { thread: 2 } });
    stuck.tell('forever');
    const started = Date.now();
    const answer = stuck.ask('ping', undefined, { timeoutMs: 30_000 }).catch((error: unknown) => error);
    const error = (await answer) as ActorFailedError;
    expect(error).toBeInstanceOf(ActorFailedError);
    expect(String((error.cause as Error).message)).toMatch(/stalled: no progress for \d+ ms in actor /);
    expect(Date.now() - started).toBeLessThan(5000);
    expect((error.cause as Error & { kind: string }).kind).toBe('stalled');
    // The other thread carries on; the stalled one is replaced and the actor restarted there.
    other.tell('record', 'still here');
    expect(await other.ask('seen')).toEqual(['still here']);
    await until(() => system.stats().threads[1]!.replaced === 1 && system.stats().threads[1]!.alive, 5000, 'thread 1 replaced');
    expect(await stuck.ask('ping')).toBe('pong');
    // The message it was stuck in is a dead letter, with all it was (its thread's custody log kept it).
    await until(() => dead.some((l) => l.reason === 'thread-crash' && l.recipient === stuck.id && l.message.type === 'forever'), 5000, 'the stuck message as a dead letter');
  });

  it('a long handler below the limit is not a stall: it shows as the longest turn', async () => {
    const system = await systems.start({ threads: 1, stallTimeoutMs: 2000 });
    const busy = system.spawn(Spinner, undefined, { placement: { thread: 1 } });
    expect(await busy.ask('busy', 150)).toBe(150);
    expect(await busy.ask('ping')).toBe('pong');
    await until(() => system.stats().threads[1]!.longestTurnMs >= 150, 5000, 'the long turn in stats');
    expect(system.stats().threads[1]!.alive).toBe(true);
  });

  it('is off by default: a handler may hold its thread as long as it likes', async () => {
    const system = await systems.start({ threads: 1 });
    const busy = system.spawn(Spinner, undefined, { placement: { thread: 1 } });
    expect(await busy.ask('busy', 400)).toBe(400);
    expect(system.stats().threads[1]!.alive).toBe(true);
  });
});
