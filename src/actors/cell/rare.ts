// The parts of a cell that most actors never use: watches, links, restart and backoff
// bookkeeping, timers, supervision, at-least-once state, stop promises. One pointer in the cell,
// allocated on first use (about 100 bytes less per idle actor).

import type { ActorRefImpl } from '../actor-ref.js';
import type { DeliveryState } from './delivery.js';
import type { RestartState } from '../supervision/child.js';
import type { BackoffState } from '../supervision/restart.js';
import type { Supervisor } from '../supervision/supervisor.js';
import type { ActorTimers } from './timers.js';
import type { ExitReason } from '../types.js';

export class Rare implements RestartState {
  /** Actors this one watches, by key. */
  watching: Map<number, ActorRefImpl> | null = null;
  /** Actors watching this one: watcher key -> watcher thread. */
  watchers: Map<number, number> | null = null;
  /** Why this actor ends, for its watchers. */
  exitReason: ExitReason = 'normal';
  stopping: Promise<void> | null = null;
  restarts: number[] | null = null;
  /** Backoff bookkeeping, only for actors spawned with a backoff. */
  backoff: BackoffState | null = null;
  idle: (() => void)[] | null = null;
  stopped: { promise: Promise<void>; resolve: () => void } | null = null;
  timers: ActorTimers | null = null;
  /** Its side as a supervisor (undefined: not looked up yet; null: it does not supervise). */
  supervisor: Supervisor | null | undefined = undefined;
  /** Under a supervising parent: the failure it reported, and who waits for it to run again. */
  lastError: Error | null = null;
  whenRunning: (() => void)[] | null = null;
  /** Ack mode and dedup, for actors spawned with a delivery option. */
  delivery: DeliveryState | null = null;
  /** Messages whose handler threw (and hooks that failed). */
  failed = 0;
  /** What ctx.signal reads: aborted when the actor stops or restarts, or its ack-mode attempt is abandoned. */
  abort: AbortController | null = null;
  /** Linked actors, by key. */
  links: Map<number, ActorRefImpl> | null = null;
  trapExit = false;
  /** Times it moved to another thread (node/moves.ts). */
  moves = 0;
  /** Why it cannot move, once a move found out (its state would not arrive unchanged). */
  pinned: string | null = null;
}
