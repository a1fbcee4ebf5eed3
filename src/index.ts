// troupe: an actor runtime for Node.js. Many actors over a pool of worker threads, talking
// through SharedArrayBuffer rings. This file is the only public door.

export { defineActor } from './actors/define.js';
export { createSystem, ActorSystem } from './actors/system.js';
export { withTrace } from './actors/trace.js';
export { defineEntity } from './actors/entity/define-entity.js';
export type { SystemOptions } from './actors/options.js';
export type { Logger } from './actors/logger.js';
export { channels } from './actors/diagnostics.js';
export type {
  ActorEvent,
  ActorRestartEvent,
  ActorSpawnEvent,
  ActorStartEvent,
  ActorStopEvent,
  AskEndEvent,
  AskStartEvent,
  DeadLetterEvent,
  ThreadExitEvent,
  ThreadReplaceEvent,
} from './actors/diagnostics.js';
export type { DeadLetterStream, ShutdownOptions, ShutdownReport, SystemStats, ThreadStats, Traffic } from './actors/system.js';
export type { AskDurations, DeadLettersByReason, DurationHistogram } from './actors/stats.js';
export type {
  AckHandle,
  ActorContext,
  ActorDefinition,
  ActorPool,
  ActorService,
  ActorRef,
  ActorSpec,
  AnyDefinition,
  AnyEntityDefinition,
  EntityDefinition,
  EntitySpec,
  Reminder,
  ReminderOptions,
  BackoffOptions,
  ArgsOf,
  SpawnArgs,
  AskOptions,
  DeadLetter,
  DeadLetterReason,
  DeliveryOptions,
  ExitReason,
  Handler,
  Handlers,
  MessageOptions,
  MessageType,
  Placement,
  PoolOptions,
  ReplyOf,
  ResourceLimits,
  Routing,
  SendOptions,
  SendResult,
  SpawnOptions,
  Timers,
} from './actors/types.js';
export type { ActorInfo } from './runtime/control.js';
export type { ClusterOptions } from './actors/cluster-options.js';
export type { Cluster, ClusterMember, LeaveReason } from './cluster/cluster.js';
export type { Clock, TimerHandle } from './runtime/clock.js';
export {
  ActorError,
  ActorFailedError,
  ActorInitializationError,
  ActorStoppedError,
  AskTimeoutError,
  DeathPactError,
  InvalidArgumentError,
  MailboxFullError,
  MessageTooLargeError,
  OffloadError,
  SerializationError,
  ShuttingDownError,
  StorageError,
  ActorPinnedError,
  NodeDownError,
  UnhandledMessageError,
} from './errors.js';
export type { ErrorCode } from './errors.js';
