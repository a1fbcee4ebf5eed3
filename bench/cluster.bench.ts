// Between two processes on this machine, over one nats-server: troupe's tell to an actor of
// another node (calls batched per node) racing NATS publish, one message per publish, and NATS
// request-reply, one message per request (128 in flight); then the ask round trip across nodes,
// 1 in flight, against a plain NATS request. The shape a user writes: a plain loop of tells,
// then an ask (which comes after them: one sender, one receiver), from the main program and from
// an actor on a worker (whose calls to other nodes go through main). Then entities: the first
// message to each of many fresh keys spread over the two nodes (an ask, answered once its commit
// is written: the key's record read, the message stored in JetStream, the record written), against
// those NATS calls made directly, key by key, as many in flight. Skipped without nats-server.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { createSystem, type ActorRef } from 'troupe';
import { findNatsServer, startNatsServer } from '../test/support/nats-server.js';
import { BenchAccount, NaiveBlaster, type Echo, type Sink } from './actors.js';
import { QUICK, measure, report, rounds, type BenchReport } from './lib.js';

const TELLS = 20_000;
const REQUESTS = 2_000;
const IN_FLIGHT = 128;
const SEQUENTIAL = 200;
const ACTIVATIONS = 256;
const ENTITY_IN_FLIGHT = 32;

/** Runs `op(0 .. count-1)`, `lanes` at a time. */
async function inFlight(count: number, lanes: number, op: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) await op(next++);
  };
  await Promise.all(Array.from({ length: lanes }, lane));
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

const bin = findNatsServer();
if (bin === null) {
  console.log('\n## cluster: skipped (no nats-server: apt-get install -y nats-server)');
  process.exit(0);
}

