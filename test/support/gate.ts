// A gate a worker thread can wait on while it reads nothing else: a file that does not exist until
// the test opens it. The Exiter fixture spins until its gate exists, so a test can fill a
// stalled thread's rings at whatever speed the machine allows and only then let it die.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
