// A node's lease on its entity shards (src/cluster/shard-lease.ts, shard-map.ts): renewed by
// heartbeats that went through while it held; lapsed, the directory is suspended, and renewed only
// once a heartbeat went through again and the directory was read whole. A thread takes no message
// for a shard while the lease has lapsed (entity-shards.ts): it waits, in order. No NATS here: the
// directory is a stand-in, and time is moved by writing the lease.

import { describe, expect, it } from 'vitest';
import { EntityShards, type ShardedStore } from '../../src/actors/entity/entity-shards.js';
import { ShardMap, ShardPlace } from '../../src/actors/entity/shard-map.js';
import { ShardLease } from '../../src/cluster/shard-lease.js';
import type { ShardDirectory } from '../../src/cluster/shards.js';
import { until } from '../support/wait.js';

const quiet = { warn: () => undefined, error: () => undefined };
const DOWN_AFTER_MS = 60_000;
const LEASE_MS = 54_000; // the threads stop a tenth early

/** A directory that records what it is told, and whose reading ends when the test says. */
function standIn(): { directory: ShardDirectory; calls: string[]; read: () => void; fail: () => void } {
  const calls: string[] = [];
  let settle: { resolve: () => void; reject: (error: Error) => void } | null = null;
  const directory = {
    suspend: () => void calls.push('suspend'),
    resume: () => {
      calls.push('resume');
      return new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    },
  } as unknown as ShardDirectory;
  return { directory, calls, read: () => settle!.resolve(), fail: () => settle!.reject(new Error('no answer')) };
}

/** A lease whose last heartbeat that went through was sent `agoMs` ago, with its directory read. */
function leased(agoMs: number): { map: ShardMap; lease: ShardLease } & ReturnType<typeof standIn> {
  const map = new ShardMap(8);
  const stand = standIn();
  let started = false;
  const lease = new ShardLease(map, () => (started ? stand.directory : null), DOWN_AFTER_MS, quiet);
  lease.beat(Date.now() - agoMs); // before the directory is read: simply held (as far as it goes)
  started = true;
  return { map, lease, ...stand };
}

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 2));

describe('the lease on entity shards', () => {
  it('N4: holds from the first heartbeat, and each heartbeat renews it while it holds', () => {
    const map = new ShardMap(8);
    expect(map.held()).toBe(false); // nothing is taken before the first heartbeat
    const { lease, calls, map: held } = leased(0);
    expect(held.held()).toBe(true);
    const sent = Date.now();
    lease.beat(sent);
    expect(held.leaseUntil()).toBe(sent + LEASE_MS);
    lease.check();
    expect(calls).toEqual([]);
  });

  it('N4: the threads stop a tenth early; a heartbeat answered before downAfterMs renews it without a suspension (the key never expired)', () => {
    const { map, lease, calls } = leased(57_000);
    expect(map.held()).toBe(false); // past the threads' bound
    lease.check();
    expect(calls).toEqual([]); // not yet past downAfterMs
    const sent = Date.now() - 100;
    lease.beat(sent);
    expect(calls).toEqual([]);
    expect(map.held()).toBe(true);
    expect(map.leaseUntil()).toBe(sent + LEASE_MS);
  });

  it('N4: past downAfterMs the directory is suspended once; only a heartbeat sent after that, then a whole reading of the directory, renew it; a reading that fails is made again at the next heartbeat', async () => {
    const { map, lease, calls, read, fail } = leased(61_000);
    lease.check();
    lease.check();
    expect(calls).toEqual(['suspend']);
    lease.beat(Date.now() - 10); // sent before the suspension: it proves nothing of the time since
    expect(calls).toEqual(['suspend']);
    await tick();
    lease.beat(Date.now());
    expect(calls).toEqual(['suspend', 'resume']);
    lease.beat(Date.now()); // a reading is under way: not another
    expect(calls).toEqual(['suspend', 'resume']);
    expect(map.held()).toBe(false); // not before the directory is read
    fail();
    await tick();
    expect(map.held()).toBe(false);
    const later = Date.now();
    lease.beat(later);
    expect(calls).toEqual(['suspend', 'resume', 'resume']);
    read();
    await until(() => map.held(), 1000, 'the lease renewed');
    expect(map.leaseUntil()).toBe(later + LEASE_MS);
  });

  it('N4: a heartbeat answered after downAfterMs passed renews nothing by itself: the node may have been declared down in between', () => {
    const { map, lease, calls } = leased(61_000);
    lease.beat(Date.now() - 500); // a renewal from it would hold for 53.5 s more
    expect(calls).toEqual(['suspend']);
    expect(map.held()).toBe(false);
  });

  it('N4: the connection to NATS lost for good: the directory is suspended and the lease ends at once', () => {
    const { map, lease, calls } = leased(0);
    lease.lost();
    expect(calls).toEqual(['suspend']);
    expect(map.held()).toBe(false);
  });
});

describe("a thread's arrivals while the lease has lapsed", () => {
  const address = ['file:///account.js', 'Account', 'alice'] as const;
  const id = 'Account\u0000alice';
  const store = { load: () => null } as unknown as ShardedStore;

  async function ready(): Promise<{ map: ShardMap; shards: EntityShards; shard: number }> {
    const map = new ShardMap(8);
    const shards = new EntityShards(map, () => Promise.resolve(store));
    const shard = map.shardOf(address[1], address[2]);
    map.set(shard, ShardPlace.Here);
    shards.ready([shard]);
    await shards.store();
    return { map, shards, shard };
  }

  it('N4: wait, in order, and are taken once it is renewed', async () => {
    const { map, shards } = await ready();
    map.setLease(Date.now() + 60_000);
    const fail = (): void => undefined;
    expect(shards.admit([...address], id, { again: () => undefined, fail })).toBe('here');
    map.setLease(Date.now() - 1);
    const taken: string[] = [];
    const arrive = (name: string): void => {
      if (shards.admit([...address], id, { again: () => arrive(name), fail }) === 'here') taken.push(name);
    };
    arrive('first');
    arrive('second');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(taken).toEqual([]);
    map.setLease(Date.now() + 60_000);
    arrive('third'); // renewed, but the ones before it have not been taken up yet: it waits behind them
    await until(() => taken.length === 3, 1000, 'the arrivals taken');
    expect(taken).toEqual(['first', 'second', 'third']);
  });

  it('N4: go on to main once their shard is let go here (the directory was suspended)', async () => {
    const { map, shards, shard } = await ready();
    map.setLease(Date.now() - 1);
    const verdicts: string[] = [];
    const arrive = (): void => void verdicts.push(shards.admit([...address], id, { again: arrive, fail: () => undefined }));
    arrive();
    map.set(shard, ShardPlace.Elsewhere);
    shards.unready([shard]);
    await until(() => verdicts.length === 2, 1000, 'the arrival looked at again');
    expect(verdicts).toEqual(['waits', 'elsewhere']);
  });
});
