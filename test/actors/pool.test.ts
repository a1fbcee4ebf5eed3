import { describe, expect, it } from 'vitest';
import { ActorStoppedError, type DeadLetter } from 'troupe';
import { Gate, Member, Recorder, Routee } from '../fixtures/actors.js';
import { useSystem } from '../support/system.js';
import { until } from '../support/wait.js';

const systems = useSystem();
const byKey = { key: (_type: string, payload: unknown) => (payload as { key: string }).key };

async function handledBy(members: readonly { ask(type: 'handled'): Promise<[string, number][]> }[]) {
  return Promise.all(members.map((m) => m.ask('handled')));
}

describe('pools', () => {
  it('G1: round robin gives each message to exactly one member, evenly', async () => {
    const system = await systems.start({ threads: 2 });
    const pool = system.spawnPool(Routee, undefined, { size: 3 });
    for (let seq = 0; seq < 3000; seq++) pool.tell('work', { key: 'k', seq });
    const handled = await handledBy(pool.members);
    expect(handled.map((h) => h.length)).toEqual([1000, 1000, 1000]);
    const all = handled.flat().map(([, seq]) => seq);
    expect(new Set(all).size).toBe(3000);
  });

  it('G2: key routing keeps each key on one member, in send order; a new member takes about 1/n of the keys', async () => {
    const system = await systems.start({ threads: 2 });
    const pool = system.spawnPool(Routee, undefined, { size: 3, routing: byKey });
    const keys = Array.from({ length: 100 }, (_, i) => `user-${i}`);
    for (let seq = 0; seq < 100; seq++) for (const key of keys) pool.tell('work', { key, seq });
    const before = new Map<string, number>();
    const handled = await handledBy(pool.members);
    handled.forEach((list, member) => {
      const seqs = new Map<string, number[]>();
      for (const [key, seq] of list) {
        expect(before.get(key) ?? member).toBe(member); // one member per key
        before.set(key, member);
        (seqs.get(key) ?? seqs.set(key, []).get(key)!).push(seq);
      }
      for (const s of seqs.values()) expect(s).toEqual([...s].sort((a, b) => a - b)); // in order
    });
    expect(before.size).toBe(100);

    pool.grow();
    const owner = new Map<string, number>();
    for (const key of keys) pool.tell('work', { key, seq: 1000 });
    const after = await handledBy(pool.members);
    after.forEach((list, member) => {
      for (const [key, seq] of list) if (seq === 1000) owner.set(key, member);
    });
    const moved = keys.filter((k) => owner.get(k) !== before.get(k));
    expect(moved.every((k) => owner.get(k) === 3)).toBe(true); // keys move only to the new member
    expect(moved.length).toBeGreaterThan(10); // about 1/4 of 100
    expect(moved.length).toBeLessThan(45);
  });

  it('G3: a restarted member keeps its slot; an empty pool dead-letters (no-routee)', async () => {
    const system = await systems.start({ threads: 1 });
    const letters: DeadLetter[] = [];
    system.deadLetters.subscribe((l) => letters.push(l));
    const pool = system.spawnPool(Routee, undefined, { size: 2, routing: byKey });
    pool.tell('work', { key: 'a', seq: 1 });
    const owner = (await handledBy(pool.members)).findIndex((h) => h.length === 1);
    await expect(pool.members[owner]!.ask('fail')).rejects.toMatchObject({ code: 'ERR_ACTOR_FAILED' });
    pool.tell('work', { key: 'a', seq: 2 });
    const handled = await handledBy(pool.members);
    expect(handled[owner]).toEqual([['a', 2]]); // restarted (fresh state), same slot, same key
    for (const member of pool.members) pool.remove(member);
    pool.tell('work', { key: 'a', seq: 3 });
    await expect(pool.ask('handled')).rejects.toBeInstanceOf(ActorStoppedError);
    await until(() => letters.length === 2, 5000, 'two no-routee dead letters');
    expect(letters.map((l) => l.reason)).toEqual(['no-routee', 'no-routee']);
  });

  it('G3: a member that stops leaves the routing by itself; with none left, no-routee', async () => {
    const system = await systems.start({ threads: 2 });
    const letters: DeadLetter[] = [];
    system.deadLetters.subscribe((l) => letters.push(l));
    const pool = system.spawnPool(Routee, undefined, { size: 3 }); // spread over both workers
    const [first, second, third] = pool.members as [(typeof pool.members)[0], (typeof pool.members)[0], (typeof pool.members)[0]];
    await system.stop(second);
    await until(() => pool.members.length === 2, 5000, 'the stopped member removed');
    for (let i = 0; i < 10; i++) pool.tell('work', { key: `k${i}`, seq: i });
    const handled = await handledBy([first, third]);
    expect(handled[0]!.length + handled[1]!.length).toBe(10);
    expect(letters).toEqual([]); // nothing went to the stopped member
    await Promise.all([system.stop(first), system.stop(third)]);
    await until(() => pool.members.length === 0, 5000, 'all removed');
    pool.tell('work', { key: 'x', seq: 0 });
    await until(() => letters.length === 1, 5000, 'a no-routee dead letter');
    expect(letters[0]!.reason).toBe('no-routee');
  });
});

