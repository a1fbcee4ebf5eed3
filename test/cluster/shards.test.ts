// The shard directory (src/cluster/shards.ts) on a real NATS KV bucket: several directories in
// this process stand for several nodes, and the test plays the membership (who is live). Each
// shard ends with exactly one owner, the one its rendezvous hash prefers; a node that leaves hands
// its shards over at once; the shards of a node declared gone are claimed by the survivors; and
// two nodes that both claim a free shard at once get it once (compare-and-set).

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadNats, type KV, type NatsConnection } from '../../src/cluster/nats.js';
import { preferred, shardOf, ShardDirectory, type ShardOwner } from '../../src/cluster/shards.js';
import { until } from '../support/wait.js';

const url = inject('natsUrl');
const COUNT = 64;
const quiet = { warn: () => undefined, error: () => undefined };

/** `kv` whose next `n` updates (set by fail(n)) fail as a timeout would; everything else goes through. */
function timingOut(kv: KV): { flaky: KV; fail(n: number): void } {
  let failing = 0;
  const flaky: KV = { ...kv, get: kv.get.bind(kv), put: kv.put.bind(kv), create: kv.create.bind(kv), delete: kv.delete.bind(kv), keys: kv.keys.bind(kv), watch: kv.watch.bind(kv), update: (key, value, revision) => (failing-- > 0 ? Promise.reject(new Error('timeout')) : kv.update(key, value, revision)) };
  return { flaky, fail: (n) => (failing = n) };
}

