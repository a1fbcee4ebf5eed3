// `npm start -- --cluster=3`: the order service as three processes (or N) of one troupe cluster on
// a local nats-server, which this driver starts (it must be installed: `apt-get install
// nats-server`). Orders and accounts are entities spread over the nodes by shard, and kept in
// NATS; the clients post orders to every node in turn. Halfway through, the driver kills one node
// with SIGKILL: its requests in flight die with it and the clients send those orders again, same
// ids, to the others; its shards go to the survivors once it is declared down, and its orders and
// accounts carry on there from what NATS holds. At the end the driver reads every account and
// checks that each order answered "placed" was charged exactly once (order-check.ts).

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Agent } from 'node:http';
import { startChildService, type ChildService } from './child-service.js';
import { requestJson } from './http-json.js';
import type { Answer } from './order-entities.js';
import { checkBooks } from './order-check.js';
import { Load, type Endpoint } from './order-load.js';
import { readAccounts, settle } from './service-reads.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function clusterDemo(nodes: number, durationS: number, concurrency: number): Promise<number> {
  const bin = findNatsServer();
  if (bin === null) {
    console.error('--cluster needs nats-server (apt-get install nats-server, or NATS_SERVER_BIN=<path>)');
    return 2;
  }
  const nats = await startNats(bin);
  const live: (ChildService | null)[] = [];
  try {
    const names = Array.from({ length: nodes }, (_, i) => `node-${i + 1}`);
    live.push(...(await Promise.all(names.map((name) => startChildService({ cluster: nats.url, name, port: 0 })))));
    console.log(`order service as ${nodes} nodes of a cluster on nats-server ${nats.url} (JetStream in ${nats.dir}):`);
    for (const [i, node] of live.entries()) console.log(`  ${names[i]}: process ${node!.pid} on ${node!.url}`);
    const halfMs = (durationS * 1000) / 2;
    const victim = nodes - 1;
    console.log(`  ${concurrency} clients post orders to every node in turn; in ${(halfMs / 1000).toFixed(1)} s ${names[victim]} is killed with SIGKILL`);

    let turn = 0;
    const endpoints = live.map((node, i): Endpoint => ({ url: node!.url, generation: i + 1 }));
    let killed = false;
    const agent = new Agent({ keepAlive: true });
    const load = new Load({
      concurrency,
      service: () => {
        for (;;) {
          const i = turn++ % nodes;
          if (live[i] !== null) return Promise.resolve(endpoints[i]!);
        }
      },
      killed: (generation) => killed && generation === victim + 1,
    });
    const started = performance.now();
    load.start();
    const status = load.report(started);

    await sleep(halfMs);
    const gone = live[victim]!;
    killed = true;
    live[victim] = null;
    await gone.kill();
    const how = await gone.exited;
    const killedAt = performance.now();
    console.log(`\n  SIGKILL: ${names[victim]} (process ${gone.pid}) is gone (${how.signal ?? `code ${how.code}`}), in the middle of requests`);
    const downAfter = (async () => {
      const survivor = live.find((node) => node !== null)!;
      for (;;) {
        const { body } = await requestJson<{ members?: number }>(agent, `${survivor.url}/stats`, 'GET');
        if (body.members === nodes - 1) return performance.now() - killedAt;
        await sleep(50);
      }
    })();
    await sleep(halfMs);
    await load.stop();
    clearInterval(status);
    const secs = (performance.now() - started) / 1000;
    const c = load.counts;
    console.log(`\n  load: ${c.orders} orders in ${secs.toFixed(1)} s (${Math.round(c.orders / secs)}/s) by ${c.requests} requests; latency p50 ${load.latency(0.5).toFixed(1)} ms, p99 ${load.latency(0.99).toFixed(1)} ms`);

    const survivors = live.filter((node): node is ChildService => node !== null);
    const settled = await Promise.all(survivors.map((node) => settle(node.url)));
    const accounts = await readAccounts(survivors[0]!.url, [...load.customers]);
    const books = checkBooks(load.answers, accounts);
    const answers = [...load.answers.values()];
    const retried = [...load.retriedAfterKill].map((id) => load.answers.get(id)).filter((a): a is Answer => a !== undefined);
    // The orders the killed node decided: their Orders live on the survivors now. Each is placed
    // again on a survivor, as a client would: it must answer the outcome the killed node committed.
    const decidedThere = answers.filter((a) => a.pid === gone.pid);
    const sample = decidedThere.slice(0, 50);
    let replayed = 0;
    for (const answer of sample) {
      const order = load.sent.get(answer.id)!;
      const { body } = await requestJson<Answer>(agent, `${survivors[0]!.url}/orders`, 'POST', order);
      if (body.replay && body.pid === gone.pid && body.status === answer.status) replayed++;
    }
    const moveMs = await downAfter;
    agent.destroy();
    const cents = (n: number): string => (n / 100).toFixed(2);
    for (const node of survivors) await node.stop();
    live.length = 0;

    console.log('\nsummary');
    console.log(`  orders: ${c.orders} sent, ${load.answers.size} answered: ${books.placed} placed (201), ${books.rejected} rejected (422)${c.errors === 0 ? '' : `; ${c.errors} FAILED`}`);
    console.log(`  SIGKILL of ${names[victim]}: declared down ${(moveMs / 1000).toFixed(1)} s after; its shards went to the ${survivors.length} survivors, and its entities with them`);
    console.log(`  the clients sent the ${retried.length} orders whose requests died with it again, same ids, to the other nodes:`);
    console.log(`    ${retried.filter((a) => a.replay).length} had been decided before the kill: answered again from their committed outcome, charged nothing more`);
    console.log(`    ${retried.filter((a) => !a.replay && a.redelivered).length} were finished by their new node from their stored message`);
    console.log(`    ${retried.filter((a) => !a.replay && !a.redelivered).length} had not been stored: decided then`);
    console.log(`  entities that moved: ${decidedThere.length} orders had been decided on ${names[victim]}; ${sample.length} of them placed again on a surviving node: ${replayed} answered from the outcome ${names[victim]} committed, kept in NATS`);
    console.log(`  accounts: ${accounts.length} read (from ${survivors.length} nodes, wherever each lives now), revenue ${cents(books.revenue)}; the orders placed total ${cents(books.placedTotal)}`);
    console.log(`  charged once: ${books.chargedOnce} of ${books.placed} placed; twice: ${books.chargedTwice}; lost: ${books.lost}; rejected but charged: ${books.rejectedButCharged}; wrong amount: ${books.wrongAmount}; unknown orders: ${books.unknown}`);
    const allSettled = settled.every((s) => s.settled);
    for (const [i, s] of settled.entries()) {
      const dead = s.stats.deadLetters - s.stats.lateReplies;
      console.log(`  messages on surviving node ${i + 1}: ${s.stats.accepted} accepted ${s.settled ? '=' : '!='} ${s.stats.handled} handled + ${dead} dead-lettered + ${s.stats.duplicates} duplicates`);
    }
    const ok = books.ok && allSettled && c.errors === 0 && load.answers.size === c.orders && how.signal === 'SIGKILL' && replayed === sample.length && sample.length > 0;
    console.log(ok ? `  every order placed was charged exactly once, across a SIGKILL of one node of ${nodes}.` : '  CHECK FAILED: see the counts above.');
    return ok ? 0 : 1;
  } finally {
    await Promise.all(live.map((node) => node?.kill()));
    await nats.stop();
  }
}

