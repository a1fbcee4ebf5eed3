// What a thread's entities need of its actor host (node/node.ts): the core, a fresh actor key,
// a cell made from a spawn record, and a stop.

import { decodeContext, decodeStandalone } from '../../runtime/codec.js';
import type { Cell } from '../cell/cell.js';
import type { NodeCore } from '../node/node-core.js';
import type { SpawnRecord } from '../node/wire.js';
import type { EntityAddress } from './entity-ref.js';
import type { SourceMark } from './entity-store.js';

export interface EntityHost extends NodeCore {
  /** Worker threads (1..workers) over which keys are spread. */
  readonly workers: number;
  /** A fresh actor key of this thread. */
  newKey(): number;
  spawnFromRecord(from: number, key: number, record: SpawnRecord): void;
  stopCell(cell: Cell, reason: 'normal'): Promise<void>;
  /** Reports to the system's logger (from any thread). */
  readonly diagnostics: { report(level: 'warn' | 'error', message: string): void };
  /** Sends a message from an entity's outbox to its target's thread (outbox.ts). */
  readonly sendToEntity: SendToEntity;
}

/** How an outbox message goes (outbox.ts): to its target's thread, settled once the target has stored it (or dropped it as taken). */
export type SendToEntity = (address: EntityAddress, type: string, payload: unknown, trace: string | undefined, source: SourceMark, settle: (error: Error | null, duplicate: boolean) => void) => void;

/** Stored bytes decoded on `host`'s thread: refs in them bind to it. */
export function decodeOn(host: EntityHost, bytes: Uint8Array): unknown {
  const before = decodeContext.current;
  decodeContext.current = host;
  try {
    return decodeStandalone(bytes);
  } finally {
    decodeContext.current = before;
  }
}
