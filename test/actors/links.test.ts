// SEMANTICS.md D5: links. A is on one worker, B (and a trapping observer C) on the other; the
// exits travel between threads. Everything is logged to a Recorder on the main thread.

import { describe, expect, it } from 'vitest';
import type { ActorRef } from 'troupe';
import { Linked, Recorder } from '../fixtures/actors.js';
import { useSystem } from '../support/system.js';
import { until } from '../support/wait.js';

const systems = useSystem();

type Ref = ActorRef<typeof Linked>;

async function linked(trapping: boolean) {
  const system = await systems.start({ threads: 2 });
  const log = system.spawn(Recorder, undefined, { placement: { thread: 0 } });
  const spawn = (name: string, thread: number): Ref => system.spawn(Linked, { name, log }, { placement: { thread } });
  const a = spawn('A', 1);
  const b = spawn('B', 2);
  const c = spawn('C', 2); // traps exits: when it hears of A's exit, B (linked first, same thread) has too
  await c.ask('trap');
  if (trapping) await b.ask('trap');
  await b.ask('link', a);
  await c.ask('link', a);
  await c.ask('reach', a); // from B's and C's thread: the link records reached A's before this
  const seen = async () => (await log.ask('seen')) as string[];
  const heard = (reason: string) => until(async () => (await seen()).includes(`exit C <- ${reason}`), 5000, `C to hear ${reason}`);
  return { system, a, b, c, seen, heard };
}

describe('links', () => {
  it('D5: a normal stop fails no one; a trapping peer hears of it', async () => {
    for (const trapping of [false, true]) {
      const { a, b, seen, heard } = await linked(trapping);
      a.tell('stop');
      await heard('normal');
      expect(await b.ask('ping')).toBe('pong');
      const log = await seen();
      expect(log.includes('restart B')).toBe(false);
      expect(log.includes('exit B <- normal')).toBe(trapping);
    }
  });

  it('D5: a failure fails the linked peer with it, unless the peer traps exits', async () => {
    for (const trapping of [false, true]) {
      const { a, b, seen, heard } = await linked(trapping);
      a.tell('fail');
      await heard('failed');
      await b.ask('ping');
      const log = await seen();
      expect(log.includes('restart A')).toBe(true); // A failed (and restarted: it has no supervisor)
      expect(log.includes('restart B')).toBe(!trapping);
      expect(log.includes('exit B <- failed')).toBe(trapping);
    }
  });

  it('D5: kill is an abnormal exit: it fails a non-trapping peer; a trapping one hears killed', async () => {
    for (const trapping of [false, true]) {
      const { system, a, b, seen, heard } = await linked(trapping);
      await system.kill(a);
      await heard('killed');
      await b.ask('ping');
      const log = await seen();
      expect(log.includes('restart B')).toBe(!trapping);
      expect(log.includes('exit B <- killed')).toBe(trapping);
    }
  });

  it('links are both ways, and an exit uses the link up (no ping-pong of failures)', async () => {
    const { a, b, seen, heard } = await linked(false);
    b.tell('fail'); // B -> A: A fails; A's own exit then reaches C (still linked to A), not B
    await heard('failed');
    await until(async () => (await seen()).includes('restart A'), 5000, 'A to fail too');
    a.tell('fail'); // the A-B link is gone: B is not failed again
    await until(async () => (await seen()).filter((l) => l === 'restart A').length === 2, 5000, 'A to fail again');
    await b.ask('ping');
    expect((await seen()).filter((l) => l === 'restart B')).toHaveLength(1);
  });

  it('linking to an actor already gone is an exit at once (noproc)', async () => {
    const { system, a, c, seen } = await linked(false);
    await system.stop(a);
    await c.ask('link', a); // C traps: it hears noproc (after the normal exit of the first link)
    await until(async () => (await seen()).includes('exit C <- noproc'), 5000, 'noproc');
  });
});
