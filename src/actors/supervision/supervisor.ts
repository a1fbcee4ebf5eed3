// Parent-driven supervision, as in OTP and Akka. An actor with a supervision policy decides for
// its children: a child that fails suspends (its mailbox waits) and reports to its parent, on
// whatever thread the parent runs; the parent asks `decide(error)` and then resumes, restarts or
// stops it, or fails itself (escalate). A restart follows the strategy: one-for-one restarts the
// child alone; one-for-all halts the others in reverse start order and starts them all again in
// start order; rest-for-one does the same for the children started after it. Restarts count
// against the parent's limit over a sliding window; past it the parent stops its children in
// reverse order and fails in turn, so its own parent decides (nested limits multiply).
//
// A parent handles its children's failures one at a time, and only between its own messages.

import { ActorFailedError } from '../../errors.js';
import { invalid, validateInteger, validateObject } from '../../validate.js';
import type { ActorRefImpl } from '../actor-ref.js';
import type { Directive, RestartType, Strategy, SupervisionOptions } from '../types.js';
import { resolveBackoff, type Backoff } from './restart.js';

export interface SupervisionPolicy {
  readonly strategy: Strategy;
  readonly maxRestarts: number;
  readonly withinMs: number;
  readonly decide: ((error: Error) => Directive) | null;
  /** The backoff of the restarts it decides, for children without one of their own. */
  readonly backoff: Backoff | null;
}

const STRATEGIES: readonly Strategy[] = ['one-for-one', 'one-for-all', 'rest-for-one'];
const DIRECTIVES: readonly Directive[] = ['restart', 'resume', 'stop', 'escalate'];
export const RESTART_TYPES: readonly RestartType[] = ['permanent', 'transient', 'temporary'];
const KEYS: readonly string[] = ['strategy', 'maxRestarts', 'withinMs', 'decide', 'backoff'];

export function resolveSupervision(o: SupervisionOptions | undefined, name: string): SupervisionPolicy | null {
  if (o === undefined) return null;
  validateObject(o, name);
  for (const key of Object.keys(o)) if (!KEYS.includes(key)) throw invalid(`${name}.${key}`, `one of ${KEYS.join(', ')} (no such option)`, (o as Record<string, unknown>)[key]);
  const strategy = o.strategy ?? 'one-for-one';
  if (!STRATEGIES.includes(strategy)) throw invalid(`${name}.strategy`, STRATEGIES.map((s) => `'${s}'`).join(', '), strategy);
  if (o.decide !== undefined && typeof o.decide !== 'function') throw invalid(`${name}.decide`, 'a function (error) => directive', o.decide);
  return {
    strategy,
    maxRestarts: o.maxRestarts === undefined ? 5 : validateInteger(o.maxRestarts, `${name}.maxRestarts`, 0, 1_000_000),
    withinMs: o.withinMs === undefined ? 30_000 : validateInteger(o.withinMs, `${name}.withinMs`, 1, 2 ** 31),
    decide: o.decide ?? null,
    backoff: resolveBackoff(o.backoff, `${name}.backoff`),
  };
}

/** The supervising actor, as this module sees it (a cell). */
export interface SupervisingCell {
  readonly busy: boolean;
  readonly ending: boolean;
  readonly children: Map<number, number> | null;
  whenIdle(): Promise<void>;
  /** Refs to its children, oldest first. */
  childRefs(): ActorRefImpl[];
  /** Fails the supervisor itself: an escalation, or (`gaveUp`) its children passed its restart limit. */
  failFromSupervision(error: Error, gaveUp: boolean): void;
}

/** What a supervising node offers this module. */
export interface SupervisorHost {
  /** Sends a directive to a child (on any thread); resolves with its answer once carried out. */
  directive(child: ActorRefImpl, verb: 'resume' | 'restart' | 'halt' | 'start'): Promise<unknown>;
  stopRef(ref: ActorRefImpl): Promise<void>;
  now(): number;
}