describe('pools in ack mode', () => {
  it('G4: what a member leaves when it dies goes to the others, flagged redelivered', async () => {
    const system = await systems.start({ threads: 2 });
    const log = system.spawn(Recorder, undefined, { placement: { thread: 0 } });
    const pool = system.spawnPool(Member, log, { size: 3, placement: { thread: 1 }, delivery: { mode: 'at-least-once' } });
    const gate = system.spawn(Gate, undefined, { placement: { thread: 1 } });
    const [a, b, c] = pool.members;
    a!.tell('hold'); // busy...
    for (let n = 1; n <= 5; n++) a!.tell('job', n); // ...holding five
    await until(async () => (await system.inspect()).find((x) => x.id === a!.id)?.mailboxDepth === 5, 5000, 'five held');
    const killed = system.kill(a!);
    await until(async () => (await gate.ask('open', 'done')) === true, 5000, 'the hold to end');
    await killed;
    await until(async () => (await log.ask('count')) === 5, 5000, 'all five handled by the others');
    const seen = (await log.ask('seen')) as { n: number; by: string; redelivered: boolean }[];
    expect(seen.map((x) => x.n).sort()).toEqual([1, 2, 3, 4, 5]);
    expect(seen.every((x) => x.redelivered && (x.by === b!.id || x.by === c!.id))).toBe(true);
    expect(pool.members.map((m) => m.id)).toEqual([b!.id, c!.id]);
    const s = system.stats();
    expect(s.accepted).toBe(s.handled + (s.deadLetters - s.lateReplies) + s.duplicates);
  });

  it('G4: with no other member left, they are no-routee dead letters', async () => {
    const system = await systems.start({ threads: 2 });
    const letters: DeadLetter[] = [];
    system.deadLetters.subscribe((l) => letters.push(l));
    const log = system.spawn(Recorder, undefined, { placement: { thread: 0 } });
    const pool = system.spawnPool(Member, log, { size: 1, placement: { thread: 1 }, delivery: { mode: 'at-least-once' } });
    const gate = system.spawn(Gate, undefined, { placement: { thread: 1 } });
    const [a] = pool.members;
    a!.tell('hold');
    for (let n = 1; n <= 3; n++) a!.tell('job', n);
    await until(async () => (await system.inspect()).find((x) => x.id === a!.id)?.mailboxDepth === 3, 5000, 'three held');
    const killed = system.kill(a!);
    await until(async () => (await gate.ask('open', 'done')) === true, 5000, 'the hold to end');
    await killed;
    await until(() => letters.length === 3, 5000, 'three dead letters');
    expect(letters.every((l) => l.reason === 'no-routee' && l.message.type === 'job')).toBe(true);
  });
});
