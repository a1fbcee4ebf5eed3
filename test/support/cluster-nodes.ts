// Nodes of a test cluster in processes of their own (test/fixtures/cluster-node.ts), on a real
// nats-server: started, told to leave (stdin closed: a clean shutdown) or killed.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const NODE = fileURLToPath(new URL('../fixtures/cluster-node.ts', import.meta.url));

export interface NodeProcess {
  readonly name: string;
  readonly child: ChildProcessWithoutNullStreams;
  /** Resolves with the exit code (or signal) once the process has ended. */
  readonly exited: Promise<number | string>;
  /** Closes its stdin: the node shuts down and leaves. */
  leave(): Promise<number | string>;
  kill(): Promise<number | string>;
}

/** Starts a node; resolves once it has joined and registered its actors (within `timeoutMs`). `options`: more cluster options. */
export function startNode(servers: string | readonly string[], name: string, namespace: string, options?: object, timeoutMs = 20_000): Promise<NodeProcess> {
  const args = ['--import', 'tsx', NODE, typeof servers === 'string' ? servers : servers.join(','), name, namespace];
  if (options !== undefined) args.push(JSON.stringify(options));
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node ${name} did not start in ${timeoutMs} ms: ${stderr}`)), timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      if (!chunk.toString().includes('ready')) return;
      // TROUPE_NODE_STDERR=1: what the node writes on stderr once ready (its warnings) shows, named.
      if (process.env['TROUPE_NODE_STDERR'] === '1') child.stderr.on('data', (c: Buffer) => process.stderr.write(`[${name}] ${c.toString()}`));
      clearTimeout(timer);
      resolve({
        name,
        child,
        exited,
        leave: () => {
          child.stdin.end();
          return exited;
        },
        kill: () => {
          child.kill('SIGKILL');
          return exited;
        },
      });
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`node ${name} exited with ${code} before it was ready: ${stderr}`));
    });
  });
}
