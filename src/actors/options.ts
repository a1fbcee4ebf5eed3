// System options: declared, defaulted, validated and frozen once.

import { resolveCluster, type ClusterOptions, type ResolvedCluster } from './cluster-options.js';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { systemClock, type Clock } from '../runtime/clock.js';
import { isPowerOfTwo } from '../runtime/layout.js';
import { validateLogger, type Logger } from './logger.js';
import { invalid, validateBoolean, validateInteger, validateKeys, validateNumber, validateObject, validateString } from '../validate.js';

export interface SystemOptions {
  /** Worker threads. Default: availableParallelism() - 1, at least 1. */
  readonly threads?: number;
  /** Bytes per ring (one per ordered pair of threads); a power of two. Default 262144. */
  readonly ringBytes?: number;
  /** Largest encoded message accepted. Default 16 MiB. */
  readonly maxMessageBytes?: number;
  /** Default ask timeout. Default 5000. */
  readonly askTimeoutMs?: number;
  /** How long draining may take in shutdown(). Default 10000. */
  readonly drainMs?: number;
  /** How long one actor's stop may take in shutdown() before it is forced. Default 5000. */
  readonly shutdownTimeoutMs?: number;
  /** Longest scheduler slice before a thread yields to its event loop. Default 1. */
  readonly sliceMs?: number;
  /** How long a thread that just saw traffic polls before it parks. Default 50. */
  readonly spinMicros?: number;
  /**
   * Sender-side spill to one thread past which send waits, and tell throws MailboxFullError
   * once that thread has also taken nothing from its ring for spillStallMs. Default 8 MiB.
   */
  readonly spillHighWaterBytes?: number;
  /** How long a thread may take nothing from its ring, the spill to it past its mark, before tells to it throw. Default 1000. */
  readonly spillStallMs?: number;
  /** Time source for ask timeouts and restart windows (main thread). Default: the system clock. */
  readonly clock?: Clock;
  /** Threads in each thread's offload pool (ctx.offload), created on first use. Default 1. */
  readonly offloadThreads?: number;
  /**
   * Run shutdown() on these signals (true: SIGINT and SIGTERM). The process then exits by
   * itself once nothing else holds it open: troupe never ends the process. Default: none.
   */
  readonly handleSignals?: boolean | readonly NodeJS.Signals[];
  /**
   * Live actors with a 'reject' or 'backpressure' mailbox that one thread may have spawned at a
   * time (their counters live in shared memory, 16 bytes each); a power of two. Default 4096.
   */
  readonly boundedMailboxes?: number;
  /**
   * Stall watchdog: a worker thread that makes no progress for this long while it is not idle
   * (a handler stuck in `while (true) {}`) is terminated, and handled like any thread that died.
   * 0 turns it off. Default 0.
   */
  readonly stallTimeoutMs?: number;
  /**
   * Thread slots kept for `placement: 'dedicated'` (an actor group on a thread of its own, with
   * its own `resourceLimits`: a memory bulkhead). Each costs its rings to and from every other
   * thread; its worker starts when an actor is first placed there. Default 0.
   */
  readonly dedicatedThreads?: number;
  /**
   * The planner: every `intervalMs` (default 250) the workers sample who sends to whom and the
   * CPU each actor takes, and actors move (system.move) to where their traffic is, or off a busy
   * thread onto an idle one; one that moved stays at least `cooldownMs` (default 2000). Actors
   * spawned with a placement stay where they were placed. true: the defaults. Default: off.
   * `main` (default true): light actors that the main thread's own code (or an actor placed
   * there) keeps busy may come to the main thread, but only while their handlers cost it less
   * than sending them the same messages across threads would; false keeps every actor the planner
   * moves on the workers.
   */
  readonly planner?: boolean | { readonly intervalMs?: number; readonly cooldownMs?: number; readonly main?: boolean };
  /**
   * Keep one worker started ahead, with the actor modules known on the main thread imported: a
   * thread that dies is replaced by it, without a worker start or module loading (recovery in
   * tens of milliseconds instead of hundreds). Costs one idle thread. Default false.
   */
  readonly spareThread?: boolean;
  /**
   * Where troupe reports what it cannot throw to a caller (a worker's unhandled rejection, a
   * thread that could not be replaced), workers' reports included: `{ warn, error }`, each
   * taking a message. Default: process.emitWarning.
   */
  readonly logger?: Logger;
  /**
   * Where entities (defineEntity) keep their messages and state so that they survive the process:
   * an lmdb environment in directory `path` (created if missing). `durability` 'machine' (the
   * default) resolves a send once the message is flushed to disk, 'process' once committed
   * (safe from a crash of the process, not of the machine). Without it, entities live in memory.
   */
  readonly storage?: StorageOptions;
  /**
   * Joins a cluster of processes on NATS (cluster-options.ts): refs reach actors on every node.
   * Without it nothing of NATS is loaded.
   */
  readonly cluster?: ClusterOptions;
}

