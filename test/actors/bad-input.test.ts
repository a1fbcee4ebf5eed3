import { describe, expect, it } from 'vitest';
import { addExtension } from 'msgpackr';
import {
  ActorInitializationError,
  InvalidArgumentError,
  MessageTooLargeError,
  SerializationError,
  UnhandledMessageError,
  createSystem,
  defineActor,
  type DeadLetter,
} from 'troupe';
import { Acker, BadReply, BadStart, Echo, Linked, Recorder, startAttempts } from '../fixtures/actors.js';
import { Counter } from '../fixtures/counter.js';
import { until } from '../support/wait.js';
import { useSystem } from '../support/system.js';

const systems = useSystem();

describe('bad input', () => {
  it("this session's options and calls refuse bad values with InvalidArgumentError, naming them, and lose nothing", async () => {
    await expect(createSystem({ stallTimeoutMs: -1 })).rejects.toThrow(/options\.stallTimeoutMs/);
    await expect(createSystem({ boundedMailboxes: 1000 })).rejects.toThrow(/options\.boundedMailboxes/);
    await expect(createSystem({ dedicatedThreads: -1 })).rejects.toThrow(/options\.dedicatedThreads/);
    await expect(createSystem({ spareThread: 'yes' as never })).rejects.toThrow(/options\.spareThread/);
    await expect(createSystem({ planner: { main: 'yes' as never } })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringMatching(/options\.planner\.main/) });
    await expect(createSystem({ planner: { onMain: true } as never })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringMatching(/options\.planner/) });
    const system = await systems.start({ threads: 1 });
    const recorder = system.spawn(Recorder, undefined, { placement: { thread: 1 } });
    const bad: [() => unknown, RegExp][] = [
      [() => system.spawn(Recorder, undefined, { supervision: { strategy: 'all-for-none' as never } }), /options\.supervision\.strategy/],
      [() => system.spawn(Recorder, undefined, { supervision: { decide: 'restart' as never } }), /options\.supervision\.decide/],
      [() => system.spawn(Recorder, undefined, { restart: 'sometimes' as never }), /options\.restart/],
      [() => system.spawn(Recorder, undefined, { delivery: { backoffMs: 5 as never } }), /options\.delivery\.backoffMs/],
      [() => recorder.tell('record', 'x', { messageId: 42 as never }), /options\.messageId/],
      [() => system.spawn(Recorder, undefined, { delivery: { keepCopies: true } }), /options\.delivery\.keepCopies/],
      [() => system.spawn(Recorder, undefined, { delivery: { mode: 'at-least-once', keepCopies: 1 as never } }), /options\.delivery\.keepCopies/],
      [() => system.spawn(Recorder, undefined, { delivery: { mode: 'at-least-once', maxAckPending: 0 } }), /options\.delivery\.maxAckPending/],
      // A longer timer would be Node's 1 ms (TimeoutOverflowWarning): every attempt would expire at once.
      [() => system.spawn(Recorder, undefined, { delivery: { mode: 'at-least-once', ackWaitMs: 2 ** 31 } }), /options\.delivery\.ackWaitMs/],
      [() => system.publish('t', 7 as never), /publish\(type\)/],
    ];
    for (const [call, name] of bad) {
      expect(call).toThrow(InvalidArgumentError);
      expect(call).toThrow(name);
    }
    await expect(system.kill('not a ref' as never)).rejects.toThrow(/kill\(ref\)/);
    await expect(system.stop({ key: 1 } as never)).rejects.toBeInstanceOf(InvalidArgumentError);
    // An actor that links to something that is not a ref fails that message, not its thread.
    const log = system.spawn(Recorder, undefined, { placement: { thread: 0 } });
    const linked = system.spawn(Linked, { name: 'L', log }, { placement: { thread: 1 } });
    await expect(linked.ask('link', 'nobody' as never)).rejects.toMatchObject({ cause: expect.any(InvalidArgumentError) });
    expect(await linked.ask('ping')).toBe('pong');
    // ctx.deferAck() outside ack mode fails that message only.
    const plain = system.spawn(Acker, undefined, { placement: { thread: 0 } });
    await expect(plain.ask('do', 'defer')).rejects.toMatchObject({ cause: expect.any(InvalidArgumentError) });
    expect(await plain.ask('do', 'fine')).toBe('done');
    recorder.tell('record', 'after');
    expect(await recorder.ask('seen')).toEqual(['after']);
    const s = system.stats();
    expect(s.accepted).toBe(s.handled + (s.deadLetters - s.lateReplies) + s.duplicates);
  });

  it.each([
    ['a function', { f: () => 1 }],
    ['a nested symbol', { a: [1, { s: Symbol('x') }] }],
    ['a promise', Promise.resolve(1)],
    ['a function in a Map', new Map([['k', () => 1]])],
  ])('B1: tell of %s throws SerializationError and the next message is processed', async (_what, payload) => {
    const system = await systems.start({ threads: 1 });
    const recorder = system.spawn(Recorder, undefined, { placement: { thread: 1 } });
    expect(() => recorder.tell('record', payload)).toThrow(SerializationError);
    recorder.tell('record', 'next');
    expect(await recorder.ask('seen')).toEqual(['next']);
  });

  const unreadable = { get boom(): number {
    throw new Error('getter says no');
  } };

  it.each([0, 1])('B1: the same payloads are refused with SerializationError wherever the receiver lives (thread %i)', async (thread) => {
    const system = await systems.start({ threads: 1 });
    const recorder = system.spawn(Recorder, undefined, { placement: { thread } });
    for (const payload of [{ f: () => 1 }, { a: [1, { s: Symbol('x') }] }, unreadable]) {
      expect(() => recorder.tell('record', payload)).toThrow(SerializationError);
      await expect(recorder.ask('record', payload)).rejects.toBeInstanceOf(SerializationError);
      await expect(recorder.send('record', payload)).rejects.toBeInstanceOf(SerializationError);
    }
    expect(() => recorder.tell('record', unreadable)).toThrow(/getter says no/);
    recorder.tell('record', 'next');
    expect(await recorder.ask('seen')).toEqual(['next']);
    const s = system.stats();
    expect(s.accepted).toBe(s.handled + (s.deadLetters - s.lateReplies) + s.duplicates); // refused: never accepted
  });

  it.each([0, 1])('B1: an answer that cannot travel rejects the ask with SerializationError wherever the actor lives (thread %i)', async (thread) => {
    const system = await systems.start({ threads: 1 });
    const actor = system.spawn(BadReply, undefined, { placement: { thread } });
    await expect(actor.ask('fn')).rejects.toBeInstanceOf(SerializationError);
    expect(await actor.ask('ok')).toBe('ok');
  });

  it('B2: a message the receiving thread cannot decode becomes a decode-failed dead letter; the actor goes on', async () => {
    // A class only this thread can encode: the worker has no decoder for its extension type.
    class OnlyHere {
      constructor(readonly n: number) {}
    }
    addExtension({ Class: OnlyHere, type: 0x5b, write: (o: OnlyHere) => o.n, read: (n: number) => new OnlyHere(n) });
    const system = await systems.start({ threads: 1 });
    const letters: DeadLetter[] = [];
    system.deadLetters.subscribe((l) => letters.push(l));
    const counter = system.spawn(Counter, { start: 0 }, { placement: { thread: 1 } });
    counter.tell('add', 1);
    counter.tell('echo', new OnlyHere(7) as never);
    counter.tell('add', 2);
    expect(await counter.ask('get')).toBe(3);
    await until(() => letters.length === 1, 5000, 'the dead letter');
    expect(letters[0]).toMatchObject({ reason: 'decode-failed', recipient: counter.id, message: { type: 'echo' } });
    const s = system.stats();
    expect(s.failed).toBe(0);
    expect(s.accepted).toBe(s.handled + (s.deadLetters - s.lateReplies) + s.duplicates);
  });

  it('B4: a start that throws or rejects fails once with ActorInitializationError (no restart loop); a thrown non-Error is wrapped', async () => {
    const system = await systems.start({ threads: 1 });
    for (const [how, cause] of [
      ['error', 'no start'],
      ['string', 'x'],
      ['onStart', 'onStart rejected'],
    ] as const) {
      startAttempts.count = 0;
      const started = system.start(BadStart, how, { placement: { thread: 0 }, maxRestarts: 1_000_000 });
      const error = (await started.catch((e: unknown) => e)) as ActorInitializationError;
      expect(error).toBeInstanceOf(ActorInitializationError);
      expect(error.cause).toBeInstanceOf(Error);
      expect(String((error.cause as Error).message)).toContain(cause);
      expect(startAttempts.count).toBe(1);
    }
    const late = system.spawn(BadStart, 'error', { placement: { thread: 1 } });
    await expect(late.ask('ping')).rejects.toBeInstanceOf(ActorInitializationError);
    await until(async () => (await system.inspect()).length === 0, 5000, 'the failed actors gone');
    await expect(late.ask('ping')).rejects.toMatchObject({ code: 'ERR_ACTOR_STOPPED' });
  });

  it('X2: a dead-letter listener whose own message dies too makes one counted dead letter, not a loop', async () => {
    const system = await systems.start({ threads: 1 });
    const target = system.spawn(Counter, { start: 0 }, { placement: { thread: 1 } });
    const unhandled = target as unknown as { tell(type: string, payload: unknown): void };
    let calls = 0;
    system.deadLetters.subscribe(() => {
      calls++;
      unhandled.tell('nope', 1); // dies too ('unhandled'): counted, not handed back to this listener
    });
    unhandled.tell('nope', 1);
    await until(() => system.stats().listenerDeadLetters === 1, 5000, 'the listener’s own dead letter, counted');
    expect(calls).toBe(1);
    const s = system.stats();
    expect(s.deadLetters - s.lateReplies).toBe(2);
    expect(s.accepted).toBe(s.handled + (s.deadLetters - s.lateReplies) + s.duplicates);
  });

  it.each([0, 1])('B1: spawn arguments that cannot travel throw SerializationError wherever the actor goes (thread %i)', async (thread) => {
    const system = await systems.start({ threads: 1 });
    expect(() => system.spawn(Counter, { start: 0, bad: () => 1 } as never, { placement: { thread } })).toThrow(SerializationError);
    expect(system.stats().threads[thread]!.actors).toBe(0); // nothing was spawned
    const ok = system.spawn(Counter, { start: 7 }, { placement: { thread } });
    expect(await ok.ask('get')).toBe(7);
  });

  it('B3: an unknown message type becomes an unhandled dead letter, keeps state, and rejects an ask', async () => {
    const system = await systems.start({ threads: 1 });
    const letters: DeadLetter[] = [];
    system.deadLetters.subscribe((l) => letters.push(l));
    const counter = system.spawn(Counter, { start: 0 }, { placement: { thread: 1 } });
    counter.tell('add', 5);
    (counter as unknown as { tell(t: string, p?: unknown): void }).tell('nope', 1);
    (counter as unknown as { tell(t: string): void }).tell('__proto__');
    const ask = (counter as unknown as { ask(t: string): Promise<unknown> }).ask('constructor');
    await expect(ask).rejects.toBeInstanceOf(UnhandledMessageError);
    expect(await counter.ask('get')).toBe(5);
    await until(() => letters.length === 3, 5000, 'three dead letters');
    expect(letters.map((l) => [l.message.type, l.reason])).toEqual([
      ['nope', 'unhandled'],
      ['__proto__', 'unhandled'],
      ['constructor', 'unhandled'],
    ]);
  });

  it('B5: a 4 MiB payload arrives intact; one over maxMessageBytes throws and nothing is sent', async () => {
    const roomy = await systems.start({ threads: 1, maxMessageBytes: 8 * 1024 * 1024 });
    const echo = roomy.spawn(Echo, undefined, { placement: { thread: 1 } });
    const bytes = new Uint8Array(4 * 1024 * 1024);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) & 255;
    let sum = 0;
    for (let i = 0; i < bytes.length; i++) sum = (sum + bytes[i]! * (i + 1)) % 1_000_000_007;
    expect(await echo.ask('sum', bytes)).toEqual({ length: bytes.length, sum });

    const strict = await systems.start({ threads: 1, maxMessageBytes: 1024 * 1024 });
    const small = strict.spawn(Echo, undefined, { placement: { thread: 1 } });
    expect(await small.ask('echo', { warm: 'up' })).toEqual({ warm: 'up' });
    expect(() => small.tell('sum', new Uint8Array(2 * 1024 * 1024))).toThrow(MessageTooLargeError);
    await expect(small.ask('sum', new Uint8Array(2 * 1024 * 1024))).rejects.toBeInstanceOf(MessageTooLargeError);
    // The ring's codec state was reset in order: the next messages decode, old shapes included.
    expect(await small.ask('echo', { warm: 'again' })).toEqual({ warm: 'again' });
    expect(await small.ask('sum', new Uint8Array([1, 2, 3]))).toEqual({ length: 3, sum: 14 });
  });
});

