// The time from a traffic change to the new placement. An actor bounces a ball with a peer
// placed on one worker, and the planner brings it there; then it bounces with a peer placed on
// the other worker instead, and the time until it has moved there is measured: once while the
// planner is awake (the change comes a cooldown after its last move), and once after the same
// traffic went on long enough for the planner to rest (it stops the threads sampling, its rests
// growing to 5 s, and watches shared memory meanwhile). The ratio says what resting costs a
// change: 1.0 if nothing, 0.1 if a change waited out a 5 s rest.

import { createSystem, type ActorRef, type ActorSystem } from 'troupe';
import { QUICK, median, report } from './lib.js';
import { Bouncer, Done, nextDone } from './savina-actors.js';

const REPEATS = QUICK ? 1 : 3;
/** Bounces in one run of the ball (about 10 ms across threads, less on one). */
const BOUNCES = 2000;
const INTERVAL_MS = 100;
const COOLDOWN_MS = 1000;
/** How long one traffic goes on before the change that finds the planner resting (its rests: 0.6, 1.2, 2.4, 4.8 s). */
const STEADY_MS = QUICK ? 6000 : 10_000;
/** A change not placed by then counts as this long (and the run says so). */
const GIVE_UP_MS = 15_000;

type BouncerRef = ActorRef<typeof Bouncer>;

/** Runs the ball between `mover` and whoever it is paired with, until `until()` is true; returns how long that took. */
async function bounceUntil(mover: BouncerRef, until: () => Promise<boolean>, capMs: number): Promise<number> {
  const start = performance.now();
  let lastLook = 0;
  for (;;) {
    const done = nextDone();
    mover.tell('ball', BOUNCES);
    await done;
    const now = performance.now();
    if (now - start >= capMs) return now - start;
    if (now - lastLook >= 20) {
      lastLook = now;
      if (await until()) return performance.now() - start;
    }
  }
}

/** Which thread the actor is on now. */
async function threadOf(system: ActorSystem, ref: BouncerRef): Promise<number> {
  const info = (await system.inspect()).find((a) => a.id === ref.id);
  return info?.thread ?? -1;
}

/** Pairs `a` and `b` both ways, each reporting to `done` when the ball runs out with it. */
function pair(a: BouncerRef, b: BouncerRef, done: ActorRef<typeof Done>): void {
  a.tell('pair', { peer: b, done });
  b.tell('pair', { peer: a, done });
}

/** One change while the planner is awake, one after it has rested: ms from each change to the mover on its new peer's thread. */
async function round(): Promise<{ awake: number; resting: number }> {
  const system = await createSystem({ threads: 2, planner: { intervalMs: INTERVAL_MS, cooldownMs: COOLDOWN_MS, main: false } });
  const done = system.spawn(Done, undefined, { placement: { thread: 0 } });
  const left = system.spawn(Bouncer, undefined, { placement: { thread: 1 } });
  const right = system.spawn(Bouncer, undefined, { placement: { thread: 2 } });
  const mover = system.spawn(Bouncer);
  await system.move(mover, 2); // starts across from its first peer (a move is not a placement: it may move again)
  pair(mover, left, done);
  const onThread = (t: number) => async (): Promise<boolean> => (await threadOf(system, mover)) === t;
  await bounceUntil(mover, onThread(1), GIVE_UP_MS);
  // Awake: the first gathering is a cooldown old; the change comes now.
  await bounceUntil(mover, async () => false, COOLDOWN_MS * 1.2);
  pair(mover, right, done);
  const awake = await bounceUntil(mover, onThread(2), GIVE_UP_MS);
  // Resting: the same traffic for STEADY_MS, then the change.
  await bounceUntil(mover, async () => false, STEADY_MS);
  pair(mover, left, done);
  const resting = await bounceUntil(mover, onThread(1), GIVE_UP_MS);
  await system.shutdown();
  return { awake, resting };
}

const awake: number[] = [];
const resting: number[] = [];
for (let i = 0; i < REPEATS; i++) {
  const r = await round();
  awake.push(r.awake);
  resting.push(r.resting);
}
const rowOf = (name: string, times: number[]) => ({ name, rate: 1000 / median(times), p50Ms: median(times), p99Ms: Math.max(...times), samples: times.length });
const measured = [
  rowOf(`traffic change to new placement, planner awake (a cooldown after its last move)`, awake),
  rowOf(`traffic change to new placement, planner resting (the same traffic for ${STEADY_MS / 1000} s before)`, resting),
];
report({
  bench: 'replacement',
  measured,
  ratios: [{ bench: 'replacement', subject: measured[1]!.name, baseline: measured[0]!.name, ratio: measured[1]!.rate / measured[0]!.rate }],
  extra: { 'changes placed per second': 'rate = 1000 / ms from the change to the move done', 'each run (ms, awake / resting)': awake.map((a, i) => `${Math.round(a)} / ${Math.round(resting[i]!)}`).join(', ') },
});