/** The parent's side: per supervising cell, its restart window and its queue of failures. */
export class Supervisor {
  readonly policy: SupervisionPolicy;
  readonly #restarts: number[] = [];
  #chain: Promise<void> = Promise.resolve();
  /** Failures reported and not yet handled to the end. */
  #pending = 0;

  constructor(policy: SupervisionPolicy) {
    this.policy = policy;
  }

  /** A child failed: handle it after any failure already being handled. */
  childFailed(host: SupervisorHost, parent: SupervisingCell, child: ActorRefImpl, error: Error, type: RestartType, normalExit = false): void {
    this.#pending++;
    this.#chain = this.#chain
      .then(() => this.#handle(host, parent, child, error, type, normalExit))
      .catch(() => undefined)
      .then(() => {
        this.#pending--;
      });
  }

  /** True while a child's failure is reported and not yet handled to the end (the parent does not move meanwhile). */
  get deciding(): boolean {
    return this.#pending > 0;
  }

  /** When the restarts in its window happened (they move with the parent, node/moves.ts). */
  get restartTimes(): readonly number[] {
    return this.#restarts;
  }

  /** Restarts counted on the thread the parent moved from. */
  countRestarts(times: readonly number[]): void {
    this.#restarts.push(...times);
  }

  async #handle(host: SupervisorHost, parent: SupervisingCell, child: ActorRefImpl, error: Error, type: RestartType, normalExit: boolean): Promise<void> {
    // Between the parent's own messages: a restart or an escalation must not cut into a handler.
    while (parent.busy) await parent.whenIdle();
    if (parent.ending || !parent.children?.has(child.key)) {
      await host.stopRef(child);
      return;
    }
    let directive: Directive = 'restart';
    // A normal exit of a permanent child is not an error to decide on: it is restarted.
    if (this.policy.decide !== null && !normalExit) {
      try {
        directive = this.policy.decide(error);
        if (!DIRECTIVES.includes(directive)) throw invalid('supervision.decide(error)', DIRECTIVES.join(', '), directive);
      } catch (thrown) {
        directive = 'escalate'; // a decider that throws cannot decide: the parent's parent does
        error = thrown as Error;
      }
    }
    // Restart types: a temporary child is never restarted; a transient one only after a failure,
    // which this is.
    if (directive === 'restart' && type === 'temporary') directive = 'stop';
    switch (directive) {
      case 'resume':
        await host.directive(child, 'resume');
        return;
      case 'stop':
        await host.stopRef(child);
        return;
      case 'escalate':
        await host.stopRef(child);
        parent.failFromSupervision(new ActorFailedError(`a child failed and its supervisor escalated: ${error.message}`, { cause: error }), false);
        return;
      case 'restart':
        break;
    }
    const now = host.now();
    while (this.#restarts.length > 0 && now - this.#restarts[0]! > this.policy.withinMs) this.#restarts.shift();
    if (this.#restarts.length >= this.policy.maxRestarts) {
      // Past the limit: stop every child, newest first, then fail: our own parent decides.
      for (const ref of parent.childRefs().reverse()) await host.stopRef(ref);
      parent.failFromSupervision(
        new ActorFailedError(`more than ${this.policy.maxRestarts} restarts of its children within ${this.policy.withinMs} ms: ${error.message}`, { cause: error }),
        true,
      );
      return;
    }
    this.#restarts.push(now);
    const children = parent.childRefs();
    const at = children.findIndex((c) => c.key === child.key);
    const others = this.policy.strategy === 'one-for-one' ? [] : this.policy.strategy === 'one-for-all' ? children.filter((c) => c.key !== child.key) : children.slice(at + 1);
    // Halt the others newest first; a temporary one is stopped for good instead.
    const restartable = new Set<number>();
    for (const ref of [...others].reverse()) {
      const theirType = (await host.directive(ref, 'halt')) as RestartType | null;
      if (theirType === 'temporary') await host.stopRef(ref);
      else if (theirType !== null) restartable.add(ref.key);
    }
    // Then start them again in start order, the failed child in its place.
    for (const ref of children) {
      if (ref.key === child.key) await host.directive(ref, 'restart');
      else if (restartable.has(ref.key)) await host.directive(ref, 'start');
    }
  }
}