describe('invalid options', () => {
  it.each([
    [{ threads: 0 }, 'options.threads', '0'],
    [{ threads: 1.5 }, 'options.threads', '1.5'],
    [{ ringBytes: 5000 }, 'options.ringBytes', '5000'],
    [{ askTimeoutMs: -1 }, 'options.askTimeoutMs', '-1'],
    [{ maxMessageBytes: 'big' }, 'options.maxMessageBytes', '"big"'],
    [{ treads: 2 }, 'options.treads', '2'],
  ])('createSystem(%j) throws InvalidArgumentError naming the option and value', async (options, path, shown) => {
    const error = await createSystem(options as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).code).toBe('ERR_INVALID_ARGUMENT');
    expect((error as Error).message).toContain(path);
    expect((error as Error).message).toContain(shown);
  });

  it.each([
    [{ placement: { thread: 9 } }, 'options.placement.thread', '9'],
    [{ placement: 'everywhere' }, 'options.placement', '"everywhere"'],
    [{ maxRestarts: -1 }, 'options.maxRestarts', '-1'],
  ])('spawn with %j throws InvalidArgumentError and the system keeps running', async (options, path, shown) => {
    const system = await systems.start({ threads: 1 });
    expect(() => system.spawn(Counter, { start: 0 }, options as never)).toThrow(InvalidArgumentError);
    try {
      system.spawn(Counter, { start: 0 }, options as never);
    } catch (error) {
      expect((error as Error).message).toContain(path);
      expect((error as Error).message).toContain(shown);
    }
    expect(await system.spawn(Counter, { start: 1 }).ask('get')).toBe(1);
  });

  it('rejects a definition not made by defineActor, and a bad definition', async () => {
    const system = await systems.start({ threads: 1 });
    expect(() => system.spawn({ moduleUrl: 'x', name: 'y' } as never, {} as never)).toThrow(InvalidArgumentError);
    expect(() => defineActor('not a url', 'X', { init: () => ({}), handlers: {} })).toThrow(/moduleUrl/);
    // A URL that names no module would work for an actor on this thread and fail on any other: refused for all.
    expect(() => defineActor('file:///no/such/actors.ts', 'X', { init: () => ({}), handlers: {} })).toThrow(InvalidArgumentError);
    expect(() => defineActor(new URL('./no-such-module.ts', import.meta.url).href, 'X', { init: () => ({}), handlers: {} })).toThrow(/existing module file/);
    expect(() => defineActor(import.meta.url, 'X', { init: () => ({}), handlers: { a: 1 as never } })).toThrow(/handlers\.a/);
  });
});

