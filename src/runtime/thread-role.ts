// Whether this thread is a worker of a troupe system, and which module it is importing. A worker
// marks itself before it imports any actor module, so that code in such a module can tell: an
// actor defined in the program's main script makes every worker import that script, and a
// createSystem() at its top level would start a system inside each worker.
//
// A global symbol, not a module variable: the worker entry and the user's modules may load two
// copies of troupe (its build and a package install), and both must see the same mark.

const WORKER = Symbol.for('troupe.worker-thread');

interface WorkerMark {
  /** The module URL being imported right now (the innermost), or null. */
  loading: string | null;
}

function mark(): WorkerMark | undefined {
  return (globalThis as Record<symbol, WorkerMark | undefined>)[WORKER];
}

/** Called once by the worker entry, before it imports anything of the user's. */
export function markWorkerThread(): void {
  (globalThis as Record<symbol, WorkerMark | undefined>)[WORKER] ??= { loading: null };
}

/** Undefined on a thread that is not a troupe worker; otherwise the module being imported (or null). */
export function workerThreadImporting(): { readonly module: string | null } | undefined {
  const m = mark();
  return m === undefined ? undefined : { module: m.loading };
}

/** Runs `load` with `url` noted as the module being imported (on a troupe worker). */
export async function importing<T>(url: string, load: () => Promise<T>): Promise<T> {
  const m = mark();
  if (m === undefined) return load();
  const outer = m.loading;
  m.loading = url;
  try {
    return await load();
  } finally {
    m.loading = outer;
  }
}