/** nats-server: $NATS_SERVER_BIN, else on PATH, else in /usr/sbin; null if none. */
function findNatsServer(): string | null {
  const given = process.env['NATS_SERVER_BIN'];
  if (given !== undefined) return existsSync(given) ? given : null;
  for (const dir of [...(process.env['PATH'] ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin']) {
    if (dir !== '' && existsSync(join(dir, 'nats-server'))) return join(dir, 'nats-server');
  }
  return null;
}

/** A nats-server with JetStream, on a free loopback port, its store in a temp dir removed at stop. */
async function startNats(bin: string): Promise<{ url: string; dir: string; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'troupe-nats-'));
  const child = spawn(bin, ['-a', '127.0.0.1', '-p', '-1', '-js', '-sd', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let log = '';
  const port = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nats-server did not start in 10 s:\n${log}`)), 10_000);
    void exited.then(() => reject(new Error(`nats-server exited:\n${log}`)));
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      if (log.length < 64 * 1024) log += chunk;
      const found = /client connections on 127\.0\.0\.1:(\d+)/.exec(log)?.[1];
      if (found !== undefined && log.includes('Server is ready')) {
        clearTimeout(timer);
        resolve(found);
      }
    });
  }).catch((error: unknown) => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw error;
  });
  child.stderr!.resume();
  return {
    url: `nats://127.0.0.1:${port}`,
    dir,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