describe('options are strict', () => {
  it.each([0, 1])('a misspelt option of tell, send, ask, spawn or a pool throws InvalidArgumentError naming it and the option meant (actor on thread %i)', async (thread) => {
    const system = await systems.start({ threads: 1 });
    const counter = system.spawn(Counter, { start: 0 }, { placement: { thread } });
    const loose = counter as unknown as { tell(t: string, p: unknown, o: object): void; send(t: string, p: unknown, o: object): Promise<unknown>; ask(t: string, p: unknown, o: object): Promise<unknown> };
    expect(() => loose.tell('add', 1, { priorty: 2 })).toThrow(/options\.priorty.*did you mean priority\?/);
    await expect(loose.send('add', 1, { timeoutMS: 10 })).rejects.toThrow(/options\.timeoutMS.*did you mean timeoutMs\?/);
    await expect(loose.ask('get', undefined, { timeoutMS: 10 })).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(() => system.spawn(Counter, { start: 0 }, { placement: { thread }, maxRestart: 3 } as never)).toThrow(/options\.maxRestart.*did you mean maxRestarts\?/);
    expect(() => system.spawn(Counter, { start: 0 }, { mailbox: { capacity: 4, overflo: 'reject' } } as never)).toThrow(/options\.mailbox\.overflo/);
    expect(() => system.spawnPool(Counter, { start: 0 }, { size: 2, routng: 'round-robin' } as never)).toThrow(/options\.routng.*did you mean routing\?/);
    // Nothing was sent, and the system runs on.
    counter.tell('add', 1, { priority: 1 });
    expect(await counter.ask('get', undefined, { timeoutMs: 5000 })).toBe(1);
  });
});
