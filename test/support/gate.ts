// A gate a worker thread can wait on while it reads nothing else: a file that does not exist until
// the test opens it. The Exiter fixture spins until its gate exists, so a test can fill a
// stalled thread's rings at whatever speed the machine allows and only then let it die. A handler
// that must stay in progress without holding its thread awaits gateOpened() instead. Fixtures run
// on worker threads (and re-import their modules there): a gate travels as its path, in a payload.

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FileGate {
  readonly path: string;
  open(): void;
  /** Removes the gate's folder. */
  dispose(): void;
}

export function fileGate(): FileGate {
  const dir = mkdtempSync(join(tmpdir(), 'troupe-gate-'));
  const path = join(dir, 'open');
  return {
    path,
    open: () => writeFileSync(path, ''),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * Resolves once the file at `path` exists, or after `capMs` (a test that fails cannot hang on it).
 * Polls on a timer: the thread that waits goes on running everything else meanwhile.
 */
export async function gateOpened(path: string, capMs: number): Promise<void> {
  const cap = Date.now() + capMs;
  while (!existsSync(path) && Date.now() < cap) await new Promise((resolve) => setTimeout(resolve, 5));
}
