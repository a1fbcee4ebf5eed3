// A real nats-server for the cluster tests, the bench and the demo: found on PATH (Debian's
// package installs it in /usr/sbin), started with JetStream on a port it picks and a temporary
// store, stopped with SIGINT (its clean exit). Several started with `routes` form a NATS cluster.

import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export interface NatsServer {
  /** `nats://127.0.0.1:<port>` */
  readonly url: string;
  /** Its cluster port (routes), when started with `clusterName`. */
  readonly routeUrl: string | null;
  readonly process: ChildProcess;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** The nats-server binary: $NATS_SERVER_BIN, else PATH, else /usr/sbin; null if none. */
export function findNatsServer(): string | null {
  const given = process.env['NATS_SERVER_BIN'];
  if (given !== undefined) return existsSync(given) ? given : null;
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = join(dir, 'nats-server');
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

export interface StartOptions {
  /** Form a NATS cluster of this name, listening for routes on `clusterPort`. */
  readonly clusterName?: string;
  readonly clusterPort?: number;
  /** Route URLs of every server of the cluster (its own may be among them). */
  readonly routes?: readonly string[];
  /** A server name (needed in a cluster with JetStream). */
  readonly serverName?: string;
  /** Clients must give this token (`--auth`). */
  readonly token?: string;
  readonly timeoutMs?: number;
}

/** Starts one server; resolves once it says it is ready. */
export async function startNatsServer(bin: string, options: StartOptions = {}): Promise<NatsServer> {
  const dir = mkdtempSync(join(tmpdir(), 'troupe-nats-'));
  const args = ['-a', '127.0.0.1', '-p', '-1', '-js', '-sd', dir];
  if (options.serverName !== undefined) args.push('-n', options.serverName);
  if (options.token !== undefined) args.push('--auth', options.token);
  if (options.clusterName !== undefined) {
    args.push('--cluster_name', options.clusterName, '--cluster', `nats://127.0.0.1:${options.clusterPort ?? -1}`);
    if (options.routes !== undefined && options.routes.length > 0) args.push('--routes', options.routes.join(','));
  }
  const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const ready = new Promise<{ port: string; route: string | null }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nats-server did not start in time:\n${log}`)), options.timeoutMs ?? 10_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited with ${code}:\n${log}`));
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      if (log.length < 64 * 1024) log += chunk;
      const port = /client connections on 127\.0\.0\.1:(\d+)/.exec(log)?.[1];
      const route = /cluster connections on 127\.0\.0\.1:(\d+)/.exec(log)?.[1];
      if (port !== undefined && /Server is ready/.test(log)) {
        clearTimeout(timer);
        resolve({ port, route: route === undefined ? null : `nats://127.0.0.1:${route}` });
      }
    });
  });
  let started: { port: string; route: string | null };
  try {
    started = await ready;
  } catch (error) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  child.stderr!.resume();
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    url: `nats://127.0.0.1:${started.port}`,
    routeUrl: started.route,
    process: child,
    async stop(signal: NodeJS.Signals = 'SIGINT') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A TCP port free on loopback just now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** `size` servers routed to each other as one NATS cluster with JetStream (it elects its leader once they meet). */
export async function startNatsCluster(bin: string, size: number, name = 'troupe-test'): Promise<NatsServer[]> {
  const ports = await Promise.all(Array.from({ length: size }, freePort));
  const routes = ports.map((port) => `nats://127.0.0.1:${port}`);
  return Promise.all(ports.map((clusterPort, i) => startNatsServer(bin, { clusterName: name, clusterPort, routes, serverName: `${name}-${i + 1}` })));
}
