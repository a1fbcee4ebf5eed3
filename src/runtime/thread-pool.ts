// Starts, owns and ends the worker threads. Also the one place that decides how a worker loads
// code: it always runs the built JavaScript entry (dist/worker.js), even when the caller runs
// TypeScript sources (vitest, tsx), because Node 20 cannot run .ts and vitest does not transform
// what `new Worker()` loads. That entry turns on tsx only when asked to load a .ts actor module.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker, type ResourceLimits, type WorkerOptions } from 'node:worker_threads';
import { wrap, releaseProxy, type Remote } from 'comlink';
import { nodeEndpoint, type WorkerControl } from './control.js';
import type { ThreadWiring, Topology } from './topology.js';

export function workerEntryUrl(): URL {
  const here = import.meta.url;
  // Built: dist/runtime/thread-pool.js -> dist/worker.js. Sources: src/runtime/*.ts -> dist/worker.js.
  const url = here.endsWith('.ts') ? new URL('../../dist/worker.js', here) : new URL('../worker.js', here);
  if (!existsSync(fileURLToPath(url))) {
    throw new Error(`worker entry ${fileURLToPath(url)} is missing: run \`npm run build\` first`);
  }
  return url;
}

export interface WorkerHandle {
  readonly thread: number;
  readonly worker: Worker;
  readonly control: Remote<WorkerControl>;
  readonly exited: Promise<number>;
}

/** `error`: what the worker died of, when Node reported one (an uncaught error, out of memory). */
export type OnExit = (thread: number, code: number, error: Error | null) => void;

/** Starts workers 1..count of a topology; resolves once each answers a ping. */
export async function startWorkers(topology: Topology, count: number, boot: (thread: number) => object, onExit: OnExit): Promise<WorkerHandle[]> {
  const handles: WorkerHandle[] = [];
  for (let thread = 1; thread <= count; thread++) handles.push(startWorker(topology, topology.wiringFor(thread), boot(thread), onExit));
  await Promise.all(handles.map(ready));
  return handles;
}

/** Starts one worker on `wiring` (a first start, or the replacement of one that died). */
export function startWorker(topology: Topology, wiring: ThreadWiring, boot: object, onExit: OnExit, resourceLimits?: ResourceLimits): WorkerHandle {
  const thread = wiring.self;
  const worker = newWorker(workerEntryUrl(), {
    workerData: { ...boot, wiring },
    transferList: topology.portsOf(wiring),
    name: `troupe-${thread}`,
    ...(resourceLimits === undefined ? {} : { resourceLimits }),
  });
  let died: Error | null = null;
  const exited = new Promise<number>((resolve) => {
    worker.once('exit', (code) => {
      onExit(thread, code, died);
      resolve(code);
    });
  });
  worker.on('error', (error) => {
    // The 'exit' that follows reports it; an unlistened 'error' would crash the process.
    died = error;
  });
  return { thread, worker, control: wrap<WorkerControl>(nodeEndpoint(worker)), exited };
}

/**
 * A worker with the parent's Node flags, less a TypeScript loader (`--import tsx`): a worker
 * turns that on itself, and only if it loads a .ts actor module (module-loader.ts). Inherited,
 * it would cost every worker start (a replacement's too) the loader's own start-up, over 100 ms.
 * Flags given explicitly are checked, unlike inherited ones, which Node filters quietly: those a
 * worker may not have (V8 and process-wide ones, --expose-gc say) are dropped, as inheriting would.
 */
function newWorker(entry: URL, options: WorkerOptions): Worker {
  const execArgv = withoutTypeScriptLoader();
  if (execArgv === null) return new Worker(entry, options);
  try {
    return new Worker(entry, { ...options, execArgv });
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw error;
    // The check comes before anything is transferred: the same options can be used again.
    const invalid = new Set(String((error as Error).message).split(': ').pop()!.split(/,\s*/));
    return new Worker(entry, { ...options, execArgv: execArgv.filter((arg) => !invalid.has(arg)) });
  }
}

/** process.execArgv less any tsx loader flag, or null when it has none (then workers inherit). */
function withoutTypeScriptLoader(): string[] | null {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if ((arg === '--import' || arg === '--loader' || arg === '--require' || arg === '-r') && /^tsx(\/|$)/.test(argv[i + 1] ?? '')) {
      i++;
      continue;
    }
    if (/^--(import|loader|require)=tsx(\/|$)/.test(arg)) continue;
    out.push(arg);
  }
  return out.length === argv.length ? null : out;
}

/**
 * A spare worker: started ahead with no thread slot, it imports `boot.preload` and waits to
 * become the replacement of a thread that dies (WorkerControl.become), sparing the replacement a
 * worker start and its module loading. `onExit` reports its end, whatever it became by then.
 */
export function startSpare(boot: object, onExit: (code: number, error: Error | null) => void): Omit<WorkerHandle, 'thread'> {
  const worker = newWorker(workerEntryUrl(), { workerData: { ...boot, spare: true }, name: 'troupe-spare' });
  let died: Error | null = null;
  const exited = new Promise<number>((resolve) => {
    worker.once('exit', (code) => {
      onExit(code, died);
      resolve(code);
    });
  });
  worker.on('error', (error) => {
    died = error;
  });
  return { worker, control: wrap<WorkerControl>(nodeEndpoint(worker)), exited };
}

/** Resolves once the worker answers a ping; rejects if it exits first. */
export function ready(h: Omit<WorkerHandle, 'thread'> & { thread?: number }): Promise<unknown> {
  return Promise.race([
    h.control.ping(),
    h.exited.then((code) => {
      throw new Error(`worker ${h.thread ?? '(spare)'} exited with code ${code} while starting`);
    }),
  ]);
}

export async function stopWorkers(handles: readonly WorkerHandle[], timeoutMs: number): Promise<void> {
  await Promise.all(
    handles.map(async (h) => {
      let timer: NodeJS.Timeout | undefined;
      const closed = Promise.race([
        h.control.close().catch(() => undefined),
        h.exited,
        new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs))),
      ]);
      await closed;
      clearTimeout(timer);
      h.control[releaseProxy]();
      const exit = Promise.race([h.exited, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
      await exit;
      clearTimeout(timer);
      await h.worker.terminate();
    }),
  );
}
