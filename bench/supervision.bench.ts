// What supervision costs. On the happy path: tells to a child under a supervising parent against
// the same under a parent that does not supervise, on one thread and across threads (the issue
// asks for no more than 5% apart). On failure: the time from a crash to the restarted child's
// first answer (a ping queued behind the crash), p50 over repeated crashes, with the parent on
// another thread deciding, against a child that restarts itself. On a thread's death: the time
// from a worker calling process.exit() to all 100 of its actors answering again from the
// replacement thread (asks that meet the dead thread fail at once and are asked again), p50 over
// repeated kills, with and without a spare thread, against starting a bare worker thread.

import { Worker } from 'node:worker_threads';
import { createSystem, type ActorRef } from 'troupe';
import { Blaster, Counter, Crasher, Done, Killer, Nursery, Sink, Streamer, nextDone } from './actors.js';
import { QUICK, measureInTurns, median, report, rounds, type BenchReport } from './lib.js';

const N = QUICK ? 50_000 : 200_000;
const CRASHES = QUICK ? 20 : 100;
/** Kills per round: a system replaces a thread at most 10 times a minute. */
const KILLS = QUICK ? 3 : 8;

/** From process.exit() in a worker to all of its actors answering again, per kill (ms). */
async function threadRecovery(spareThread: boolean): Promise<number[]> {
  const system = await createSystem({ threads: 2, spareThread });
  // Each death is a restart of every actor there: allow more than the default 5 in 30 s.
  const killer = system.spawn(Killer, undefined, { placement: { thread: 1 }, maxRestarts: 1000 });
  const actors = Array.from({ length: 100 }, () => system.spawn(Counter, undefined, { placement: { thread: 1 }, maxRestarts: 1000 }));
  await Promise.all(actors.map((a) => a.ask('get')));
  const times: number[] = [];
  for (let i = 0; i < KILLS; i++) {
    // Deaths are rare: give the new worker (or the spare) time to be ready, as it would have.
    await new Promise((resolve) => setTimeout(resolve, QUICK ? 600 : 1000));
    const t = performance.now();
    killer.tell('exit');
    for (;;) {
      const answers = await Promise.allSettled(actors.map((a) => a.ask('get')));
      if (answers.every((r) => r.status === 'fulfilled')) break; // else some met the dead thread: ask again
    }
    times.push(performance.now() - t);
  }
  await system.shutdown();
  return times;
}

/** The floor: a bare worker thread from new Worker() to its first message (ms). */
async function bareWorkerStarts(): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < KILLS; i++) {
    const t = performance.now();
    const worker = new Worker("require('node:worker_threads').parentPort.postMessage(1)", { eval: true });
    await new Promise((resolve) => worker.once('message', resolve));
    times.push(performance.now() - t);
    await worker.terminate();
  }
  return times;
}

async function round(): Promise<BenchReport> {
  const system = await createSystem({ threads: 2 });
  const done = system.spawn(Done, undefined, { placement: { thread: 0 } });
  const supervising = system.spawn(Nursery, undefined, { placement: { thread: 2 }, supervision: { strategy: 'one-for-one', maxRestarts: 1_000_000 } });
  const plain = system.spawn(Nursery, undefined, { placement: { thread: 2 } });
  const blaster = system.spawn(Blaster, undefined, { placement: { thread: 1 } });
  const sinks = {
    supervised: (await supervising.ask('sink')) as ActorRef<typeof Sink>,
    plain: (await plain.ask('sink')) as ActorRef<typeof Sink>,
  };
  const streamers = {
    supervised: (await supervising.ask('streamer')) as ActorRef<typeof Streamer>,
    plain: (await plain.ask('streamer')) as ActorRef<typeof Streamer>,
  };
  const children: Record<string, ActorRef<typeof Counter>> = {};
  for (const [k, s] of Object.entries(streamers)) children[k] = (await s.ask('stream', { n: 0, chunk: 1000 })) as ActorRef<typeof Counter>;
  const blast = async (sink: ActorRef<typeof Sink>) => {
    await sink.ask('expect', { n: N, done });
    const finished = nextDone();
    await blaster.ask('blast', { target: sink, n: N }, { timeoutMs: 60_000 });
    await finished;
  };
  const stream = async (which: 'supervised' | 'plain') => {
    await streamers[which].ask('stream', { n: N, chunk: 1000 });
    await children[which]!.ask('get');
  };
  // Each pair in turns: the two paths cost nearly the same, and the ratio is what differs.
  const measured = [
    ...(await measureInTurns([
      { name: 'tell across threads, child of a supervising parent', opsPerIteration: N, fn: () => blast(sinks.supervised) },
      { name: 'tell across threads, child of a plain parent', opsPerIteration: N, fn: () => blast(sinks.plain) },
    ])),
    ...(await measureInTurns([
      { name: 'tell on one thread, child of a supervised actor', opsPerIteration: N, fn: () => stream('supervised') },
      { name: 'tell on one thread, child of a plain actor', opsPerIteration: N, fn: () => stream('plain') },
    ])),
  ];

  // Recovery: crash, then time until a queued ping is answered by the new incarnation.
  const recovery = async (crasher: ActorRef<typeof Crasher>): Promise<number[]> => {
    const times: number[] = [];
    for (let i = 0; i < CRASHES; i++) {
      const t = performance.now();
      crasher.tell('crash');
      await crasher.ask('ping');
      times.push(performance.now() - t);
    }
    return times;
  };
  const supervisedCrasher = (await supervising.ask('crasher')) as ActorRef<typeof Crasher>;
  const selfRestarting = system.spawn(Crasher, undefined, { placement: { thread: 1 }, maxRestarts: 1_000_000 });
  const bySupervisor = await recovery(supervisedCrasher);
  const byItself = await recovery(selfRestarting);
  await system.shutdown();
  const recovered = await threadRecovery(false);
  const recoveredBySpare = await threadRecovery(true);
  const bare = await bareWorkerStarts();
  const us = (ms: number) => +(ms * 1000).toFixed(1);
  const [sx, px, s1, p1] = measured as [(typeof measured)[0], (typeof measured)[0], (typeof measured)[0], (typeof measured)[0]];
  return {
    bench: 'supervision',
    measured,
    ratios: [
      { bench: 'supervision', subject: 'supervised child, across threads', baseline: 'plain child', ratio: sx.rate / px.rate, floor: 0.95 },
      { bench: 'supervision', subject: 'supervised child, one thread', baseline: 'plain child', ratio: s1.rate / p1.rate, floor: 0.95 },
      { bench: 'supervision', subject: 'restart decided by the parent (crash to answer)', baseline: 'restart by the child itself', ratio: median(byItself) / median(bySupervisor) },
      { bench: 'supervision', subject: 'thread death to its 100 actors answering again', baseline: 'a bare worker thread start', ratio: median(bare) / median(recovered) },
      { bench: 'supervision', subject: 'the same, with a spare thread', baseline: 'a bare worker thread start', ratio: median(bare) / median(recoveredBySpare) },
    ],
    extra: {
      'crash to answer, parent decides on another thread: p50 (us)': us(median(bySupervisor)),
      'crash to answer, child restarts itself: p50 (us)': us(median(byItself)),
      'thread death to its 100 actors answering again: p50 (ms)': +median(recovered).toFixed(1),
      'the same with spareThread (a worker started ahead takes its place): p50 (ms)': +median(recoveredBySpare).toFixed(1),
      'bare worker thread start (new Worker to first message): p50 (ms)': +median(bare).toFixed(1),
    },
  };
}

report(await rounds(QUICK ? 1 : 3, round));
