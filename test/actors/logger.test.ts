// options.logger: what troupe reports rather than throws goes there, a worker's reports included,
// and nothing is printed; without one it goes to process.emitWarning, as before the option.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { createSystem, type Logger } from 'troupe';
import { Careless } from '../fixtures/actors.js';
import { Counter } from '../fixtures/counter.js';
import { useSystem } from '../support/system.js';
import { until } from '../support/wait.js';

const systems = useSystem();

afterEach(() => {
  vi.restoreAllMocks();
});

/** A logger that keeps what it is given. */
function collecting(): Logger & { readonly warnings: string[]; readonly errors: string[] } {
  const warnings: string[] = [];
  const errors: string[] = [];
  return { warnings, errors, warn: (message) => void warnings.push(message), error: (message) => void errors.push(message) };
}

const UNHANDLED = /^troupe thread 1: a promise was rejected and nothing handled it \(later ones are only counted\): Error: nobody handles this/;

describe('options.logger', () => {
  it("takes a worker's unhandled rejection on the main thread, and nothing is printed", async () => {
    const emitted = vi.spyOn(process, 'emitWarning');
    const written = vi.spyOn(process.stderr, 'write');
    const logger = collecting();
    const system = await systems.start({ threads: 1, logger });
    const careless = system.spawn(Careless, undefined, { placement: { thread: 1 } });
    careless.tell('forget');
    careless.tell('forget');
    await until(() => logger.warnings.length === 1, 5000, 'the warning');
    expect(logger.warnings[0]).toMatch(UNHANDLED);
    await until(() => system.stats().threads[1]!.unhandledRejections === 2, 5000, 'both counted');
    expect(await careless.ask('ping')).toBe('pong'); // the thread goes on, and said nothing more
    expect(logger.warnings).toHaveLength(1);
    expect(logger.errors).toEqual([]);
    expect(emitted).not.toHaveBeenCalled();
    expect(written.mock.calls.filter(([chunk]) => String(chunk).includes('nobody handles this'))).toEqual([]);
  });

  it('goes to process.emitWarning on the main thread by default', async () => {
    const emitted = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const system = await systems.start({ threads: 1 });
    system.spawn(Careless, undefined, { placement: { thread: 1 } }).tell('forget');
    await until(() => emitted.mock.calls.length === 1, 5000, 'the warning');
    expect(String(emitted.mock.calls[0]![0])).toMatch(UNHANDLED);
  });

  it('changes nothing when it throws: the system goes on', async () => {
    let calls = 0;
    const broken: Logger = {
      warn: (): void => {
        calls++;
        throw new Error('the logger is down');
      },
      error: (): void => {
        throw new Error('the logger is down');
      },
    };
    const system = await systems.start({ threads: 1, logger: broken });
    const careless = system.spawn(Careless, undefined, { placement: { thread: 1 } });
    careless.tell('forget');
    await until(() => calls === 1, 5000, 'the warning');
    expect(await careless.ask('ping')).toBe('pong');
    expect(await system.spawn(Counter, { start: 4 }, { placement: { thread: 0 } }).ask('get')).toBe(4);
  });

  it.each<[string, unknown]>([
    ['null', null],
    ['a string', 'console'],
    ['a function', () => undefined],
    ['an object without warn', { error: () => undefined }],
    ['an object without error', { warn: () => undefined }],
    ['an object whose error is not a function', { warn: () => undefined, error: 'stderr' }],
  ])('is refused when it is %s, with InvalidArgumentError naming options.logger', async (_what, logger) => {
    await expect(createSystem({ threads: 1, logger: logger as never })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
      message: expect.stringMatching(/^options\.logger: expected an object with warn\(message\) and error\(message\) functions, got /),
    });
  });
});
