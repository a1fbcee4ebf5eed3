// Same-thread tell between two actors, racing an xstate v5 actor's send and a bare array-queue
// mailbox written here as the floor (what a tell between two actors cannot beat).

import { assign, createActor, fromTransition, setup } from 'xstate';
import { createSystem } from 'troupe';
import { Streamer } from './actors.js';
import { QUICK, measure, report, rounds, type BenchReport } from './lib.js';

const N = QUICK ? 50_000 : 200_000;

/** The floor: two "actors" with array-queue mailboxes and a run-queue dispatcher, no framework. */
function bareMailboxes() {
  interface Bare {
    queue: unknown[];
    head: number;
    scheduled: boolean;
    count: number;
  }
  const runq: Bare[] = [];
  const b: Bare = { queue: [], head: 0, scheduled: false, count: 0 };
  const tell = (target: Bare, message: unknown): void => {
    target.queue.push(message);
    if (!target.scheduled) {
      target.scheduled = true;
      runq.push(target);
    }
  };
  const drain = (): void => {
    while (runq.length > 0) {
      const actor = runq.shift()!;
      actor.scheduled = false;
      while (actor.head < actor.queue.length) {
        actor.queue[actor.head++];
        actor.count++;
      }
      actor.queue.length = 0;
      actor.head = 0;
    }
  };
  return (n: number): number => {
    b.count = 0;
    for (let i = 0; i < n; i++) tell(b, { type: 'inc' });
    drain();
    return b.count;
  };
}

async function round(): Promise<BenchReport> {
  const system = await createSystem({ threads: 1 });
  // Both actors on the main thread, so the bench measures the tell itself, not a thread hop.
  const streamer = system.spawn(Streamer, undefined, { placement: { thread: 0 } });
  const child = await streamer.ask('stream', 0);

  const machine = setup({}).createMachine({
    context: { count: 0 },
    on: { inc: { actions: assign({ count: ({ context }) => context.count + 1 }) } },
  });
  const xsMachine = createActor(machine).start();
  const xsTransition = createActor(fromTransition((state: number) => state + 1, 0)).start();
  const bare = bareMailboxes();

  const measured = await measure([
    {
      name: 'troupe same-thread tell (actor -> actor)',
      opsPerIteration: N,
      fn: async () => {
        await streamer.ask('stream', N);
        await child.ask('get');
      },
    },
    {
      name: 'xstate v5 send (machine with assign)',
      opsPerIteration: N,
      fn: () => {
        for (let i = 0; i < N; i++) xsMachine.send({ type: 'inc' });
      },
    },
    {
      name: 'xstate v5 send (fromTransition)',
      opsPerIteration: N,
      fn: () => {
        for (let i = 0; i < N; i++) xsTransition.send({ type: 'inc' });
      },
    },
    { name: 'bare array-queue mailbox (floor)', opsPerIteration: N, fn: () => bare(N) },
  ]);
  await system.shutdown();
  const [troupe, machineSend, transitionSend, floor] = measured as [(typeof measured)[0], (typeof measured)[0], (typeof measured)[0], (typeof measured)[0]];
  return {
    bench: 'same-thread tell',
    measured,
    ratios: [
      { bench: 'local', subject: 'troupe tell', baseline: 'xstate send (machine)', ratio: troupe.rate / machineSend.rate, floor: 10, goal: 20 },
      { bench: 'local', subject: 'troupe tell', baseline: 'xstate send (fromTransition)', ratio: troupe.rate / transitionSend.rate },
      { bench: 'local', subject: 'bare mailbox floor', baseline: 'troupe tell', ratio: floor.rate / troupe.rate },
    ],
  };
}

report(await rounds(QUICK ? 1 : 3, round));
