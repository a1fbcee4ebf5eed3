// Every actor knows its definition's name: errors, inspect() rows and util.inspect(ref) show it
// beside the id, which stays unique; a ref keeps the name as it travels between threads.

import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { AskTimeoutError, InvalidArgumentError } from 'troupe';
import { Echo, Finder } from '../fixtures/actors.js';
import { Counter } from '../fixtures/counter.js';
import { useSystem } from '../support/system.js';

const systems = useSystem();

describe('names', () => {
  it.each([0, 1])('an ask that times out names the actor by its definition and id; inspect() and util.inspect show the name (thread %i)', async (thread) => {
    const system = await systems.start({ threads: 1 });
    const counter = system.spawn(Counter, { start: 0 }, { placement: { thread } });
    expect(await counter.ask('get')).toBe(0); // started: its module is loaded where it lives
    const error = await counter.ask('sleep', 500, { timeoutMs: 50 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AskTimeoutError);
    expect((error as Error).message).toBe(`ask "sleep" to Counter ${counter.id} timed out after 50 ms`);
    expect(inspect(counter)).toBe(`ActorRef(Counter ${counter.id}@${thread})`);
    const row = (await system.inspect()).find((a) => a.id === counter.id);
    expect(row?.name).toBe('Counter');
  });

  it('a ref keeps its name when it travels to another thread and back', async () => {
    const system = await systems.start({ threads: 2 });
    const counter = system.spawn(Counter, { start: 0 }, { placement: { thread: 1 } });
    const echo = system.spawn(Echo, undefined, { placement: { thread: 2 } });
    const back = (await echo.ask('echo', { ref: counter })) as { ref: typeof counter };
    expect(String(back.ref)).toBe(`ActorRef(Counter ${counter.id}@1)`);
    expect(await back.ref.ask('get')).toBe(0);
  });
});

describe('registered names', () => {
  it('a name found from main and from any worker while its actor lives; taken, it is refused; freed when the actor stops', async () => {
    const system = await systems.start({ threads: 2 });
    const counter = system.spawn(Counter, { start: 7 }, { placement: { thread: 1 } });
    const finders = [0, 1, 2].map((thread) => system.spawn(Finder, undefined, { placement: { thread } }));
    system.register('orders', counter);
    expect((await system.lookup('orders'))?.id).toBe(counter.id);
    for (const f of finders) expect(await f.ask('find', 'orders')).toBe(7);
    expect(await finders[2]!.ask('find', 'nobody')).toBe('none');
    const other = system.spawn(Counter, { start: 1 }, { placement: { thread: 2 } });
    expect(() => system.register('orders', other)).toThrow(InvalidArgumentError);
    // Bad input: typed errors, and the table is unchanged.
    expect(() => system.register('', other)).toThrow(InvalidArgumentError);
    expect(() => system.register('x', { id: 'not a ref' } as never)).toThrow(InvalidArgumentError);
    await expect(system.lookup(5 as never)).rejects.toBeInstanceOf(InvalidArgumentError);
    expect((await system.lookup('orders'))?.id).toBe(counter.id);
    await system.stop(counter);
    expect(await system.lookup('orders')).toBeUndefined();
    for (const f of finders) expect(await f.ask('find', 'orders')).toBe('none');
    expect(() => system.register('gone', counter)).toThrow(InvalidArgumentError); // a stopped actor takes no name
    system.register('orders', other); // free again
    expect(await finders[1]!.ask('find', 'orders')).toBe(1);
  });
});
