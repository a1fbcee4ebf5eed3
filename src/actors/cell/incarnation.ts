// One incarnation of an actor begins, the first at spawn and a new one after each restart: init
// builds its state (sync or async), then onStart runs; only then do its messages run, in the
// order they waited. A first start that fails ends the actor (ActorInitializationError, through
// its host); a restart that fails counts as one more failure, within the restart limits (R3).

import { asError } from '../../errors.js';
import type { Clock } from '../../runtime/clock.js';
import { isThenable } from '../../validate.js';
import { actorStarted } from '../diagnostics.js';
import type { DeliveryState } from './delivery.js';
import { ranAgain, type SupervisedCell } from '../supervision/child.js';

/** A cell, as its start sees it. */
export interface StartingCell extends SupervisedCell {
  readonly args: unknown;
  state: unknown;
  readonly delivery: DeliveryState | null;
  readonly node: SupervisedCell['node'] & {
    readonly clock: Clock;
    startFailed(cell: StartingCell, error: Error): void;
  };
  restart(error: Error): void;
}

/** Starts an incarnation (a no-op while the definition's module is still loading). */
export function begin(cell: StartingCell): void {
  const definition = cell.definition;
  if (definition === null) return; // still loading its module; the node schedules it later
  let state: unknown;
  try {
    const init = definition.spec.init;
    state = init === undefined ? undefined : init(cell.args);
  } catch (error) {
    startFailed(cell, error);
    return;
  }
  if (isThenable(state)) {
    cell.busy = true;
    state.then(
      (s) => initialized(cell, s),
      (error) => startFailed(cell, error),
    );
    return;
  }
  initialized(cell, state);
}

function initialized(cell: StartingCell, state: unknown): void {
  cell.busy = false;
  cell.state = state;
  const onStart = cell.definition!.spec.onStart;
  if (onStart !== undefined) {
    let result: unknown;
    try {
      result = onStart(cell.ctx as never);
    } catch (error) {
      startFailed(cell, error);
      return;
    }
    if (isThenable(result)) {
      cell.busy = true;
      result.then(
        () => running(cell),
        (error) => startFailed(cell, error),
      );
      return;
    }
  }
  running(cell);
}

function running(cell: StartingCell): void {
  cell.busy = false;
  ranAgain(cell);
  if (cell.status === 'stopping') {
    cell.settleIdle();
    return;
  }
  cell.status = 'running';
  actorStarted(cell.node, cell.key, cell.definition!.name);
  if (cell.policy.backoff !== null) (cell.more().backoff ??= { inARow: 0, runningSince: 0, timer: null }).runningSince = cell.node.clock.now();
  if (cell.depth > 0 || (cell.delivery?.redeliver.length ?? 0) > 0) cell.schedule();
}

function startFailed(cell: StartingCell, thrown: unknown): void {
  cell.busy = false;
  if (cell.status === 'stopping') {
    cell.settleIdle();
    return;
  }
  if (cell.status === 'restarting') cell.restart(asError(thrown));
  else cell.node.startFailed(cell, asError(thrown));
}
