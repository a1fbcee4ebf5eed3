import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Runs the demo as `npm start` does (`node --import tsx examples/service.ts`), with `args`. */
function demo(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'NODE_OPTIONS'));
  return new Promise((done) => {
    execFile(process.execPath, ['--import', 'tsx', 'examples/service.ts', ...args], { cwd: root, env, timeout: 80_000, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      done({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr });
    });
  });
}

describe('the order service demo (npm start)', () => {
  it('kills its service process with SIGKILL under load, restarts it on the same data, and finds every order placed charged exactly once', async () => {
    const { code, stdout, stderr } = await demo('--duration=1.5', '--concurrency=16');
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toMatch(/SIGKILL: process \d+ is gone \(SIGKILL\)/);
    // The kill cut off requests in flight; their orders were sent again and decided once.
    const retried = Number(/the clients sent the (\d+) orders whose requests died with it again/.exec(stdout)?.[1]);
    expect(retried).toBeGreaterThan(0);
    const [, once, placed] = /charged once: (\d+) of (\d+) placed; twice: 0; lost: 0; rejected but charged: 0; wrong amount: 0; unknown orders: 0\n/.exec(stdout) ?? [];
    expect(Number(placed)).toBeGreaterThan(0);
    expect(once).toBe(placed);
    expect(stdout).toMatch(/\n {2}every order placed was charged exactly once, across a SIGKILL of the service process\.\n$/);
    // Its temp dir is gone.
    const dir = /its entities in (\S+)/.exec(stdout)?.[1];
    expect(dir).toMatch(/troupe-demo-/);
    expect(existsSync(dir!)).toBe(false);
  }, 60_000);
});

describe.skipIf(inject('natsBin') === '')('the order service demo as a cluster (npm start -- --cluster=3)', () => {
  it('N4: runs three nodes on a local nats-server, kills one with SIGKILL under load, and finds every order placed charged exactly once; the orders the dead node decided answer from the state it committed', async () => {
    const { code, stdout, stderr } = await demo('--cluster=3', '--duration=3', '--concurrency=16');
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/SIGKILL of node-3: declared down \d+\.\d s after/);
    const [, decided, asked, replayed] = /entities that moved: (\d+) orders had been decided on node-3; (\d+) of them placed again on a surviving node: (\d+) answered/.exec(stdout) ?? [];
    expect(Number(decided)).toBeGreaterThan(0);
    expect(replayed).toBe(asked);
    const [, once, placed] = /charged once: (\d+) of (\d+) placed; twice: 0; lost: 0; rejected but charged: 0; wrong amount: 0; unknown orders: 0\n/.exec(stdout) ?? [];
    expect(Number(placed)).toBeGreaterThan(0);
    expect(once).toBe(placed);
    expect(stdout).toMatch(/\n {2}every order placed was charged exactly once, across a SIGKILL of one node of 3\.\n$/);
  }, 90_000);
});
