// The child's side of supervision: what a cell does when it fails. Without a supervising parent
// it restarts itself within its limits (restart.ts), behind the same ref, keeping its queued
// messages; past them it stops. Under a supervising parent it suspends and reports the failure,
// and carries out the directive that comes back (resume, restart, halt, start). Every restart
// cancels the old incarnation's timers, stops its children newest first and runs onRestart.

import type { Clock } from '../../runtime/clock.js';
import { STAT_RESTARTS } from '../../runtime/layout.js';
import { isThenable } from '../../validate.js';
import type { CellStatus } from '../cell/cell-status.js';
import { definitionSupervision } from '../define.js';
import { actorRestarted } from '../diagnostics.js';
import type { ActorPolicy } from '../policy.js';
import type { ActorContext, AnyDefinition, ExitReason } from '../types.js';
import { allowRestart, backoffDelay, type BackoffState } from './restart.js';
import { Supervisor } from './supervisor.js';

/** What a failing cell keeps about its restarts (in the part of a cell most actors never use). */
export interface RestartState {
  restarts: number[] | null;
  /** Backoff bookkeeping, only for actors spawned with a backoff. */
  backoff: BackoffState | null;
  /** Its side as a supervisor (undefined: not looked up yet; null: it does not supervise). */
  supervisor: Supervisor | null | undefined;
  /** Under a supervising parent: the failure it reported, and who waits for it to run again. */
  lastError: Error | null;
  whenRunning: (() => void)[] | null;
  /** Messages whose handler threw (and hooks that failed). */
  failed: number;
}

/** A cell, as supervision sees it. */
export interface SupervisedCell {
  readonly key: number;
  status: CellStatus;
  busy: boolean;
  exitReason: ExitReason;
  readonly ending: boolean;
  readonly depth: number;
  readonly policy: ActorPolicy;
  readonly children: Map<number, number> | null;
  readonly definition: AnyDefinition | null;
  readonly ctx: ActorContext<unknown>;
  readonly node: {
    readonly self: number;
    readonly clock: Clock;
    idOf(key: number): string;
    /** Its thread's counters (layout.ts STAT_*): every restart is counted there. */
    readonly runtime: { readonly counters: Float64Array };
    stopCell(cell: SupervisedCell, reason: 'failed'): Promise<void>;
    stopChildren(cell: SupervisedCell): Promise<void>;
    readonly supervision: { reportFailure(cell: SupervisedCell, error: Error, normalExit?: boolean): void };
  };
  /** Its restart state, if it has one yet. */
  readonly restartState: RestartState | null;
  /** Its restart state, created on first use. */
  more(): RestartState;
  cancelTimers(): void;
  schedule(): void;
  whenIdle(): Promise<void>;
  /** Resolves whoever waits for the cell to be idle (a stop waiting on a hook). */
  settleIdle(): void;
}

export type DirectiveVerb = 'resume' | 'restart' | 'halt' | 'start';

/** Restarts behind the same ref: queued messages stay, the failing one is not reprocessed. */
export function restart(cell: SupervisedCell, error: Error): void {
  if (cell.policy.supervised) {
    suspend(cell, error);
    return;
  }
  const now = cell.node.clock.now();
  const state = cell.more();
  const restarts = (state.restarts ??= []);
  const streak = cell.policy.backoff === null ? null : (state.backoff ??= { inARow: 0, runningSince: now, timer: null });
  if (!allowRestart(cell.policy, restarts, streak, now, cell.status === 'running')) {
    void cell.node.stopCell(cell, 'failed');
    return;
  }
  beginRestart(cell, error, () => startAfterBackoff(cell));
}

/**
 * The common part of every restart: timers cancelled, children stopped newest first (a restart
 * does not keep the old incarnation's children), onRestart (if `error`), then `next`.
 */
function beginRestart(cell: SupervisedCell, error: Error | null, next: () => void): void {
  actorRestarted(cell.node, cell.key, cell.definition?.name ?? '', error);
  cell.cancelTimers();
  cell.status = 'restarting';
  cell.node.runtime.counters[STAT_RESTARTS]!++;
  const state = cell.restartState;
  if (state !== null) state.supervisor = undefined; // a new incarnation supervises afresh (its restart window too)
  const onRestart = error === null ? undefined : cell.definition!.spec.onRestart;
  const hook = (): unknown => {
    if (onRestart === undefined) return undefined;
    try {
      return onRestart(cell.ctx as never, error!);
    } catch {
      return undefined; // a failing onRestart hook does not stop the restart
    }
  };
  if (cell.children === null || cell.children.size === 0) {
    const result = hook();
    if (!isThenable(result)) {
      next();
      return;
    }
  }
  cell.busy = true;
  const go = (): void => {
    cell.busy = false;
    if (cell.status === 'stopping') cell.settleIdle();
    else next();
  };
  cell.node
    .stopChildren(cell)
    .then(hook)
    .catch(() => undefined)
    .then(go, go);
}

/** Starts the new incarnation now, or after the backoff delay (messages wait meanwhile). */
function startAfterBackoff(cell: SupervisedCell): void {
  const backoff = cell.policy.backoff;
  if (backoff === null) {
    cell.schedule();
    return;
  }
  const b = cell.restartState!.backoff!;
  b.timer = cell.node.clock.setTimeout(
    () => {
      b.timer = null;
      if (cell.status === 'restarting') cell.schedule();
    },
    backoffDelay(backoff, b.inARow, Math.random()),
  );
}

