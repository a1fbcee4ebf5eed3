import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const program = fileURLToPath(new URL('../fixtures/one-file-program.ts', import.meta.url));

/** Runs the one-file program with its actor on `thread`; returns the JSON line it printed. */
async function outcome(thread: number): Promise<Record<string, unknown>> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', program, String(thread)], { timeout: 20_000 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
}

describe('a program that defines actors and starts the system in one module', () => {
  it('fails fast when a worker imports it: createSystem refuses to run there, naming the module and the fix', async () => {
    const seen = await outcome(1);
    expect(seen).toMatchObject({ name: 'ActorInitializationError', code: 'ERR_ACTOR_INIT' });
    expect(seen.message).toContain('one-file-program.ts');
    expect(seen.message).toContain('module of their own');
    expect(seen.ms).toBeLessThan(5000); // at once, not at the ask's 10 s timeout (a loaded machine is slow to start a worker)
  });

  it('runs the actor on the main thread, where no worker imports the module', async () => {
    expect(await outcome(0)).toMatchObject({ answer: 'pong' });
  });
});
