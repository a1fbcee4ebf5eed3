import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

describe('signals', () => {
  it('Z5: SIGTERM runs the graceful shutdown once, then the process exits 0 by itself', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../fixtures/signal-child.ts', import.meta.url))], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('ready')) resolve();
      });
      child.once('exit', () => reject(new Error(`child exited early: ${err}`)));
    });
    child.kill('SIGTERM');
    child.kill('SIGTERM'); // a second signal during shutdown changes nothing
    expect(await exited).toBe(0);
    const reports = out.split('\n').filter((l) => l.startsWith('report '));
    expect(reports).toHaveLength(1);
    expect(JSON.parse(reports[0]!.slice('report '.length))).toEqual({ processed: 101, deadLettered: 0, forced: 0 });
  });
});
