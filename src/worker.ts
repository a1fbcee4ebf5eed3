// The worker thread entry (the built dist/worker.js is what every worker runs): wires this
// thread's rings into a ThreadRuntime, hosts an ActorNode on it, and exposes the control plane.

import { expose } from 'comlink';
import { parentPort, workerData } from 'node:worker_threads';
import { ActorNode, type NodeRecovery } from './actors/node.js';
import { systemClock } from './runtime/clock.js';
import { nodeEndpoint, type ActorInfo, type WorkerControl } from './runtime/control.js';
import { ThreadRuntime, type RuntimeTuning, type StreamJoin } from './runtime/thread-runtime.js';
import type { ThreadWiring } from './runtime/topology.js';
import { STAT_UNHANDLED_REJECTIONS } from './runtime/layout.js';

export interface WorkerBoot {
  readonly wiring: ThreadWiring;
  readonly tuning: RuntimeTuning;
  readonly systemId: string;
  readonly bounds: SharedArrayBuffer;
  readonly askTimeoutMs: number;
  readonly offloadThreads: number;
  readonly workers: number;
  /** Set when this thread replaces one that died: how to read on in each ring, and what is pending. */
  readonly recovery?: NodeRecovery & { readonly joins: readonly (StreamJoin | null)[] };
}

const boot = workerData as WorkerBoot;
const runtime = new ThreadRuntime(boot.wiring, boot.tuning, boot.recovery?.joins ?? null);
const node = new ActorNode(runtime, {
  systemId: boot.systemId,
  clock: systemClock,
  ctl: boot.wiring.ctl,
  bounds: boot.bounds,
  defaultAskTimeoutMs: boot.askTimeoutMs,
  offloadThreads: boot.offloadThreads,
  workers: boot.workers,
  ...(boot.recovery === undefined ? {} : { recovery: boot.recovery }),
});

const control: WorkerControl = {
  ping: () => runtime.self,
  threadDown: (thread, death, ports) => node.threadDown(thread, death, ports),
  inspect: (): ActorInfo[] => node.describe(),
  beginShutdown: () => {
    node.stopReason = 'shutdown';
  },
  close: async () => {
    await node.closeOffload();
    await runtime.close();
    // Exit with 0 once this reply is on its way.
    setImmediate(() => process.exit(0));
  },
};

// A promise rejected with nobody listening (a fire-and-forget ask to a stopped actor, say) ends
// a thread by Node's default, and with it every actor it hosts. Here it is counted in stats,
// the first one is printed as a warning, and the thread goes on.
process.on('unhandledRejection', (reason) => {
  if (runtime.counters[STAT_UNHANDLED_REJECTIONS]!++ === 0) {
    process.emitWarning(`troupe thread ${runtime.self}: a promise was rejected and nothing handled it (later ones are only counted): ${String((reason as Error)?.stack ?? reason)}`);
  }
});

expose(control, nodeEndpoint(parentPort!));
runtime.start(node);
