import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ActorError,
  ActorFailedError,
  ActorInitializationError,
  ActorStoppedError,
  AskTimeoutError,
  DeathPactError,
  OffloadError,
  StorageError,
  InvalidArgumentError,
  MailboxFullError,
  MessageTooLargeError,
  SerializationError,
  ShuttingDownError,
  UnhandledMessageError,
  createSystem,
  type ActorSystem,
} from 'troupe';
import { asError, fromWire, toWire } from '../src/errors.js';
import { Thrower } from './fixtures/actors.js';

const table = [
  [MailboxFullError, 'MailboxFullError', 'ERR_MAILBOX_FULL'],
  [AskTimeoutError, 'AskTimeoutError', 'ERR_ASK_TIMEOUT'],
  [ActorStoppedError, 'ActorStoppedError', 'ERR_ACTOR_STOPPED'],
  [ActorFailedError, 'ActorFailedError', 'ERR_ACTOR_FAILED'],
  [SerializationError, 'SerializationError', 'ERR_SERIALIZATION'],
  [MessageTooLargeError, 'MessageTooLargeError', 'ERR_MESSAGE_TOO_LARGE'],
  [ShuttingDownError, 'ShuttingDownError', 'ERR_SHUTTING_DOWN'],
  [UnhandledMessageError, 'UnhandledMessageError', 'ERR_UNHANDLED'],
  [ActorInitializationError, 'ActorInitializationError', 'ERR_ACTOR_INIT'],
  [InvalidArgumentError, 'InvalidArgumentError', 'ERR_INVALID_ARGUMENT'],
  [DeathPactError, 'DeathPactError', 'ERR_DEATH_PACT'],
  [OffloadError, 'OffloadError', 'ERR_OFFLOAD'],
  [StorageError, 'StorageError', 'ERR_STORAGE'],
] as const;

let system: ActorSystem;
beforeAll(async () => {
  system = await createSystem({ threads: 1 });
});
afterAll(async () => {
  await system.shutdown();
});

describe('errors', () => {
  it.each(table)('%o has its name, code and cause, and survives the wire', (Class, name, code) => {
    const root = new Error('root');
    const error = new Class('message', { cause: root });
    expect(error).toBeInstanceOf(ActorError);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe(name);
    expect(error.code).toBe(code);
    expect(error.cause).toBe(root);
    const back = fromWire(structuredClone(toWire(error)));
    expect(back).toBeInstanceOf(Class);
    expect(back).toMatchObject({ name, code, message: 'message' });
    expect((back.cause as Error).message).toBe('root');
  });

  it.each(table)('%o survives a thread hop with its class, code and cause', async (Class, name, code) => {
    const thrower = system.spawn(Thrower, undefined, { placement: { thread: 1 } });
    const error = await thrower.ask('coded', name).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ActorFailedError);
    const cause = (error as Error).cause as Error;
    expect(cause).toBeInstanceOf(Class);
    expect(cause).toMatchObject({ name, code, message: `thrown as ${name}` });
    expect((cause.cause as Error).message).toBe('root');
  });

  it('wraps a thrown non-Error with the original as cause', () => {
    const wrapped = asError('x');
    expect(wrapped).toBeInstanceOf(Error);
    expect(wrapped.cause).toBe('x');
    expect(asError(wrapped)).toBe(wrapped);
  });

  it('keeps unknown error names and codes across the wire', () => {
    const custom = Object.assign(new RangeError('bad'), { code: 'E_CUSTOM' });
    const back = fromWire(toWire(custom));
    expect(back).toMatchObject({ name: 'RangeError', message: 'bad', code: 'E_CUSTOM' });
  });
});
