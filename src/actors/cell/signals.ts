// Signals in an actor's mailbox that are not user messages (not counted as handled): a watched
// actor ended (Terminated: onTerminated, or a DeathPactError without it), or a linked actor
// exited (onExit when trapping exits; otherwise an abnormal exit fails this actor too). A hook
// that throws or rejects fails the actor like a handler.

import { ActorFailedError, DeathPactError, asError } from '../../errors.js';
import { isThenable } from '../../validate.js';
import type { ActorRefImpl } from '../actor-ref.js';
import type { CellStatus } from './cell-status.js';
import { isAbnormal, type TerminatedNotice } from './envelope.js';
import type { ActorContext, AnyDefinition, ExitReason } from '../types.js';

/** A cell, as its signals see it. */
export interface SignalledCell {
  status: CellStatus;
  busy: boolean;
  readonly depth: number;
  readonly trapExit: boolean;
  readonly watching: Map<number, ActorRefImpl> | null;
  readonly definition: AnyDefinition | null;
  readonly ctx: ActorContext<unknown>;
  readonly node: {
    refFor(thread: number, key: number): ActorRefImpl;
    readonly links: { signal(cell: SignalledCell, reason: ExitReason): void };
  };
  more(): { failed: number };
  schedule(): void;
  settleIdle(): void;
  restart(error: Error): void;
}

/** A watched actor ended. */
export function terminated(cell: SignalledCell, notice: TerminatedNotice): void {
  const ref = cell.watching?.get(notice.key);
  if (ref === undefined) return; // unwatched since it was queued
  cell.watching!.delete(notice.key);
  const hook = cell.definition!.spec.onTerminated;
  if (hook === undefined) {
    signalFailed(cell, new DeathPactError(`actor ${ref.id}, which this actor watches, ended (${notice.reason}) and no onTerminated handles it`));
    return;
  }
  runSignalHook(cell, hook, ref, notice.reason);
}

/** A linked actor exited: onExit if this actor traps exits, else a failure if it was abnormal. */
export function linkedExit(cell: SignalledCell, notice: TerminatedNotice): void {
  const ref = cell.node.refFor(notice.thread, notice.key);
  const hook = cell.definition!.spec.onExit;
  if (!cell.trapExit || hook === undefined) {
    if (isAbnormal(notice.reason)) signalFailed(cell, new ActorFailedError(`linked actor ${ref.id} exited (${notice.reason})`));
    return;
  }
  runSignalHook(cell, hook, ref, notice.reason);
}

/** onTerminated or onExit: a failure of the hook (thrown or rejected) fails the actor. */
function runSignalHook(cell: SignalledCell, hook: (ctx: never, ref: never, reason: ExitReason) => unknown, ref: ActorRefImpl, reason: ExitReason): void {
  let result: unknown;
  try {
    result = hook(cell.ctx as never, ref as never, reason);
  } catch (error) {
    signalFailed(cell, error);
    return;
  }
  if (!isThenable(result)) return;
  cell.busy = true;
  result.then(
    () => {
      cell.busy = false;
      if (cell.status === 'stopping') cell.settleIdle();
      else if (cell.depth > 0) cell.schedule();
    },
    (error) => {
      cell.busy = false;
      signalFailed(cell, error);
    },
  );
}

function signalFailed(cell: SignalledCell, thrown: unknown): void {
  cell.more().failed++;
  cell.node.links.signal(cell, 'failed');
  if (cell.status === 'stopping') {
    cell.settleIdle();
    return;
  }
  cell.restart(asError(thrown));
}
