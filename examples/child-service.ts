// The service process (service-process.ts) from its parent's side: start it on a data directory
// and learn its URL, kill it with SIGKILL, or stop it and read its last report. Its output goes
// straight to this process's stdout and stderr.

import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ShutdownReport } from 'troupe';

const PROGRAM = fileURLToPath(new URL('./service-process.ts', import.meta.url));

/** What the process sends once it serves. */
export interface Listening {
  readonly url: string;
  readonly pid: number;
  readonly threads: number;
}

/** What the process sends as it stops. */
export interface Stopped {
  readonly report: ShutdownReport;
}

type Note = ({ kind: 'listening' } & Listening) | ({ kind: 'stopped' } & Stopped);

export interface ChildService extends Listening {
  /** SIGKILL: resolves once the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM: resolves with what it sent as it stopped, once it has exited. */
  stop(): Promise<Stopped>;
  /** Resolves when the process exits, however it does. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts the service on `data` (its entities in an lmdb directory), or as node `name` of a cluster
 * on the NATS server `cluster`; resolves once it listens (rejects if it exits first).
 */
export function startChildService(options: ({ data: string } | { cluster: string; name: string }) & { port?: number }): Promise<ChildService> {
  const where = 'data' in options ? [`--data=${options.data}`] : [`--cluster=${options.cluster}`, `--name=${options.name}`];
  const args = [...where, ...(options.port === undefined ? [] : [`--port=${options.port}`])];
  const child: ChildProcess = fork(PROGRAM, args, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let stopped: Stopped | null = null;
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    void exited.then(({ code, signal }) => reject(new Error(`the service process exited before it listened (${signal ?? `code ${code}`})`)));
    child.on('message', (note: Note) => {
      if (note.kind === 'stopped') stopped = { report: note.report };
      if (note.kind !== 'listening') return;
      resolve({
        url: note.url,
        pid: note.pid,
        threads: note.threads,
        exited,
        async kill() {
          child.kill('SIGKILL');
          await exited;
        },
        async stop() {
          child.kill('SIGTERM');
          const { code, signal } = await exited;
          if (stopped === null) throw new Error(`the service process exited without its report (${signal ?? `code ${code}`})`);
          return stopped;
        },
      });
    });
  });
}
