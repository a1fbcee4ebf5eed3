// The planner's rows, shared by the Savina suite and the scaling run: the same workload spawned
// with the default placement in a system without the planner and in one with it (and, in the
// Savina suite, in a second system without it), the one with it timed once the planner has
// settled, the systems timed in turns.

import { createSystem, type ActorRef, type ActorSystem, type AnyDefinition } from 'troupe';
import { median, type Measured } from './lib.js';
import { Done } from './savina-actors.js';

/** How long the planner's system must go without a move to count as settled (its cooldown is 1 s). */
const QUIET_MS = 3000;

/**
 * A system without the planner, one with it, and the Done actor of each; with `twin`, a second
 * system without the planner: the two planner-off systems measure how far two sets of threads
 * read apart with nothing different between them (on this machine, a tenth either way), the bar
 * a planner row must clear to say more than that.
 */
export interface Planned {
  readonly off: ActorSystem;
  readonly on: ActorSystem;
  readonly offDone: ActorRef<typeof Done>;
  readonly onDone: ActorRef<typeof Done>;
  readonly twin: { readonly system: ActorSystem; readonly done: ActorRef<typeof Done> } | null;
}

/**
 * The two systems, made anew for each workload: actors of an earlier workload (a ring the
 * planner gathered on one thread, say) would tilt where the default placement puts the next
 * one's, and the two rows would compare two placements the planner did not choose.
 */
export async function freshPlanned(threads: number, withTwin = false): Promise<Planned & { close(): Promise<void> }> {
  const off = await createSystem({ threads });
  const on = await createSystem({ threads, planner: { intervalMs: 100, cooldownMs: 1000 } });
  const twin = withTwin ? await createSystem({ threads }) : null;
  return {
    off,
    on,
    offDone: off.spawn(Done, undefined, { placement: { thread: 0 } }),
    onDone: on.spawn(Done, undefined, { placement: { thread: 0 } }),
    twin: twin === null ? null : { system: twin, done: twin.spawn(Done, undefined, { placement: { thread: 0 } }) },
    close: async () => {
      await off.shutdown();
      await on.shutdown();
      await twin?.shutdown();
    },
  };
}

/**
 * Runs `run` until the system has gone QUIET_MS without a move (or `capMs` in all); returns when
 * the last move was, from the first run. The planner needs a few rounds of traffic before its
 * first move, and a gathering's trial ends a cooldown or more after it: a shorter wait timed the
 * runs while it was still moving actors.
 */
export async function settle(system: ActorSystem, run: () => Promise<unknown>, capMs = 20_000): Promise<number> {
  const start = performance.now();
  let moves = system.stats().moves;
  let changed = start;
  while (performance.now() - changed < QUIET_MS && performance.now() - start < capMs) {
    await run();
    const now = system.stats().moves;
    if (now !== moves) {
      moves = now;
      changed = performance.now();
    }
  }
  return changed - start;
}

/** Runs `run` for at least `ms` (a warm-up as long as the other system's). */
async function runFor(ms: number, run: () => Promise<unknown>): Promise<void> {
  const start = performance.now();
  do await run();
  while (performance.now() - start < ms);
}

/** A workload's runner and its actors, in the order it spawned them. */
export interface Made {
  readonly run: () => Promise<unknown>;
  readonly actors: readonly ActorRef<AnyDefinition>[];
}

/**
 * The system with the planner starts from the placement the one without it drew: the default
 * placement picks threads at random (two choices, the less loaded), and the two rows compared two
 * draws, not the planner (counting read 4.10x in one run, 0.94x in the next, no move in either).
 * Its actors move to their twins' threads; a move is not a placement, so the planner may move
 * them again. Their twins move too, away and back: a moved actor's state is decoded anew, and
 * the handlers of its thread meet one more hidden class (a tenth slower on chameneos' tiny
 * handlers, planner or not), which both rows then carry alike.
 */
