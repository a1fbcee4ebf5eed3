// E8 (bad input and faults) with a full disk: a real process whose store fills a real file
// system (a tmpfs of 20 MB, mounted in a mount namespace of its own, so nothing is left mounted),
// with the sender on the main thread and on a worker thread (entities live on worker threads).
// The send that cannot be stored fails with a typed StorageError; its message is a
// storage-failed dead letter with its content; what resolved before is handled once; the system
// goes on. Where no mount namespace can be made (unshare refused), the test says so and is
// skipped.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const CHILD = fileURLToPath(new URL('../fixtures/full-disk-child.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'troupe-full-'));
/** Children still running: none outlives the file (a test that times out leaves its child here). */
const running = new Set<ChildProcess>();
afterAll(() => {
  for (const child of running) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});
/** A child that has not ended by then is killed, and its test fails with what it wrote (the test's own bound is 60 s). */
const CHILD_MS = 50_000;

/** A user and mount namespace of its own (unprivileged where the kernel allows), with a small tmpfs at `$1`. */
const UNSHARE = ['--user', '--map-root-user', '--mount'];
const MOUNT = 'mount -t tmpfs -o size=20m tmpfs "$1"';
const canMount = spawnSync('unshare', [...UNSHARE, 'sh', '-c', MOUNT, 'sh', dir], { stdio: 'ignore' }).status === 0;
if (!canMount) console.warn('entity-full-disk.test.ts: skipped: cannot make a mount namespace with a tmpfs here (unshare)');

interface Outcome {
  resolved: string[];
  failure: { name: string; code: string; message: string; id: string } | null;
  toldThrew: string | null;
  letters: { reason: string; type: string; id?: string; padded: boolean }[];
  applied: string[];
  balance: number;
}

function run(from: 'main' | 'worker'): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const script = `${MOUNT} && exec "$0" --import tsx "$2" "$1/data" "$3"`;
    const child = spawn('unshare', [...UNSHARE, 'sh', '-c', script, process.execPath, dir, CHILD, from], { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_MS);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      const line = stdout.split('\n').find((l) => l.startsWith('{'));
      if (code === 0 && line !== undefined) resolve(JSON.parse(line) as Outcome);
      else reject(new Error(`child exited with ${code ?? signal}: ${stderr.slice(-2000)}`));
    });
  });
}

describe.skipIf(!canMount)('durable entities on a full disk (E8)', () => {
  for (const from of ['main', 'worker'] as const) {
    it(`E8: a send that cannot be stored fails with StorageError, its message is a storage-failed dead letter, and what was stored is handled once (sent from ${from === 'main' ? 'the main thread' : 'a worker thread'})`, async () => {
      const out = await run(from);
      expect(out.failure).toMatchObject({ name: 'StorageError', code: 'ERR_STORAGE' });
      expect(out.resolved.length).toBeGreaterThan(10); // the file filled up on the way
      const failed = out.failure!.id;
      // The failed message: told to its sender, a dead letter with its content, never handled.
      expect(out.letters.filter((l) => l.id === failed)).toEqual([{ reason: 'storage-failed', type: 'paddedDeposit', id: failed, padded: true }]);
      expect(out.applied).not.toContain(failed);
      // Every send that resolved was handled, once; nothing else was.
      expect([...out.applied].filter((id) => id !== 'told').sort()).toEqual([...out.resolved].sort());
      expect(out.balance).toBe(out.applied.length);
      // The tell after it: refused at once, a storage-failed dead letter, or stored and handled once (the
      // handled messages may have made room): never lost without a word.
      const toldLetters = out.letters.filter((l) => l.id === 'told');
      const toldApplied = out.applied.filter((id) => id === 'told').length;
      if (out.toldThrew !== null) expect(toldLetters.length + toldApplied).toBe(0);
      else if (toldApplied === 1) expect(toldLetters).toEqual([]);
      else expect(toldLetters).toEqual([{ reason: 'storage-failed', type: 'paddedDeposit', id: 'told', padded: true }]);
      // No other dead letters.
      expect(out.letters.filter((l) => l.id !== failed && l.id !== 'told')).toEqual([]);
    }, 60_000);
  }
});
