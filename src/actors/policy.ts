// What a spawn decides about one actor beyond its definition: its restart policy and its mailbox
// bound. Resolved and validated once per spawn, shared (frozen) when it is the default, and sent
// with a spawn record to the host thread.

import { invalid, validateInteger, validateKeys, validateObject } from '../validate.js';
import { resolveDelivery, type DeliveryPolicy } from './cell/delivery.js';
import { resolveBackoff, type Backoff } from './supervision/restart.js';
import { RESTART_TYPES, resolveSupervision, type SupervisionPolicy } from './supervision/supervisor.js';
import type { RestartType, SpawnOptions } from './types.js';


export type Overflow = 'reject' | 'drop-oldest' | 'backpressure';

export interface MailboxPolicy {
  readonly capacity: number;
  readonly overflow: Overflow;
}

export interface ActorPolicy {
  readonly maxRestarts: number;
  readonly windowMs: number;
  readonly backoff: Backoff | null;
  readonly stashCapacity: number;
  /** null: unbounded. */
  readonly mailbox: MailboxPolicy | null;
  /** null: at-most-once, no dedup. */
  readonly delivery: DeliveryPolicy | null;
  /** What its supervising parent does after it fails (only matters under a supervising parent). */
  readonly restart: RestartType;
  /** Its parent supervises it: a failure is reported there instead of handled here. Set by the spawner. */
  readonly supervised: boolean;
  /** How it supervises its own children (from the spawn options), or null. */
  readonly supervision: SupervisionPolicy | null;
  /** A pool member: [the pool's thread, the pool's id there]. In ack mode, what it leaves unhandled when it stops goes back there (G4). */
  readonly routeeOf: readonly [number, number] | null;
  /** Its placement was given at spawn (not 'balanced'): the planner leaves it where it is (V4). */
  readonly placed: boolean;
}

export const DEFAULT_POLICY: ActorPolicy = Object.freeze({ maxRestarts: 5, windowMs: 30_000, backoff: null, stashCapacity: 1000, mailbox: null, delivery: null, restart: 'permanent', supervised: false, supervision: null, routeeOf: null, placed: false });

/** The default policy of an actor whose placement was given at spawn. */
export const PLACED_POLICY: ActorPolicy = Object.freeze({ ...DEFAULT_POLICY, placed: true });

const OVERFLOWS: readonly Overflow[] = ['reject', 'drop-oldest', 'backpressure'];

/** What spawn takes (a pool: these, with size and routing). */
export const SPAWN_KEYS = ['name', 'placement', 'resourceLimits', 'maxRestarts', 'restartWindowMs', 'backoff', 'stashCapacity', 'mailbox', 'delivery', 'restart', 'supervision'];

export function resolvePolicy(options: SpawnOptions | undefined): ActorPolicy {
  if (options === undefined) return DEFAULT_POLICY;
  validateObject(options, 'options');
  validateKeys(options, 'options', SPAWN_KEYS);
  const o = options;
  if (o.maxRestarts === undefined && o.restartWindowMs === undefined && o.backoff === undefined && o.stashCapacity === undefined && o.mailbox === undefined && o.delivery === undefined && o.restart === undefined && o.supervision === undefined) {
    return DEFAULT_POLICY;
  }
  const maxRestarts = o.maxRestarts === undefined ? DEFAULT_POLICY.maxRestarts : validateInteger(o.maxRestarts, 'options.maxRestarts', 0, 1_000_000);
  const windowMs = o.restartWindowMs === undefined ? DEFAULT_POLICY.windowMs : validateInteger(o.restartWindowMs, 'options.restartWindowMs', 1, 2 ** 31);
  const stashCapacity = o.stashCapacity === undefined ? DEFAULT_POLICY.stashCapacity : validateInteger(o.stashCapacity, 'options.stashCapacity', 0, 1 << 24);
  const backoff = resolveBackoff(o.backoff, 'options.backoff');
  let mailbox: MailboxPolicy | null = null;
  if (o.mailbox !== undefined) {
    validateObject(o.mailbox, 'options.mailbox');
    validateKeys(o.mailbox, 'options.mailbox', ['capacity', 'overflow']);
    const capacity = validateInteger(o.mailbox.capacity, 'options.mailbox.capacity', 1, 1 << 30);
    const overflow = o.mailbox.overflow ?? 'reject';
    if (!OVERFLOWS.includes(overflow)) throw invalid('options.mailbox.overflow', `one of ${OVERFLOWS.map((x) => `'${x}'`).join(', ')}`, overflow);
    mailbox = { capacity, overflow };
  }
  const restart = o.restart ?? 'permanent';
  if (!RESTART_TYPES.includes(restart)) throw invalid('options.restart', RESTART_TYPES.map((t) => `'${t}'`).join(', '), restart);
  return {
    maxRestarts,
    windowMs,
    backoff,
    stashCapacity,
    mailbox,
    delivery: resolveDelivery(o.delivery),
    restart,
    supervised: false,
    supervision: resolveSupervision(o.supervision, 'options.supervision'),
    routeeOf: null,
    placed: false,
  };
}