describe.skipIf(url === '')('the shard directory', () => {
  let nc: NatsConnection;
  const buckets: KV[] = [];
  const open: ShardDirectory[] = [];

  beforeAll(async () => {
    const nats = await loadNats();
    nc = await nats.connect({ servers: url });
    for (let i = 0; i < 2; i++) buckets.push(await nats.bucket(nc, `t${randomBytes(4).toString('hex')}-shards`, 0, 1));
  });

  afterAll(async () => {
    for (const d of open) d.close();
    await nc?.close();
  });

  function node(name: string, kv: KV, members: () => readonly ShardOwner[]): { owner: ShardOwner; dir: ShardDirectory; events: string[] } {
    const owner = { id: `${name}-${randomBytes(3).toString('hex')}`, name };
    const dir = new ShardDirectory(kv, COUNT, owner, members, quiet);
    const events: string[] = [];
    dir.on('acquired', (shard) => events.push(`+${shard}`));
    dir.on('released', (shard) => events.push(`-${shard}`));
    open.push(dir);
    return { owner, dir, events };
  }

  /** Every shard held, in every directory's view, by the member its hash prefers among `live`. */
  async function settled(dirs: ShardDirectory[], live: readonly ShardOwner[]): Promise<void> {
    await until(
      async () => {
        await Promise.all(dirs.map((d) => d.rebalance()));
        return dirs.every((d) => Array.from({ length: COUNT }, (_, s) => d.ownerOf(s)?.id === preferred(s, live)!.id).every(Boolean));
      },
      15_000,
      'the directory to settle',
    );
  }

  /** Starts the nodes' directories and waits until they settle among `live`. */
  async function startSettled(nodes: readonly { dir: ShardDirectory }[], live: readonly ShardOwner[]): Promise<void> {
    await Promise.all(nodes.map((n) => n.dir.start()));
    await settled(nodes.map((n) => n.dir), live);
  }

  it('every shard one owner, the one its rendezvous hash prefers; a node that leaves hands its shards over at once; a node declared gone loses its shards to the survivors', async () => {
    let live: ShardOwner[] = [];
    const members = (): readonly ShardOwner[] => live;
    const [a, b, c] = ['a', 'b', 'c'].map((name) => node(name, buckets[0]!, members)) as [ReturnType<typeof node>, ReturnType<typeof node>, ReturnType<typeof node>];
    live = [a.owner, b.owner, c.owner];
    await startSettled([a, b, c], live);
    const held = [a, b, c].map((n) => n.dir.owned().length);
    expect(held.reduce((x, y) => x + y)).toBe(COUNT);
    for (const n of held) expect(n).toBeGreaterThan(COUNT / 8); // spread, not all on one
    // What each node was told matches what it holds.
    for (const n of [a, b, c]) expect(n.events.filter((e) => e.startsWith('+')).length - n.events.filter((e) => e.startsWith('-')).length).toBe(n.dir.owned().length);

    // c leaves on purpose: its shards go to the others at once (it wrote them over itself).
    const cHeld = c.dir.owned();
    live = [a.owner, b.owner];
    await c.dir.leave();
    expect(c.events.filter((e) => e.startsWith('-')).length).toBe(cHeld.length);
    for (const s of cHeld) expect([a.owner.id, b.owner.id]).toContain(c.dir.ownerOf(s)?.id ?? 'none'); // as c wrote them
    await settled([a.dir, b.dir], live);

    // d joins, takes its share; then d dies without a word: once the membership drops it, the
    // survivors take its shards by compare-and-set over its claims.
    const d = node('d', buckets[0]!, members);
    live = [a.owner, b.owner, d.owner];
    await d.dir.start();
    await settled([a.dir, b.dir, d.dir], live);
    const dHeld = d.dir.owned();
    expect(dHeld.length).toBeGreaterThan(0);
    d.dir.close(); // killed: it hands nothing over
    live = [a.owner, b.owner];
    await settled([a.dir, b.dir], live);
    for (const s of dHeld) expect([a.owner.id, b.owner.id]).toContain(a.dir.ownerOf(s)!.id);
    expect(b.dir.owned().length + a.dir.owned().length).toBe(COUNT);
  });

  it('a pass of the rules while the node leaves (a heartbeat, it is still a member) takes back none of the shards it is handing over', async () => {
    const nats = await loadNats();
    const kv = await nats.bucket(nc, `t${randomBytes(4).toString('hex')}-shards`, 0, 1);
    let live: ShardOwner[] = [];
    const a = node('a', kv, () => live);
    // g's hand-overs wait a while for what lives on each shard to stop.
    const owner = { id: `g-${randomBytes(3).toString('hex')}`, name: 'g' };
    const g = new ShardDirectory(kv, COUNT, owner, () => live, quiet, () => new Promise((resolve) => setTimeout(resolve, 50)));
    open.push(g);
    const events: string[] = [];
    g.on('acquired', (shard) => events.push(`+${shard}`));
    g.on('released', (shard) => events.push(`-${shard}`));
    live = [a.owner, owner];
    await Promise.all([a.dir.start(), g.start()]);
    await settled([a.dir, g], live);
    const held = g.owned();
    expect(held.length).toBeGreaterThan(0);
    const leaving = g.leave();
    await new Promise((resolve) => setTimeout(resolve, 10));
    await g.rebalance(); // g is still in the membership: the rules prefer it for what it holds
    await leaving;
    for (const s of held) expect(g.ownerOf(s)?.id).toBe(a.owner.id); // as g wrote them
    expect(events.filter((e) => e.startsWith('+')).length).toBe(held.length); // nothing acquired again
    expect(events.filter((e) => e.startsWith('-')).length).toBe(held.length);
  });

  it('a node that leaves tries again the hand-overs whose writes failed (a timeout)', async () => {
    const nats = await loadNats();
    const kv = await nats.bucket(nc, `t${randomBytes(4).toString('hex')}-shards`, 0, 1);
    const { flaky, fail } = timingOut(kv);
    let live: ShardOwner[] = [];
    const a = node('a', kv, () => live);
    const h = node('h', flaky, () => live);
    live = [a.owner, h.owner];
    await startSettled([a, h], live);
    const held = h.dir.owned();
    expect(held.length).toBeGreaterThan(1);
    fail(1); // the first write of the hand-overs times out
    await h.dir.leave();
    for (const s of held) expect(h.dir.ownerOf(s)?.id).toBe(a.owner.id);
    expect(h.events.filter((e) => e.startsWith('-')).length).toBe(held.length);
  });

  it('two nodes that each take a free shard for theirs claim it at the same moment: one gets it', async () => {
    // Each sees only itself (views not yet agreed): both try to create every key at once.
    const e = node('e', buckets[1]!, () => [e.owner]);
    const f = node('f', buckets[1]!, () => [f.owner]);
    await Promise.all([e.dir.start(), f.dir.start()]);
    await until(() => Array.from({ length: COUNT }, (_, s) => e.dir.ownerOf(s) !== null && e.dir.ownerOf(s)?.id === f.dir.ownerOf(s)?.id).every(Boolean), 10_000, 'both views to agree');
    const acquired = (n: { events: string[] }): Set<string> => new Set(n.events.filter((x) => x.startsWith('+')));
    const both = [...acquired(e)].filter((x) => acquired(f).has(x));
    expect(both).toEqual([]); // no shard was acquired by both
    expect(acquired(e).size + acquired(f).size).toBe(COUNT);
  });

  it('a hand-over whose write fails (not a lost compare-and-set) is made again at the next pass; what each node is told stays in step', async () => {
    const nats = await loadNats();
    const kv = await nats.bucket(nc, `t${randomBytes(4).toString('hex')}-shards`, 0, 1);
    const { flaky, fail } = timingOut(kv); // a's next updates fail, as a timeout would
    let live: ShardOwner[] = [];
    const a = node('a', flaky, () => live);
    live = [a.owner];
    await a.dir.start();
    await settled([a.dir], live);
    const b = node('b', kv, () => live);
    live = [a.owner, b.owner];
    fail(1_000); // every hand-over of this pass fails
    await b.dir.start();
    await a.dir.rebalance();
    fail(0);
    await settled([a.dir, b.dir], live);
    const balance = (n: { events: string[] }): number => n.events.filter((e) => e.startsWith('+')).length - n.events.filter((e) => e.startsWith('-')).length;
    expect(balance(a)).toBe(a.dir.owned().length);
    expect(balance(b)).toBe(b.dir.owned().length);
    expect(a.dir.owned().length + b.dir.owned().length).toBe(COUNT);
  });

  it("N4: a node whose lease lapsed suspends: its shards are let go at once and nothing is claimed; resumed, it reads the directory whole and takes back only what it still holds", async () => {
    const nats = await loadNats();
    const kv = await nats.bucket(nc, `t${randomBytes(4).toString('hex')}-shards`, 0, 1);
    let live: ShardOwner[] = [];
    const a = node('a', kv, () => live);
    const b = node('b', kv, () => live);
    live = [a.owner, b.owner];
    await startSettled([a, b], live);
    const held = a.dir.owned();
    a.events.length = 0;
    a.dir.suspend();
    expect(a.events).toEqual(held.map((s) => `-${s}`));
    // Declared down meanwhile: b takes one of its shards, and a free shard that a is preferred for appears.
    const [taken, kept] = held as [number, number, ...number[]];
    const entry = (await kv.get(`s.${taken}`))!;
    await kv.update(`s.${taken}`, JSON.stringify(b.owner), entry.revision);
    await kv.delete(`s.${kept}`);
    live = [a.owner];
    await a.dir.rebalance(); // suspended: claims nothing
    await until(() => a.dir.ownerOf(taken)?.id === b.owner.id && a.dir.ownerOf(kept) === null, 5000, "a's watch to see the changes");
    expect(a.events).toEqual(held.map((s) => `-${s}`));
    expect((await kv.get(`s.${kept}`))?.operation ?? 'none').not.toBe('PUT');
    // Resumed: what the directory says a holds comes back, the shard b took does not; then the rules
    // run again (a claims the free shard it is preferred for).
    live = [a.owner, b.owner];
    await a.dir.resume();
    const back = a.events.slice(held.length);
    expect(back).toEqual([...held.filter((s) => s !== taken && s !== kept).map((s) => `+${s}`), `+${kept}`]);
    expect(a.dir.ownerOf(taken)?.id).toBe(b.owner.id);
    await settled([a.dir, b.dir], live);
    expect(a.dir.ownerOf(kept)?.id).toBe(a.owner.id);
  });

  it('N4: resumed while another node takes one of its shards (its write lands during the reading, unseen yet): that shard is not taken back', async () => {
    const nats = await loadNats();
    const kv = await nats.bucket(nc, `t${randomBytes(4).toString('hex')}-shards`, 0, 1);
    let live: ShardOwner[] = [];
    const b = node('b', kv, () => live);
    let racing = -1;
    let watches = 0;
    const racy: KV = {
      ...kv,
      // a's reading of shard `racing` returns what it read, and b's claim of it lands just after.
      get: async (key) => {
        const entry = await kv.get(key);
        if (key === `s.${racing}` && entry !== null) {
          racing = -1;
          await kv.update(key, JSON.stringify(b.owner), entry.revision);
        }
        return entry;
      },
      // a's first watch lags (delivers nothing until it is made again, 2 s on): b's write is unseen meanwhile.
      watch: async (options) => {
        if (watches++ > 0) return kv.watch(options);
        let stop!: () => void;
        const stopped = new Promise<void>((resolve) => (stop = resolve));
        return { stop, [Symbol.asyncIterator]: async function* () { await stopped; } } as unknown as Awaited<ReturnType<KV['watch']>>;
      },
    };
    const a = { owner: { id: `a-${randomBytes(3).toString('hex')}`, name: 'a' }, events: [] as string[] };
    const dir = new ShardDirectory(racy, COUNT, a.owner, () => live, quiet, undefined, 2000);
    open.push(dir);
    dir.on('acquired', (shard) => a.events.push(`+${shard}`));
    live = [a.owner];
    await dir.start();
    expect(dir.owned().length).toBe(COUNT);
    dir.suspend();
    a.events.length = 0;
    const taken = dir.owned()[0]!;
    live = [a.owner, b.owner];
    racing = taken;
    await dir.resume();
    expect(racing).toBe(-1); // the race happened
    expect(a.events).not.toContain(`+${taken}`); // it wrote its claims again by compare-and-set: that one failed
    expect(a.events.length).toBeGreaterThan(0);
    await until(() => dir.ownerOf(taken)?.id === b.owner.id, 5000, "b's claim seen by a");
    expect(dir.owned()).not.toContain(taken);
  });

  it('N4: resumed while another node hands it a shard (its write seen by the watch before the resume ends): that shard is acquired', async () => {
    const nats = await loadNats();
    const kv = await nats.bucket(nc, `t${randomBytes(4).toString('hex')}-shards`, 0, 1);
    let live: ShardOwner[] = [];
    const b = node('b', kv, () => live);
    let given = -1;
    let handed = false;
    let aDir: ShardDirectory | null = null;
    let aOwner: ShardOwner | null = null;
    const racy: KV = {
      ...kv,
      // a's rewrite of a shard it still holds (resume) answers only once b's hand-over of `given` to a
      // was written and a's watch has brought it (a is still suspended then).
      update: async (key, value, revision) => {
        if (given >= 0 && !handed && key !== `s.${given}`) {
          handed = true;
          const entry = (await kv.get(`s.${given}`))!;
          await kv.update(`s.${given}`, JSON.stringify(aOwner), entry.revision);
          await until(() => aDir!.ownerOf(given)?.id === aOwner!.id, 5000, "a's watch to bring the hand-over");
        }
        return kv.update(key, value, revision);
      },
    };
    const a = node('a', racy, () => live);
    aDir = a.dir;
    aOwner = a.owner;
    live = [a.owner, b.owner];
    await startSettled([a, b], live);
    expect(a.dir.owned().length).toBeGreaterThan(0);
    a.dir.suspend();
    a.events.length = 0;
    given = b.dir.owned()[0]!;
    await a.dir.resume();
    expect(handed).toBe(true); // the race happened
    expect(a.dir.ownerOf(given)?.id).toBe(a.owner.id);
    expect(a.events).toContain(`+${given}`);
  });

  it('N4: a watch of the directory that stalls (as after a pause) is made again: what changed meanwhile is seen within rewatchMs', async () => {
    const nats = await loadNats();
    const kv = await nats.bucket(nc, `t${randomBytes(4).toString('hex')}-shards`, 0, 1);
    let watches = 0;
    // The first watch delivers nothing, ever, until it is stopped; the next ones are real.
    const stalling: KV = {
      ...kv,
      watch: async (options) => {
        if (watches++ > 0) return kv.watch(options);
        let stop!: () => void;
        const stopped = new Promise<void>((resolve) => (stop = resolve));
        return { stop, [Symbol.asyncIterator]: async function* () { await stopped; } } as unknown as Awaited<ReturnType<KV['watch']>>;
      },
    };
    const owner = { id: `a-${randomBytes(3).toString('hex')}`, name: 'a' };
    const dir = new ShardDirectory(stalling, COUNT, owner, () => [owner], quiet, undefined, 300);
    open.push(dir);
    await dir.start();
    expect(dir.owned().length).toBe(COUNT);
    // Another node writes shard 5 behind its back.
    const entry = (await kv.get('s.5'))!;
    await kv.update('s.5', JSON.stringify({ id: 'other', name: 'other' }), entry.revision);
    await until(() => dir.ownerOf(5)?.id === 'other', 5000, 'the change seen through a watch made again');
    expect(watches).toBeGreaterThan(1);
    expect(dir.owned()).not.toContain(5);
  });

  it('a key maps to the same shard on every node', () => {
    expect(shardOf('Account', 'alice', 1024)).toBe(shardOf('Account', 'alice', 1024));
    const spread = new Set(Array.from({ length: 1000 }, (_, i) => shardOf('Account', `k${i}`, 64)));
    expect(spread.size).toBe(64);
  });
});
