// Every error troupe raises: an ActorError with a stable `code`, a `name`, and the original in
// `cause`. Errors cross threads as plain data (toWire) and come back as the same class (fromWire),
// because structured clone and msgpack both drop prototypes.

export type ErrorCode =
  | 'ERR_MAILBOX_FULL'
  | 'ERR_ASK_TIMEOUT'
  | 'ERR_ACTOR_STOPPED'
  | 'ERR_ACTOR_FAILED'
  | 'ERR_SERIALIZATION'
  | 'ERR_MESSAGE_TOO_LARGE'
  | 'ERR_SHUTTING_DOWN'
  | 'ERR_UNHANDLED'
  | 'ERR_ACTOR_INIT'
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_DEATH_PACT'
  | 'ERR_OFFLOAD'
  | 'ERR_STORAGE'
  | 'ERR_ACTOR_PINNED'
  | 'ERR_NODE_DOWN';

export class ActorError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'ActorError';
  }
}

export class MailboxFullError extends ActorError {
  constructor(message = 'mailbox is full', options?: { cause?: unknown }) {
    super('ERR_MAILBOX_FULL', message, options);
    this.name = 'MailboxFullError';
  }
}
export class AskTimeoutError extends ActorError {
  constructor(message = 'ask timed out', options?: { cause?: unknown }) {
    super('ERR_ASK_TIMEOUT', message, options);
    this.name = 'AskTimeoutError';
  }
}
export class ActorStoppedError extends ActorError {
  constructor(message = 'actor is stopped', options?: { cause?: unknown }) {
    super('ERR_ACTOR_STOPPED', message, options);
    this.name = 'ActorStoppedError';
  }
}
export class ActorFailedError extends ActorError {
  constructor(message = 'actor failed', options?: { cause?: unknown }) {
    super('ERR_ACTOR_FAILED', message, options);
    this.name = 'ActorFailedError';
  }
}
export class SerializationError extends ActorError {
  constructor(message = 'message cannot be serialized', options?: { cause?: unknown }) {
    super('ERR_SERIALIZATION', message, options);
    this.name = 'SerializationError';
  }
}
export class MessageTooLargeError extends ActorError {
  constructor(message = 'message is too large', options?: { cause?: unknown }) {
    super('ERR_MESSAGE_TOO_LARGE', message, options);
    this.name = 'MessageTooLargeError';
  }
}
export class ShuttingDownError extends ActorError {
  constructor(message = 'system is shutting down', options?: { cause?: unknown }) {
    super('ERR_SHUTTING_DOWN', message, options);
    this.name = 'ShuttingDownError';
  }
}
export class UnhandledMessageError extends ActorError {
  constructor(message = 'no handler for message', options?: { cause?: unknown }) {
    super('ERR_UNHANDLED', message, options);
    this.name = 'UnhandledMessageError';
  }
}
export class ActorInitializationError extends ActorError {
  constructor(message = 'actor failed to start', options?: { cause?: unknown }) {
    super('ERR_ACTOR_INIT', message, options);
    this.name = 'ActorInitializationError';
  }
}
export class InvalidArgumentError extends ActorError {
  constructor(message = 'invalid argument', options?: { cause?: unknown }) {
    super('ERR_INVALID_ARGUMENT', message, options);
    this.name = 'InvalidArgumentError';
  }
}

/** A watched actor stopped and the watcher has no onTerminated hook: the watcher fails too. */
export class DeathPactError extends ActorError {
  constructor(message = 'a watched actor stopped', options?: { cause?: unknown }) {
    super('ERR_DEATH_PACT', message, options);
    this.name = 'DeathPactError';
  }
}

/** An offloaded task threw or could not run; the task's own error is the cause. */
export class OffloadError extends ActorError {
  constructor(message = 'offloaded task failed', options?: { cause?: unknown }) {
    super('ERR_OFFLOAD', message, options);
    this.name = 'OffloadError';
  }
}

/** The entity store could not be opened, read or written (a full disk, an unwritable or foreign directory); the store's own error is the cause. */
export class StorageError extends ActorError {
  constructor(message = 'entity storage failed', options?: { cause?: unknown }) {
    super('ERR_STORAGE', message, options);
    this.name = 'StorageError';
  }
}

/** The actor cannot move to another thread (its state would not arrive unchanged, or it is tied to its thread); the message says why. */
export class ActorPinnedError extends ActorError {
  constructor(message = 'the actor cannot move', options?: { cause?: unknown }) {
    super('ERR_ACTOR_PINNED', message, options);
    this.name = 'ActorPinnedError';
  }
}

/** The actor's node (another process of the cluster) is gone or cannot be reached: the call fails at once, not at its timeout. */
export class NodeDownError extends ActorError {
  constructor(message = "the actor's node is down", options?: { cause?: unknown }) {
    super('ERR_NODE_DOWN', message, options);
    this.name = 'NodeDownError';
  }
}

type ErrorClass = new (message?: string, options?: { cause?: unknown }) => ActorError;

const classByCode: Record<ErrorCode, ErrorClass> = {
  ERR_MAILBOX_FULL: MailboxFullError,
  ERR_ASK_TIMEOUT: AskTimeoutError,
  ERR_ACTOR_STOPPED: ActorStoppedError,
  ERR_ACTOR_FAILED: ActorFailedError,
  ERR_SERIALIZATION: SerializationError,
  ERR_MESSAGE_TOO_LARGE: MessageTooLargeError,
  ERR_SHUTTING_DOWN: ShuttingDownError,
  ERR_UNHANDLED: UnhandledMessageError,
  ERR_ACTOR_INIT: ActorInitializationError,
  ERR_INVALID_ARGUMENT: InvalidArgumentError,
  ERR_NODE_DOWN: NodeDownError,
  ERR_DEATH_PACT: DeathPactError,
  ERR_OFFLOAD: OffloadError,
  ERR_STORAGE: StorageError,
  ERR_ACTOR_PINNED: ActorPinnedError,
};

/** An error as plain data: survives msgpack, structured clone and JSON. */
export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly stack?: string;
  readonly cause?: WireError;
}

const MAX_CAUSE_DEPTH = 8;

export function toWire(error: unknown, depth = 0): WireError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const wire: { -readonly [K in keyof WireError]: WireError[K] } = {
      name: error.name,
      message: error.message,
    };
    if (typeof code === 'string') wire.code = code;
    if (error.stack !== undefined) wire.stack = error.stack;
    if (error.cause !== undefined && depth < MAX_CAUSE_DEPTH) wire.cause = toWire(error.cause, depth + 1);
    return wire;
  }
  return { name: 'Error', message: describe(error) };
}

export function fromWire(wire: WireError): Error {
  const cause = wire.cause === undefined ? undefined : fromWire(wire.cause);
  const options = cause === undefined ? undefined : { cause };
  const Known = wire.code !== undefined && Object.hasOwn(classByCode, wire.code) ? classByCode[wire.code as ErrorCode] : undefined;
  let error: Error;
  if (Known !== undefined) {
    error = new Known(wire.message, options);
  } else {
    error = new Error(wire.message, options);
    error.name = wire.name;
    if (wire.code !== undefined) (error as { code?: string }).code = wire.code;
  }
  if (wire.stack !== undefined) error.stack = wire.stack;
  return error;
}

/** Wraps a thrown non-Error (`throw 'x'`) so that every failure is an Error with the original as cause. */
export function asError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  return new Error(`non-error thrown: ${describe(thrown)}`, { cause: thrown });
}

function describe(value: unknown): string {
  try {
    return typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