export interface StorageOptions {
  readonly path: string;
  readonly durability?: 'machine' | 'process';
}

export interface ResolvedStorage {
  readonly path: string;
  readonly durability: 'machine' | 'process';
}

export interface ResolvedPlanner {
  readonly intervalMs: number;
  readonly cooldownMs: number;
  readonly main: boolean;
}

export interface ResolvedSystemOptions {
  readonly threads: number;
  readonly ringBytes: number;
  readonly maxMessageBytes: number;
  readonly askTimeoutMs: number;
  readonly drainMs: number;
  readonly shutdownTimeoutMs: number;
  readonly sliceMs: number;
  readonly spinMicros: number;
  readonly spillHighWaterBytes: number;
  readonly spillStallMs: number;
  readonly clock: Clock;
  readonly offloadThreads: number;
  readonly handleSignals: readonly NodeJS.Signals[];
  readonly boundedMailboxes: number;
  readonly stallTimeoutMs: number;
  readonly dedicatedThreads: number;
  readonly planner: ResolvedPlanner | null;
  readonly spareThread: boolean;
  readonly storage: ResolvedStorage | null;
  readonly cluster: ResolvedCluster | null;
  readonly logger: Logger;
}

const KNOWN = new Set([
  'threads',
  'ringBytes',
  'maxMessageBytes',
  'askTimeoutMs',
  'drainMs',
  'shutdownTimeoutMs',
  'sliceMs',
  'spinMicros',
  'spillHighWaterBytes',
  'spillStallMs',
  'clock',
  'offloadThreads',
  'handleSignals',
  'boundedMailboxes',
  'stallTimeoutMs',
  'dedicatedThreads',
  'planner',
  'spareThread',
  'storage',
  'cluster',
  'logger',
]);

