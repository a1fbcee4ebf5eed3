// The worker thread entry (the built dist/worker.js is what every worker runs): wires this
// thread's rings into a ThreadRuntime, hosts an ActorNode on it, and exposes the control plane.

import { expose } from 'comlink';
import { parentPort, workerData } from 'node:worker_threads';
import { ActorNode, type NodeRecovery } from './actors/node/node.js';
import type { ResolvedStorage } from './actors/options.js';
import type { ClusterEntitiesBoot } from './actors/entity/cluster-entities.js';
import { systemClock } from './runtime/clock.js';
import { nodeEndpoint, type ActorInfo, type WorkerControl } from './runtime/control.js';
import { ThreadRuntime, type RuntimeTuning, type StreamJoin } from './runtime/thread-runtime.js';
import type { ThreadWiring } from './runtime/topology.js';
import { loadModule } from './runtime/module-loader.js';
import { markWorkerThread } from './runtime/thread-role.js';
import { STAT_UNHANDLED_REJECTIONS } from './runtime/layout.js';

export interface WorkerBoot {
  readonly wiring: ThreadWiring;
  readonly tuning: RuntimeTuning;
  readonly systemId: string;
  readonly bounds: SharedArrayBuffer;
  readonly liveness: readonly SharedArrayBuffer[];
  readonly askTimeoutMs: number;
  readonly offloadThreads: number;
  readonly workers: number;
  /** Where entities keep what outlives the process (every thread opens the same store). */
  readonly storage: ResolvedStorage | null;
  /** The system is a node of a cluster: a publish also goes to the other nodes (through main). */
  readonly clustered: boolean;
  /** In a cluster: its entity shards and the store the nodes share. */
  readonly shards?: ClusterEntitiesBoot;
  /** Set when this thread replaces one that died: how to read on in each ring, and what is pending. */
  readonly recovery?: NodeRecovery & { readonly joins: readonly (StreamJoin | null)[] };
  /** A spare: no wiring yet; it imports `preload` and waits to become a replacement. */
  readonly spare?: boolean;
  readonly preload?: readonly string[];
}

markWorkerThread(); // before any actor module is imported (thread-role.ts)
const boot = workerData as WorkerBoot;
let runtime: ThreadRuntime | null = null;
let node: ActorNode | null = null;

/** Runs this thread's share of the system: at start, or once a spare becomes a replacement. */
function begin(wiring: ThreadWiring, recovery: WorkerBoot['recovery']): void {
  runtime = new ThreadRuntime(wiring, boot.tuning, recovery?.joins ?? null);
  node = new ActorNode(runtime, {
    systemId: boot.systemId,
    clock: systemClock,
    ctl: wiring.ctl,
    bounds: boot.bounds,
    liveness: boot.liveness,
    defaultAskTimeoutMs: boot.askTimeoutMs,
    offloadThreads: boot.offloadThreads,
    workers: boot.workers,
    clustered: boot.clustered,
    ...(boot.shards === undefined ? {} : { shards: boot.shards }),
    ...(recovery === undefined ? {} : { recovery }),
  });
  // The store first: what the custody log replays at start (a replacement's) waits for it, and
  // goes after what the store holds.
  if (boot.storage !== null) void node.entities.useStorage(boot.storage).catch(() => undefined); // its error is whenReady's
  runtime.start(node.inbound);
}

function running(): { runtime: ThreadRuntime; node: ActorNode } {
  if (runtime === null || node === null) throw new Error('a spare thread has no actors yet');
  return { runtime, node };
}

const control: WorkerControl = {
  ping: () => runtime?.self ?? -1,
  become: (wiring, recovery) => {
    if (runtime !== null) throw new Error(`thread ${runtime.self} is not a spare`);
    begin(wiring, recovery as WorkerBoot['recovery']);
    return wiring.self;
  },
  threadDown: (thread, death, ports) => running().node.threadDown(thread, death, ports),
  inspect: (): ActorInfo[] => running().node.describe(),
  whenReady: () => running().node.entities.ready(),
  beginShutdown: () => {
    running().node.stopReason = 'shutdown';
  },
  close: async () => {
    node?.abandonAll();
    if (node !== null) await node.closeOffload();
    if (node !== null) await node.entities.close();
    if (runtime !== null) await runtime.close();
    // Exit with 0 once this reply is on its way.
    setImmediate(() => process.exit(0));
  },
};

// A promise rejected with nobody listening (a fire-and-forget ask to a stopped actor, say) ends
// a thread by Node's default, and with it every actor it hosts. Here it is counted in stats,
// the first one goes to the system's logger (on the main thread), and the thread goes on.
let unhandled = 0;
process.on('unhandledRejection', (reason) => {
  if (runtime !== null) runtime.counters[STAT_UNHANDLED_REJECTIONS]!++;
  if (unhandled++ === 0) {
    const message = `troupe thread ${runtime?.self ?? '(spare)'}: a promise was rejected and nothing handled it (later ones are only counted): ${String((reason as Error)?.stack ?? reason)}`;
    if (node !== null) node.diagnostics.report('warn', message);
    else process.emitWarning(message); // a spare has no way to main yet
  }
});

if (boot.spare === true) {
  // A spare imports the actor modules ahead, so that becoming a replacement loads nothing.
  for (const url of boot.preload ?? []) await loadModule(url).catch(() => undefined);
} else {
  begin(boot.wiring, boot.recovery);
}
expose(control, nodeEndpoint(parentPort!));
