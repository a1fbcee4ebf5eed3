// Custody: what a worker took from its rings stays in its custody log (shared memory) until done.
// (1) A fast actor's cross-thread tells beside a slow async neighbour on the same thread, whose
// messages stay in custody for seconds, against the same fast actor alone: custody of the slow
// one must not hold up the fast one. (2) From a thread's death to its actors answering again,
// and to a backlog of tells it had taken (waiting behind a handler) handled by the restarted
// actor, p50 over repeated kills. Run it against the previous version with farm-bench or
// bench/ab for the cost of custody itself.

import { createSystem } from 'troupe';
import { Blaster, Counter, Dawdler, Done, Keeper, Killer, Sink, nextDone } from './actors.js';
import { QUICK, measure, median, report, rounds, type BenchReport } from './lib.js';

const N = QUICK ? 50_000 : 200_000;
const BACKLOG = QUICK ? 5_000 : 20_000;
const KILLS = QUICK ? 3 : 6;

async function neighbours(): Promise<{ alone: number; beside: number }> {
  const system = await createSystem({ threads: 2, shutdownTimeoutMs: 100 });
  const done = system.spawn(Done, undefined, { placement: { thread: 0 } });
  const sink = system.spawn(Sink, undefined, { placement: { thread: 2 } });
  const blaster = system.spawn(Blaster, undefined, { placement: { thread: 1 } });
  const slow = system.spawn(Dawdler, undefined, { placement: { thread: 2 } });
  const blast = async (): Promise<void> => {
    await sink.ask('expect', { n: N, done });
    const finished = nextDone();
    await blaster.ask('blast', { target: sink, n: N }, { timeoutMs: 60_000 });
    await finished;
  };
  const [alone] = await measure([{ name: 'fast actor alone on its thread', opsPerIteration: N, fn: blast }]);
  // The neighbour holds one message in its handler and has more queued behind it, all in custody.
  for (let i = 0; i < 20; i++) slow.tell('nap', 60_000);
  const [beside] = await measure([{ name: 'fast actor beside a slow async neighbour', opsPerIteration: N, fn: blast }]);
  await system.shutdown({ drainMs: 0 });
  return { alone: alone!.rate, beside: beside!.rate };
}

/** Per kill: ms from process.exit() to every actor answering again, and to the backlog handled. */
async function recovery(): Promise<{ answering: number[]; backlog: number[]; lost: number }> {
  const system = await createSystem({ threads: 2, shutdownTimeoutMs: 100 });
  const killer = system.spawn(Killer, undefined, { placement: { thread: 1 }, maxRestarts: 1000 });
  const actors = Array.from({ length: 100 }, () => system.spawn(Counter, undefined, { placement: { thread: 1 }, maxRestarts: 1000 }));
  const answering: number[] = [];
  const backlog: number[] = [];
  let lost = 0;
  for (let i = 0; i < KILLS; i++) {
    await new Promise((resolve) => setTimeout(resolve, QUICK ? 600 : 1000));
    const keeper = system.spawn(Keeper, undefined, { placement: { thread: 1 }, maxRestarts: 1000 });
    keeper.tell('hold');
    for (let n = 0; n < BACKLOG; n++) keeper.tell('item', n);
    await Promise.all(actors.map((a) => a.ask('get'))); // thread 1 has read its rings since
    const t = performance.now();
    killer.tell('exit');
    for (;;) {
      const answers = await Promise.allSettled(actors.map((a) => a.ask('get')));
      if (answers.every((r) => r.status === 'fulfilled')) break; // else some met the dead thread: ask again
    }
    answering.push(performance.now() - t);
    // The restarted keeper handles what its predecessor had taken (a version without custody lost it).
    const deadline = performance.now() + 5000;
    let count = 0;
    while (performance.now() < deadline) {
      count = (await keeper.ask('count').catch(() => 0)) as number;
      if (count >= BACKLOG) break;
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    if (count >= BACKLOG) backlog.push(performance.now() - t);
    else lost += BACKLOG - count;
    await system.stop(keeper);
  }
  await system.shutdown({ drainMs: 0 });
  return { answering, backlog, lost };
}

async function round(): Promise<BenchReport> {
  const { alone, beside } = await neighbours();
  const { answering, backlog, lost } = await recovery();
  const p50 = (xs: number[]): number => (xs.length === 0 ? Number.NaN : median(xs));
  return {
    bench: 'custody',
    measured: [
      { name: 'fast actor alone on its thread', rate: alone, p50Ms: N / alone * 1000, p99Ms: 0, samples: 1 },
      { name: 'fast actor beside a slow async neighbour', rate: beside, p50Ms: N / beside * 1000, p99Ms: 0, samples: 1 },
      { name: `thread death to answering again, ms (p50 of ${answering.length})`, rate: 1000 / p50(answering), p50Ms: p50(answering), p99Ms: Math.max(...answering), samples: answering.length },
      { name: `thread death to ${BACKLOG} taken tells handled, ms (p50 of ${backlog.length})`, rate: 1000 / p50(backlog), p50Ms: p50(backlog), p99Ms: backlog.length === 0 ? 0 : Math.max(...backlog), samples: backlog.length },
    ],
    ratios: [{ bench: 'custody', subject: 'fast actor beside a slow async neighbour', baseline: 'the same actor alone', ratio: beside / alone, floor: 0.9 }],
    extra: { backlogLost: lost },
  };
}

report(await rounds(QUICK ? 1 : 3, round));
