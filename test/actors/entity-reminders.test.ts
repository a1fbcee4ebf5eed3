// Reminders (E7): set by an entity's handler with its commit, they fire as messages of their
// name, repeat with everyMs until cancelled, survive passivation and (with storage) a restart of
// the process; one that fell due while it was down fires after recovery. Bad input is refused.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSystem, type ActorSystem } from 'troupe';
import { Alarm } from '../fixtures/ledger.js';
import { Recorder } from '../fixtures/actors.js';
import { until } from '../support/wait.js';

const systems: ActorSystem[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const system of systems.splice(0)) await system.shutdown({ drainMs: 0 });
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function start(path?: string): Promise<ActorSystem> {
  const system = await createSystem({ threads: 2, ...(path === undefined ? {} : { storage: { path } }) });
  systems.push(system);
  return system;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('entity reminders', () => {
  it('E7: a reminder fires once as a message of its name; one that repeats does until cancelled', async () => {
    const system = await start();
    const alarm = system.entity(Alarm, 'a');
    await alarm.ask('set', { name: 'ring', afterMs: 20 });
    await until(async () => (await alarm.ask('rings')).length === 1, 5000, 'the reminder');
    await alarm.ask('set', { name: 'tick', afterMs: 1, everyMs: 10 });
    await until(async () => (await alarm.ask('rings')).filter((r) => r.name === 'tick').length >= 3, 5000, 'three ticks');
    await alarm.ask('cancel', 'tick');
    const ticks = (await alarm.ask('rings')).filter((r) => r.name === 'tick').length;
    await sleep(60);
    expect((await alarm.ask('rings')).filter((r) => r.name === 'tick').length).toBeLessThanOrEqual(ticks + 1); // one may have been on its way
    const rung = (await alarm.ask('rings')).filter((r) => r.name === 'ring');
    expect(rung).toHaveLength(1);
    expect(rung[0]!.at).toBeGreaterThanOrEqual(rung[0]!.due);
  });

  it('E7: a handler that fails sets no reminder; bad input and a call from a plain actor are refused with typed errors', async () => {
    const system = await start();
    const alarm = system.entity(Alarm, 'b');
    await expect(alarm.ask('setThenFail')).rejects.toMatchObject({ code: 'ERR_ACTOR_FAILED' });
    await sleep(50);
    expect(await alarm.ask('rings')).toEqual([]);
    expect(await alarm.ask('tryRemind', { afterMs: 5, at: Date.now() })).toBe('ERR_INVALID_ARGUMENT');
    expect(await alarm.ask('tryRemind', {})).toBe('ERR_INVALID_ARGUMENT');
    expect(await alarm.ask('tryRemind', { afterMs: -1 })).toBe('ERR_INVALID_ARGUMENT');
    expect(await alarm.ask('tryRemind', { afterMs: 5, every: 5 })).toBe('ERR_INVALID_ARGUMENT');
    expect(await alarm.ask('tryRemind', { afterMs: 5, everyMs: 0 })).toBe('ERR_INVALID_ARGUMENT');
    await sleep(50);
    expect(await alarm.ask('rings')).toEqual([]); // what the failed handler set was dropped, not committed by a later one
    // A plain actor has no reminders.
    const recorder = system.spawn(Recorder, undefined, { placement: { thread: 1 } });
    expect(await recorder.ask('tryRemind')).toBe('ERR_INVALID_ARGUMENT');
  });

  it('E7: with storage, a reminder that fell due while the process was down fires after the restart', async () => {
    const path = mkdtempSync(join(tmpdir(), 'troupe-remind-'));
    dirs.push(path);
    let system = await start(path);
    await system.entity(Alarm, 'c').ask('set', { name: 'ring', afterMs: 300 });
    await system.shutdown();
    systems.splice(0);
    await sleep(400); // due while no process runs it
    system = await start(path);
    const alarm = system.entity(Alarm, 'c');
    await until(async () => (await alarm.ask('rings')).length === 1, 5000, 'the late reminder');
    const [rung] = await alarm.ask('rings');
    expect(rung!.name).toBe('ring');
    expect(rung!.at - rung!.due).toBeGreaterThanOrEqual(0);
    await sleep(50);
    expect(await alarm.ask('rings')).toHaveLength(1); // once: it is gone from the store
  });
});