async function sameStart(offSystem: ActorSystem, off: Made, onSystem: ActorSystem, on: Made): Promise<void> {
  const offAt = new Map((await offSystem.inspect()).map((a) => [a.id, a.thread]));
  const onAt = new Map((await onSystem.inspect()).map((a) => [a.id, a.thread]));
  const moved: [index: number, to: number][] = [];
  on.actors.forEach((ref, i) => {
    const to = offAt.get(off.actors[i]!.id);
    if (to !== undefined && to !== onAt.get(ref.id)) moved.push([i, to]);
  });
  const done = await Promise.all(moved.map(([i, to]) => onSystem.move(on.actors[i]!, to).then(() => true, () => false)));
  const workers = offSystem.stats().threads.length - 1;
  await Promise.all(
    moved.filter((_, m) => done[m]).map(async ([i, home]) => {
      const ref = off.actors[i]!;
      await offSystem.move(ref, (home % workers) + 1).catch(() => undefined);
      await offSystem.move(ref, home).catch(() => undefined);
    }),
  );
}

/** What the rows measured (the twin's: null without one), and what the planner did before they were timed. */
export interface PlannedTimes {
  readonly off: number[];
  readonly on: number[];
  readonly twin: number[] | null;
  readonly moves: number;
  readonly settledMs: number;
}

/**
 * The system without the planner warmed as long as the one with it took to settle, then the two
 * timed in turns (off, on, on, off ...), `runs` each (rounded up to even), so that what the
 * machine's other tenants do in the meantime falls on both alike. Both start from the same
 * placement (sameStart).
 */
export async function plannedTimes(make: (system: ActorSystem, done: ActorRef<typeof Done>) => Made, p: Planned, runs: number, capMs?: number): Promise<PlannedTimes> {
  const madeOff = make(p.off, p.offDone);
  const madeOn = make(p.on, p.onDone);
  const madeTwin = p.twin === null ? null : make(p.twin.system, p.twin.done);
  await sameStart(p.off, madeOff, p.on, madeOn);
  if (madeTwin !== null) await sameStart(p.off, madeOff, p.twin!.system, madeTwin);
  const before = p.on.stats().moves;
  const start = performance.now();
  const settledMs = await settle(p.on, madeOn.run, capMs);
  const warmMs = performance.now() - start;
  await runFor(warmMs, madeOff.run);
  if (madeTwin !== null) await runFor(warmMs, madeTwin.run);
  const made = madeTwin === null ? [madeOff, madeOn] : [madeOff, madeOn, madeTwin];
  const times: number[][] = made.map(() => []);
  // Each system as often in each place of a round: on this machine the second of two runs in a
  // row read a few per cent slower than the first (A/A: two systems without the planner). Off
  // then on, then on then off; with the twin, the six orders of three in turn.
  const orders = made.length === 2 ? ORDERS_OF_2 : ORDERS_OF_3;
  const rounds = Math.ceil(runs / orders.length) * orders.length;
  for (let r = 0; r < rounds; r++) {
    const order = orders[r % orders.length]!;
    for (const i of order) {
      const t = performance.now();
      await made[i]!.run();
      times[i]!.push(performance.now() - t);
    }
  }
  return { off: times[0]!, on: times[1]!, twin: times[2] ?? null, moves: p.on.stats().moves - before, settledMs };
}

const ORDERS_OF_2 = [
  [0, 1],
  [1, 0],
];
const ORDERS_OF_3 = [
  [0, 1, 2],
  [1, 2, 0],
  [2, 0, 1],
  [2, 1, 0],
  [1, 0, 2],
  [0, 2, 1],
];

/** A row from timed runs of `ops` operations each: the rate of the median run. */
export function row(name: string, ops: number, times: number[]): Measured {
  return { name, rate: (ops * 1000) / median(times), p50Ms: median(times), p99Ms: Math.max(...times), samples: times.length };
}
