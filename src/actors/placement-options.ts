// The `placement` spawn option, checked and turned into a thread: 'local' (the spawner's own
// thread), 'balanced' (the runtime's placer picks a worker), a fixed thread, or 'dedicated' (a
// thread of the actor's own, with resourceLimits, main thread only).

import { invalid, validateInteger, validateNumber, validateObject } from '../validate.js';
import type { Placement, ResourceLimits } from './types.js';

export interface PlacementContext {
  /** The spawning thread. */
  readonly self: number;
  /** Main and the worker threads that placement by number or balance may use. */
  readonly threads: number;
  isDead(thread: number): boolean;
  /** A worker chosen by load. */
  balanced(): number;
  /** True on the main thread, the only one that can start a dedicated thread. */
  canDedicate(): boolean;
  /** Claims a dedicated thread slot and starts its worker. */
  dedicated(limits: ResourceLimits | undefined): number;
}

const LIMITS = ['maxOldGenerationSizeMb', 'maxYoungGenerationSizeMb', 'codeRangeSizeMb', 'stackSizeMb'];

/** The thread an actor spawned with these options lives on. Default: 'balanced' from the system, 'local' from a parent. */
export function placeActor(placement: Placement | undefined, hasParent: boolean, limits: ResourceLimits | undefined, at: PlacementContext): number {
  if (placement === undefined) placement = hasParent ? 'local' : 'balanced';
  if (limits !== undefined && placement !== 'dedicated') throw invalid('options.resourceLimits', "placement 'dedicated' (only a dedicated thread has limits of its own)", limits);
  if (placement === 'local') return at.self;
  if (placement === 'dedicated') {
    if (!at.canDedicate()) throw invalid('options.placement', "'dedicated' only from the main thread (its children may then live there)", placement);
    if (limits !== undefined) validateResourceLimits(limits);
    return at.dedicated(limits);
  }
  if (placement === 'balanced') return at.threads === 1 ? 0 : at.balanced();
  if (placement === 'cluster') throw invalid('options.placement', "system.start() for placement 'cluster' (the ref may come back from another node)", placement);
  if (typeof placement === 'object' && placement !== null) {
    if ('node' in placement) {
      // system.start takes it to that node, and system.spawn on this one; nothing else places across nodes.
      throw invalid('options.placement.node', 'system.start() for an actor on another node (its ref comes back from there); children live on their parent\'s node', placement.node);
    }
    const thread = validateInteger(placement.thread, 'options.placement.thread', 0, at.threads - 1); // dedicated threads are not placed on by number
    if (at.isDead(thread)) throw invalid('options.placement.thread', 'a running thread', thread);
    return thread;
  }
  throw invalid('options.placement', `'local', 'balanced' or { thread: 0..${at.threads - 1} }`, placement);
}

function validateResourceLimits(limits: ResourceLimits): void {
  validateObject(limits, 'options.resourceLimits');
  for (const [key, value] of Object.entries(limits)) {
    if (!LIMITS.includes(key)) throw invalid(`options.resourceLimits.${key}`, `one of ${LIMITS.join(', ')}`, value);
    validateNumber(value, `options.resourceLimits.${key}`, 1, 1 << 20);
  }
}
