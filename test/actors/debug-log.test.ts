// NODE_DEBUG=troupe: a trace of spawns, starts, restarts, stops and thread events on stderr, from
// the main thread and from workers; nothing without it. A child process runs a tiny system
// (test/fixtures/debug-log-program.ts) both ways.

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const program = fileURLToPath(new URL('../fixtures/debug-log-program.ts', import.meta.url));

/** Runs the program with `debug` as NODE_DEBUG (none if null); resolves with its output. */
function run(debug: string | null): Promise<{ stdout: string; stderr: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'NODE_OPTIONS' && k !== 'NODE_DEBUG'));
  if (debug !== null) env.NODE_DEBUG = debug;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', program], { env, timeout: 20_000 }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`${error.message}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

describe('NODE_DEBUG=troupe', () => {
  it('traces spawns, starts, restarts and stops on each thread, and a worker exiting and being replaced', async () => {
    const { stdout, stderr } = await run('troupe');
    expect(stdout.trim()).toBe('done');
    const lines = stderr.split('\n').filter((line) => line.startsWith('TROUPE '));
    const trace = lines.map((line) => line.replace(/^TROUPE \d+: /, '').replace(/ [\w-]+\.[0-9a-z]+\b/, ' <id>'));
    expect(trace).toEqual(
      expect.arrayContaining([
        'thread 0: spawn Counter <id>',
        'thread 1: spawn Counter <id>',
        'thread 0: start Counter <id>',
        'thread 1: start Counter <id>',
        'thread 1: restart Counter <id> after Error: boom',
        'thread 0: stop Counter <id> (normal)',
        'thread 1: stop Counter <id> (normal)',
        'thread 0: thread 1 exited with code 3 (thread-exit)',
        'thread 0: thread 1 replaced',
      ]),
    );
    // The worker's actor keeps one id from its spawn to its stop.
    const remote = /thread 1: spawn Counter (\S+)/.exec(stderr)![1]!;
    expect(stderr).toContain(`thread 1: stop Counter ${remote} (normal)`);
  });

  it('prints nothing without it', async () => {
    const { stdout, stderr } = await run(null);
    expect(stdout.trim()).toBe('done');
    expect(stderr).toBe('');
  });
});
