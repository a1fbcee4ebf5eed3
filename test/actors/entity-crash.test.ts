// E2, E3, E4, E6 under SIGKILL: a child process sends deposits, or transfers between them, to
// durable ledgers; it is killed at
// random moments and started again on the same data, several times; a last run sends them all
// once more and waits. Every deposit is then applied exactly once (no loss, no double: each ledger
// records which ids it applied), and every send that resolved before a kill is among them.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../support/random.js';

const CHILD = fileURLToPath(new URL('../fixtures/ledger-crash-child.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'troupe-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  readonly resolved: number[];
  readonly final: { balance: number; applied: string[] }[] | null;
  readonly killed: boolean;
}

/** One run of the child; with killAfterMs, SIGKILL that long after its first resolved send. */
function run(data: string, n: number, keys: number, killAfterMs: number | null, workload: 'deposits' | 'transfers' = 'deposits'): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, join(dir, data), String(n), String(keys), killAfterMs === null ? '1' : '0', workload], { stdio: ['ignore', 'pipe', 'pipe'] });
    const resolved: number[] = [];
    let final: Run['final'] = null;
    let buffered = '';
    let stderr = '';
    let timer: NodeJS.Timeout | null = null;
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.startsWith('ok ')) {
          resolved.push(Number(line.slice(3)));
          if (killAfterMs !== null && timer === null) timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        } else if (line.startsWith('final ')) {
          final = JSON.parse(line.slice(6)) as Run['final'];
        }
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (timer !== null) clearTimeout(timer);
      if (signal === 'SIGKILL') resolve({ resolved, final, killed: true });
      else if (code === 0) resolve({ resolved, final, killed: false });
      else reject(new Error(`child exited with ${code}: ${stderr}`));
    });
  });
}

describe('durable entities under SIGKILL', () => {
  it('E2, E3, E6: every deposit is applied exactly once across repeated kills and restarts; every resolved send is among them', async () => {
    const n = 3000;
    const keys = 8;
    const random = seededRandom(15);
    const resolvedBeforeKills = new Set<number>();
    let kills = 0;
    for (let round = 0; round < 4; round++) {
      const r = await run('deposits', n, keys, 30 + Math.floor(random() * 400));
      for (const i of r.resolved) resolvedBeforeKills.add(i);
      if (r.killed) kills++;
    }
    expect(kills).toBeGreaterThan(0);
    expect(resolvedBeforeKills.size).toBeGreaterThan(0);
    const last = await run('deposits', n, keys, null);
    const ledgers = last.final!;
    const applied = ledgers.flatMap((l) => l.applied);
    const counts = new Map<string, number>();
    for (const id of applied) counts.set(id, (counts.get(id) ?? 0) + 1);
    expect([...counts.values()].filter((c) => c > 1)).toEqual([]); // none twice
    expect(counts.size).toBe(n); // none lost
    for (const i of resolvedBeforeKills) expect(counts.get(`m${i}`)).toBe(1);
    expect(ledgers.reduce((sum, l) => sum + l.balance, 0)).toBe(n);
  }, 120_000);

  it('E4: transfers between ledgers through their outboxes: the total is kept, each transfer taken once from its source and once by its target, across repeated kills', async () => {
    const n = 1500;
    const keys = 6;
    const random = seededRandom(4);
    const resolvedBeforeKills = new Set<number>();
    let kills = 0;
    for (let round = 0; round < 4; round++) {
      const r = await run('transfers', n, keys, 30 + Math.floor(random() * 400), 'transfers');
      for (const i of r.resolved) resolvedBeforeKills.add(i);
      if (r.killed) kills++;
    }
    expect(kills).toBeGreaterThan(0);
    const ledgers = (await run('transfers', n, keys, null, 'transfers')).final!;
    expect(ledgers.reduce((sum, l) => sum + l.balance, 0)).toBe(keys * 1000); // nothing created or lost
    const applied = ledgers.flatMap((l) => l.applied);
    const counts = new Map<string, number>();
    for (const id of applied) counts.set(id, (counts.get(id) ?? 0) + 1);
    expect([...counts.entries()].filter(([, c]) => c > 1)).toEqual([]); // no transfer or deposit twice
    for (let i = 0; i < n; i++) {
      expect(counts.get(`t${i}`), `t${i}`).toBe(1);
      expect(counts.get(`t${i}>`), `t${i}>`).toBe(1);
    }
    for (const i of resolvedBeforeKills) expect(counts.get(`t${i}`)).toBe(1);
  }, 120_000);
});
