// Same-thread tell between two actors, racing an xstate v5 actor's send and a bare array-queue
// mailbox written here as the floor (what a tell between two actors cannot beat); and the shape a
// user writes first, a handler's plain loop of tells with no yield, against the yielding one.

import { assign, createActor, fromTransition, setup } from 'xstate';
import { createSystem } from 'troupe';
import { Streamer } from './actors.js';
import { QUICK, measure, report, rounds, type BenchReport } from './lib.js';

const N = QUICK ? 50_000 : 200_000;
/** Messages sent before the sender yields: a stream, not one burst that the GC must carry. */
const CHUNK = 1000;

/**
 * The floor: the least any actor mailbox does per message, with no framework around it. A
 * message object goes into an array queue, a run queue schedules the receiver once, and the
 * receiver dispatches each message by type through a handler table to a function of its state.
 */
function bareMailboxes() {
  interface Bare {
    queue: { type: string; payload: unknown }[];
    head: number;
    scheduled: boolean;
    state: { count: number };
    handlers: Record<string, (state: { count: number }, payload: unknown) => void>;
  }
  const runq: Bare[] = [];
  const b: Bare = { queue: [], head: 0, scheduled: false, state: { count: 0 }, handlers: { inc: (state) => void state.count++ } };
  const tell = (target: Bare, type: string, payload: unknown): void => {
    target.queue.push({ type, payload });
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
        const message = actor.queue[actor.head++]!;
        actor.handlers[message.type]!(actor.state, message.payload);
      }
      actor.queue.length = 0;
      actor.head = 0;
    }
  };
  return async (n: number): Promise<number> => {
    b.state.count = 0;
    for (let i = 0; i < n; ) {
      const end = Math.min(n, i + CHUNK);
      for (; i < end; i++) tell(b, 'inc', undefined);
      drain();
      if (i < n) await new Promise((resolve) => setImmediate(resolve));
    }
    return b.state.count;
  };
}

async function round(): Promise<BenchReport> {
  const system = await createSystem({ threads: 1 });
  // Both actors on the main thread, so the bench measures the tell itself, not a thread hop.
  const streamer = system.spawn(Streamer, undefined, { placement: { thread: 0 } });
  const child = await streamer.ask('stream', { n: 0, chunk: CHUNK });
  const boundedStreamer = system.spawn(Streamer, undefined, { placement: { thread: 0 } });
  const boundedChild = await boundedStreamer.ask('stream', { n: 0, chunk: CHUNK, capacity: 65_536 });

  const machine = setup({}).createMachine({
    context: { count: 0 },
    on: { inc: { actions: assign({ count: ({ context }) => context.count + 1 }) } },
  });
  const xsMachine = createActor(machine).start();
  const xsTransition = createActor(fromTransition((state: number) => state + 1, 0)).start();
  const bare = bareMailboxes();
  const xsChunked = async (send: () => void): Promise<void> => {
    for (let i = 0; i < N; ) {
      const end = Math.min(N, i + CHUNK);
      for (; i < end; i++) send();
      if (i < N) await new Promise((resolve) => setImmediate(resolve));
    }
  };

  const measured = await measure([
    {
      name: 'troupe same-thread tell (actor -> actor)',
      opsPerIteration: N,
      fn: async () => {
        await streamer.ask('stream', { n: N, chunk: CHUNK });
        await child.ask('get');
      },
    },
    {
      // The shape a user writes first: one loop, no yield (the messages wait in the mailbox until the loop ends).
      name: 'troupe same-thread tell, a handler loop with no yield',
      opsPerIteration: N,
      fn: async () => {
        await streamer.ask('stream', { n: N, chunk: N });
        await child.ask('get');
      },
    },
    {
      name: 'troupe same-thread tell into a bounded mailbox (65,536)',
      opsPerIteration: N,
      fn: async () => {
        await boundedStreamer.ask('stream', { n: N, chunk: CHUNK });
        await boundedChild.ask('get');
      },
    },
    {
      name: 'xstate v5 send (machine with assign)',
      opsPerIteration: N,
      fn: () => xsChunked(() => xsMachine.send({ type: 'inc' })),
    },
    {
      name: 'xstate v5 send (fromTransition)',
      opsPerIteration: N,
      fn: () => xsChunked(() => xsTransition.send({ type: 'inc' })),
    },
    { name: 'bare array-queue mailbox (floor)', opsPerIteration: N, fn: () => bare(N) },
  ]);
  await system.shutdown();
  const [troupe, loop, bounded, machineSend, transitionSend, floor] = measured as [(typeof measured)[0], (typeof measured)[0], (typeof measured)[0], (typeof measured)[0], (typeof measured)[0], (typeof measured)[0]];
  return {
    bench: 'same-thread tell',
    measured,
    ratios: [
      { bench: 'local', subject: 'troupe tell', baseline: 'xstate send (machine)', ratio: troupe.rate / machineSend.rate, floor: 10, goal: 20 },
      { bench: 'local', subject: 'troupe tell', baseline: 'xstate send (fromTransition)', ratio: troupe.rate / transitionSend.rate },
      // "Within 2x of the floor" is troupe / floor >= 0.5.
      { bench: 'local', subject: 'troupe tell', baseline: 'bare mailbox floor', ratio: troupe.rate / floor.rate, floor: 0.5 },
      { bench: 'local', subject: 'troupe tell, bounded mailbox (65,536)', baseline: 'troupe tell, unbounded', ratio: bounded.rate / troupe.rate, floor: 0.7 },
      { bench: 'local', subject: 'troupe tell, handler loop, no yield', baseline: `troupe tell, yielding every ${CHUNK.toLocaleString('en-US')}`, ratio: loop.rate / troupe.rate, floor: 0.5 },
    ],
  };
}

report(await rounds(QUICK ? 1 : 3, round));