async function round(): Promise<BenchReport> {
  const server = await startNatsServer(bin!);
  const namespace = `b${randomBytes(4).toString('hex')}`;
  const peer = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./baselines/cluster-peer.ts', import.meta.url)), server.url, namespace], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    peer.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
    peer.on('exit', (code) => reject(new Error(`the peer exited with ${code}`)));
  });
  const system = await createSystem({ threads: 1, cluster: { servers: server.url, name: 'bench', namespace } });
  const sink = (await system.lookup<typeof Sink>('sink', { node: 'peer' })) as ActorRef<typeof Sink>;
  const echo = (await system.lookup<typeof Echo>('echo', { node: 'peer' })) as ActorRef<typeof Echo>;
  const blaster = system.spawn(NaiveBlaster, undefined, { placement: { thread: 1 } });
  const nc = await connect({ servers: server.url });
  const encoder = new TextEncoder();
  const troupeLatency: number[] = [];
  const natsLatency: number[] = [];
  const payload = (i: number) => ({ n: i, id: 'abc' });
  // The direct NATS side of the entity race: a bucket and a stream of its own.
  const kv = await new Kvm(nc).create(`${namespace}-raw`, { history: 1 });
  await (await jetstreamManager(nc)).streams.add({ name: `${namespace}-rawm`, subjects: [`${namespace}.rawm.>`] });
  const js = jetstream(nc);
  const record = encoder.encode(JSON.stringify({ balance: 1, seen: ['m'] }));
  let fresh = 0;

  const measured = await measure([
    {
      name: `troupe tell to another node (${TELLS} in a plain loop, then an ask)`,
      opsPerIteration: TELLS,
      fn: async () => {
        for (let i = 0; i < TELLS; i++) sink.tell('inc', payload(i));
        await sink.ask('sum');
      },
    },
    {
      name: `troupe tell to another node from an actor on a worker (${TELLS} in one handler's loop)`,
      opsPerIteration: TELLS,
      fn: async () => {
        await blaster.ask('blast', { target: sink, n: TELLS });
        await sink.ask('sum');
      },
    },
    {
      name: `NATS publish, one message each (${TELLS}, then a request)`,
      opsPerIteration: TELLS,
      fn: async () => {
        for (let i = 0; i < TELLS; i++) nc.publish('raw.pub', encoder.encode(JSON.stringify(payload(i))));
        await nc.request('raw.count', new Uint8Array(0), { timeout: 30_000 });
      },
    },
    {
      name: `NATS request-reply, one message each (${IN_FLIGHT} in flight)`,
      opsPerIteration: REQUESTS,
      fn: async () => {
        let next = 0;
        const lane = async (): Promise<void> => {
          while (next < REQUESTS) {
            const i = next++;
            await nc.request('raw.req', encoder.encode(JSON.stringify(payload(i))), { timeout: 30_000 });
          }
        };
        await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
      },
    },
    {
      name: 'troupe ask to another node, 1 in flight',
      opsPerIteration: SEQUENTIAL,
      fn: async () => {
        for (let i = 0; i < SEQUENTIAL; i++) {
          const t = performance.now();
          await echo.ask('inc', i);
          troupeLatency.push(performance.now() - t);
        }
      },
    },
    {
      name: `troupe entity activation across two nodes: an ask to each of ${ACTIVATIONS} fresh keys, answered once committed (${ENTITY_IN_FLIGHT} in flight)`,
      opsPerIteration: ACTIVATIONS,
      fn: async () => {
        const r = fresh++;
        await inFlight(ACTIVATIONS, ENTITY_IN_FLIGHT, (i) => system.entity(BenchAccount, `a${r}-${i}`).ask('deposit', 1, { timeoutMs: 30_000 }));
      },
    },
    {
      name: `NATS directly, what an activation stores: KV get, JetStream publish, KV create per key (${ENTITY_IN_FLIGHT} in flight)`,
      opsPerIteration: ACTIVATIONS,
      fn: async () => {
        const r = fresh++;
        await inFlight(ACTIVATIONS, ENTITY_IN_FLIGHT, async (i) => {
          const key = `b${r}-${i}`;
          await kv.get(`e.${key}`);
          await js.publish(`${namespace}.rawm.${key}`, record, { msgID: key });
          await kv.create(`e.${key}`, record);
        });
      },
    },
    {
      name: 'NATS request, 1 in flight',
      opsPerIteration: SEQUENTIAL,
      fn: async () => {
        for (let i = 0; i < SEQUENTIAL; i++) {
          const t = performance.now();
          await nc.request('raw.req', encoder.encode(JSON.stringify(i)), { timeout: 30_000 });
          natsLatency.push(performance.now() - t);
        }
      },
    },
  ]);
  await nc.close();
  await system.shutdown();
  peer.stdin.end();
  await new Promise((resolve) => peer.once('exit', resolve));
  await server.stop();
  const [tell, fromWorker, publish, request, ask, activation, natsActivation, natsAsk] = measured as [(typeof measured)[0], (typeof measured)[0], (typeof measured)[0], (typeof measured)[0], (typeof measured)[0], (typeof measured)[0], (typeof measured)[0], (typeof measured)[0]];
  troupeLatency.sort((a, b) => a - b);
  natsLatency.sort((a, b) => a - b);
  return {
    bench: 'cluster: between two processes over NATS',
    measured,
    ratios: [
      { bench: 'cluster', subject: 'troupe tell to another node', baseline: 'NATS request-reply, one message each', ratio: tell.rate / request.rate, floor: 10 },
      { bench: 'cluster', subject: 'troupe tell to another node', baseline: 'NATS publish, one message each', ratio: tell.rate / publish.rate },
      { bench: 'cluster', subject: 'troupe tell to another node, from a worker', baseline: 'NATS request-reply, one message each', ratio: fromWorker.rate / request.rate, floor: 10 },
      { bench: 'cluster', subject: 'troupe ask to another node', baseline: 'NATS request (1 in flight)', ratio: ask.rate / natsAsk.rate },
      { bench: 'cluster', subject: 'troupe entity activation across nodes', baseline: 'NATS KV get + JetStream publish + KV create, directly', ratio: activation.rate / natsActivation.rate },
    ],
    extra: {
      'troupe ask across nodes p50 (us)': +(percentile(troupeLatency, 0.5) * 1000).toFixed(0),
      'troupe ask across nodes p99 (us)': +(percentile(troupeLatency, 0.99) * 1000).toFixed(0),
      'NATS request p50 (us)': +(percentile(natsLatency, 0.5) * 1000).toFixed(0),
      'NATS request p99 (us)': +(percentile(natsLatency, 0.99) * 1000).toFixed(0),
      'median of': `${QUICK ? 1 : 3} rounds`,
    },
  };
}

report(await rounds(QUICK ? 1 : 3, round));