export function resolveSystemOptions(options: SystemOptions = {}): ResolvedSystemOptions {
  validateObject(options, 'options');
  for (const key of Object.keys(options)) if (!KNOWN.has(key)) throw invalid(`options.${key}`, 'a known option', (options as Record<string, unknown>)[key]);
  const o = options;
  const ringBytes = o.ringBytes === undefined ? 262_144 : validateInteger(o.ringBytes, 'options.ringBytes', 4096, 1 << 30);
  if (!isPowerOfTwo(ringBytes)) throw invalid('options.ringBytes', 'a power of two', ringBytes);
  const boundedMailboxes = o.boundedMailboxes === undefined ? 4096 : validateInteger(o.boundedMailboxes, 'options.boundedMailboxes', 16, 1 << 20);
  if (!isPowerOfTwo(boundedMailboxes)) throw invalid('options.boundedMailboxes', 'a power of two', boundedMailboxes);
  const clock = o.clock ?? systemClock;
  if (typeof clock.now !== 'function' || typeof clock.setTimeout !== 'function') throw invalid('options.clock', 'a Clock', clock);
  return Object.freeze({
    threads: o.threads === undefined ? Math.max(1, availableParallelism() - 1) : validateInteger(o.threads, 'options.threads', 1, 255),
    ringBytes,
    maxMessageBytes: o.maxMessageBytes === undefined ? 16 * 1024 * 1024 : validateInteger(o.maxMessageBytes, 'options.maxMessageBytes', 64, 1 << 30),
    askTimeoutMs: o.askTimeoutMs === undefined ? 5000 : validateNumber(o.askTimeoutMs, 'options.askTimeoutMs', 1, 2 ** 31),
    drainMs: o.drainMs === undefined ? 10_000 : validateNumber(o.drainMs, 'options.drainMs', 0, 2 ** 31),
    shutdownTimeoutMs: o.shutdownTimeoutMs === undefined ? 5000 : validateNumber(o.shutdownTimeoutMs, 'options.shutdownTimeoutMs', 0, 2 ** 31),
    sliceMs: o.sliceMs === undefined ? 1 : validateNumber(o.sliceMs, 'options.sliceMs', 0.05, 1000),
    spinMicros: o.spinMicros === undefined ? 50 : validateNumber(o.spinMicros, 'options.spinMicros', 0, 100_000),
    spillHighWaterBytes:
      o.spillHighWaterBytes === undefined ? 8 * 1024 * 1024 : validateInteger(o.spillHighWaterBytes, 'options.spillHighWaterBytes', 1024, 2 ** 31),
    spillStallMs: o.spillStallMs === undefined ? 1000 : validateNumber(o.spillStallMs, 'options.spillStallMs', 0, 2 ** 31),
    clock,
    offloadThreads: o.offloadThreads === undefined ? 1 : validateInteger(o.offloadThreads, 'options.offloadThreads', 1, 64),
    handleSignals: resolveSignals(o.handleSignals),
    boundedMailboxes,
    stallTimeoutMs: o.stallTimeoutMs === undefined ? 0 : validateNumber(o.stallTimeoutMs, 'options.stallTimeoutMs', 0, 2 ** 31),
    dedicatedThreads: o.dedicatedThreads === undefined ? 0 : validateInteger(o.dedicatedThreads, 'options.dedicatedThreads', 0, 64),
    planner: resolvePlanner(o.planner),
    spareThread: validateBoolean(o.spareThread, 'options.spareThread'),
    storage: o.storage !== undefined && o.cluster !== undefined ? refuse('options.storage', 'absent with options.cluster (in a cluster, entities are kept in NATS, which every node shares)', o.storage) : resolveStorage(o.storage),
    cluster: resolveCluster(o.cluster),
    logger: validateLogger(o.logger),
  });
}

function resolvePlanner(value: SystemOptions['planner']): ResolvedPlanner | null {
  if (value === undefined || value === false) return null;
  if (value === true) return Object.freeze({ intervalMs: 250, cooldownMs: 2000, main: true });
  validateObject(value, 'options.planner');
  validateKeys(value, 'options.planner', ['intervalMs', 'cooldownMs', 'main']);
  return Object.freeze({
    intervalMs: value.intervalMs === undefined ? 250 : validateNumber(value.intervalMs, 'options.planner.intervalMs', 10, 2 ** 31),
    cooldownMs: value.cooldownMs === undefined ? 2000 : validateNumber(value.cooldownMs, 'options.planner.cooldownMs', 0, 2 ** 31),
    main: value.main === undefined ? true : validateBoolean(value.main, 'options.planner.main'),
  });
}

function resolveStorage(value: StorageOptions | undefined): ResolvedStorage | null {
  if (value === undefined) return null;
  validateObject(value, 'options.storage');
  validateKeys(value, 'options.storage', ['path', 'durability']);
  validateString(value.path, 'options.storage.path');
  if (value.path === '') throw invalid('options.storage.path', 'a directory path', value.path);
  const durability = value.durability ?? 'machine';
  if (durability !== 'machine' && durability !== 'process') throw invalid('options.storage.durability', "'machine' or 'process'", durability);
  return Object.freeze({ path: resolve(value.path), durability });
}

function resolveSignals(value: unknown): readonly NodeJS.Signals[] {
  if (value === undefined || value === false) return [];
  if (value === true) return ['SIGINT', 'SIGTERM'];
  if (Array.isArray(value) && value.every((s) => typeof s === 'string' && /^SIG[A-Z0-9]+$/.test(s))) return [...value] as NodeJS.Signals[];
  throw invalid('options.handleSignals', "true, false or a list of signal names such as ['SIGTERM']", value);
}

function refuse(name: string, expected: string, value: unknown): never {
  throw invalid(name, expected, value);
}
