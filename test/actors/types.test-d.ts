import { describe, expectTypeOf, it } from 'vitest';
import { defineActor, type ActorRef, type ActorSystem, type DeadLetter, type DeadLetterReason, type DurationHistogram } from 'troupe';
import { Counter } from '../fixtures/counter.js';
import { Account } from '../fixtures/entities.js';

declare const system: ActorSystem;

describe('types', () => {
  it('types a ref from its definition', () => {
    const ref = system.spawn(Counter, { start: 0 });
    expectTypeOf(ref).toEqualTypeOf<ActorRef<typeof Counter>>();
    expectTypeOf(ref.id).toBeString();
  });

  it('resolves ask to the handler return type, awaited', () => {
    const ref = system.spawn(Counter, { start: 0 });
    expectTypeOf(ref.ask('get')).toEqualTypeOf<Promise<number>>();
    expectTypeOf(ref.ask('log')).toEqualTypeOf<Promise<number[]>>();
    expectTypeOf(ref.ask('slowAdd', 1)).toEqualTypeOf<Promise<number>>();
    expectTypeOf(ref.ask('add', 1)).toEqualTypeOf<Promise<void>>();
  });

  it('refuses a wrong message name or payload type', () => {
    const ref = system.spawn(Counter, { start: 0 });
    ref.tell('add', 1);
    ref.tell('get');
    // @ts-expect-error: no such message
    ref.tell('nope', 1);
    // @ts-expect-error: add takes a number
    ref.tell('add', 'one');
    // @ts-expect-error: add needs its payload
    ref.tell('add');
    // @ts-expect-error: get takes no payload
    void ref.ask('get', 5);
    // @ts-expect-error: no such message
    void ref.send('missing');
  });

  it('spawns an actor without init with no arguments, and still wants them where init takes some', () => {
    const Ticker = defineActor(import.meta.url, 'TypesNoInit', { handlers: { tick: () => 1 } });
    expectTypeOf(system.spawn(Ticker)).toEqualTypeOf<ActorRef<typeof Ticker>>();
    system.spawn(Ticker, undefined, { placement: 'balanced' });
    // @ts-expect-error: Counter's init takes { start }
    system.spawn(Counter);
  });

  it('names the valid message types when one is wrong, not the whole definition', () => {
    const ref = system.spawn(Counter, { start: 0 });
    type Names = Parameters<typeof ref.tell>[0];
    expectTypeOf<Names>().toEqualTypeOf<'add' | 'echo' | 'fail' | 'get' | 'log' | 'record' | 'sleep' | 'sleepUntil' | 'slowAdd' | 'thread'>();
  });

  it('refuses wrong spawn arguments', () => {
    // @ts-expect-error: start must be a number
    system.spawn(Counter, { start: 'zero' });
    // @ts-expect-error: args are required
    system.spawn(Counter);
  });

  it('types ctx.state from init and ctx.spawn refs', () => {
    const Parent = defineActor(import.meta.url, 'TypedParent', {
      init: (args: { label: string }) => ({ label: args.label, children: 0 }),
      handlers: {
        spawnOne: (ctx) => {
          expectTypeOf(ctx.state.label).toBeString();
          const child = ctx.spawn(Counter, { start: 1 });
          expectTypeOf(child).toEqualTypeOf<ActorRef<typeof Counter>>();
          ctx.state.children++;
          return child;
        },
      },
    });
    const parent = system.spawn(Parent, { label: 'p' });
    expectTypeOf(parent.ask('spawnOne')).toEqualTypeOf<Promise<ActorRef<typeof Counter>>>();
  });

  it('types an entity ref by its definition, and refuses to spawn an entity', () => {
    const alice = system.entity(Account, 'alice');
    expectTypeOf(alice).toEqualTypeOf<ActorRef<typeof Account>>();
    expectTypeOf(alice.ask('balance')).toEqualTypeOf<Promise<number>>();
    alice.tell('deposit', 5);
    // @ts-expect-error: deposit takes a number
    alice.tell('deposit', 'five');
    // @ts-expect-error: no such message
    alice.tell('withdraw', 5);
    // @ts-expect-error: an entity is not spawned
    system.spawn(Account);
  });

  it('types the dead letters as async-iterable and the histograms of stats()', () => {
    expectTypeOf(system.deadLetters).toMatchTypeOf<AsyncIterable<DeadLetter>>();
    expectTypeOf(system.deadLetters[Symbol.asyncIterator]().next()).resolves.toEqualTypeOf<IteratorResult<DeadLetter, undefined>>();
    const stats = system.stats();
    expectTypeOf(stats.mailboxWait).toEqualTypeOf<DurationHistogram>();
    expectTypeOf(stats.threads[0]!.askDuration.timeout.counts).toEqualTypeOf<readonly number[]>();
    expectTypeOf(stats.deadLettersByReason).toEqualTypeOf<Readonly<Record<DeadLetterReason, number>>>();
  });
});