/** The supervisor side of a cell, if its spawn options or its definition give it one. */
export function supervisorOf(cell: SupervisedCell): Supervisor | null {
  const state = cell.restartState;
  if (state === null || state.supervisor === undefined) {
    const policy = cell.policy.supervision ?? (cell.definition === null ? null : definitionSupervision(cell.definition));
    if (policy === null && state === null) return null; // not worth the rare part to say so
    cell.more().supervisor = policy === null ? null : new Supervisor(policy);
  }
  return cell.restartState!.supervisor!;
}

/** A permanent supervised child that stopped itself: its parent restarts it (once idle). */
export function exitNormally(cell: SupervisedCell): void {
  void cell.whenIdle().then(() => {
    if (cell.status !== 'running') return;
    endsStreak(cell);
    cell.cancelTimers();
    cell.status = 'suspended';
    const state = cell.restartState;
    if (state !== null) state.lastError = null;
    cell.node.supervision.reportFailure(cell, new Error('exited normally'), true);
  });
}

/** Failed under a supervising parent: nothing runs until the parent's directive. */
function suspend(cell: SupervisedCell, error: Error): void {
  endsStreak(cell);
  cell.cancelTimers();
  cell.status = 'suspended';
  cell.more().lastError = error;
  ranAgain(cell); // a restart that failed again: whoever waited for it hears of it now
  cell.node.supervision.reportFailure(cell, error);
}

/**
 * A supervised child with a backoff stops running (it failed, or exited to be restarted): a run
 * of resetAfterMs without a failure ends its streak of restarts, as for an actor that restarts
 * itself. Its supervisor's restart then counts one more in the streak (applyDirective).
 */
function endsStreak(cell: SupervisedCell): void {
  const backoff = cell.policy.backoff;
  if (backoff === null) return;
  const now = cell.node.clock.now();
  const streak = (cell.more().backoff ??= { inARow: 0, runningSince: now, timer: null });
  if (cell.status === 'running' && now - streak.runningSince >= backoff.resetAfterMs) streak.inARow = 0;
}

/** The cell runs again (or stopped): whoever waits on a restart directive hears of it. */
export function ranAgain(cell: SupervisedCell): void {
  const state = cell.restartState;
  if (state === null || state.whenRunning === null) return;
  const waiters = state.whenRunning;
  state.whenRunning = null;
  for (const resolve of waiters) resolve();
}

/**
 * Carries out a supervisor's directive: resume (keep the state), restart (after a failure),
 * halt (a sibling's restart: onStop, children stopped, then wait), start (after a halt).
 * Resolves once done: for halt with this actor's restart type, otherwise with null.
 */
export async function applyDirective(cell: SupervisedCell, verb: DirectiveVerb): Promise<unknown> {
  if (verb === 'halt') {
    while (cell.busy) await cell.whenIdle();
    if (cell.ending) return null;
    cell.cancelTimers();
    cell.status = 'suspended';
    const state = cell.restartState;
    if (state !== null) state.lastError = null;
    const onStop = cell.definition?.spec.onStop;
    if (onStop !== undefined) {
      cell.busy = true;
      try {
        await onStop(cell.ctx as never);
      } catch {
        // As in a stop: an onStop failure changes nothing.
      }
      cell.busy = false;
    }
    if (cell.children !== null && cell.children.size > 0) await cell.node.stopChildren(cell);
    if ((cell.status as CellStatus) === 'stopping') cell.settleIdle();
    return cell.policy.restart;
  }
  if (cell.status !== 'suspended') return null;
  if (verb === 'resume') {
    cell.status = 'running';
    if (cell.depth > 0) cell.schedule();
    return null;
  }
  const running = new Promise<void>((resolve) => (cell.more().whenRunning ??= []).push(resolve));
  if (verb === 'start') {
    beginRestart(cell, null, () => cell.schedule()); // after a sibling's restart: it did not fail
  } else {
    // A restart its supervisor decided waits out its backoff like any other (R4, R6).
    if (cell.policy.backoff !== null) (cell.more().backoff ??= { inARow: 0, runningSince: cell.node.clock.now(), timer: null }).inARow++;
    beginRestart(cell, cell.restartState?.lastError ?? new Error('restarted by its supervisor'), () => startAfterBackoff(cell));
  }
  await running;
  return null;
}

/**
 * A supervisor that escalates fails as if a handler had thrown. One that gave up (its children
 * passed its restart limit) fails to its own supervising parent, which decides; with none, it
 * stops (R1).
 */
export function failFromSupervision(cell: SupervisedCell, error: Error, gaveUp: boolean): void {
  if (cell.busy) {
    void cell.whenIdle().then(() => failFromSupervision(cell, error, gaveUp));
    return;
  }
  if (cell.status !== 'running' && cell.status !== 'suspended') return;
  cell.more().failed++;
  if (gaveUp && !cell.policy.supervised) {
    cell.exitReason = 'failed';
    void cell.node.stopCell(cell, 'failed');
    return;
  }
  restart(cell, error);
}
