import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readFlags, UsageError, type Flag } from '../../examples/flags.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

const SPEC = {
  duration: { type: 'number', default: 4, min: 0 },
  port: { type: 'number', min: 0, max: 65_535, integer: true },
  only: { type: 'string' },
  compare: { type: 'string', valueOptional: true },
  serve: { type: 'boolean' },
} as const satisfies Record<string, Flag>;

/** Runs a program of this repository as a user would: `node --import tsx file args…`. */
function program(file: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, ['--import', 'tsx', file, ...args], { cwd: root, encoding: 'utf8', timeout: 20_000 });
}

describe('readFlags', () => {
  it('gives defaults, false and undefined for flags not given', () => {
    expect(readFlags(SPEC, [])).toEqual({
      values: { duration: 4, port: undefined, only: undefined, compare: undefined, serve: false },
      positionals: [],
    });
  });

  it('reads each kind of flag, with = or with the value after it', () => {
    const { values } = readFlags(SPEC, ['--duration=0.5', '--port', '8080', '--only=tell', '--compare', '--serve']);
    expect(values).toEqual({ duration: 0.5, port: 8080, only: 'tell', compare: true, serve: true });
    expect(readFlags(SPEC, ['--compare=base.json']).values.compare).toBe('base.json');
  });

  it('lets the last of a repeated flag win', () => {
    expect(readFlags(SPEC, ['--duration=1', '--duration=2']).values.duration).toBe(2);
  });

  it('takes as many positional arguments as allowed, and those after -- as positional', () => {
    expect(readFlags({}, ['results.json'], 1).positionals).toEqual(['results.json']);
    expect(readFlags(SPEC, ['--serve', '--', '--x'], 1)).toMatchObject({ values: { serve: true }, positionals: ['--x'] });
  });

  it.each([
    [['--durations=1'], "unknown option '--durations' (try --duration, --port, --only, --compare, --serve)"],
    [['-d'], "unknown option '-d' (try --duration, --port, --only, --compare, --serve)"],
    [['--duration=x'], "--duration must be a number >= 0, got 'x'"],
    [['--duration=-1'], "--duration must be a number >= 0, got '-1'"],
    [['--duration=Infinity'], "--duration must be a number >= 0, got 'Infinity'"],
    [['--port=80.5'], "--port must be an integer from 0 to 65535, got '80.5'"],
    [['--port=70000'], "--port must be an integer from 0 to 65535, got '70000'"],
    [['--duration'], '--duration needs a value (--duration=<number>)'],
    [['--duration='], '--duration needs a value (--duration=<number>)'],
    [['--duration', '--serve'], '--duration needs a value (--duration=<number>)'],
    [['--only'], '--only needs a value (--only=<value>)'],
    [['--compare='], '--compare needs a value (--compare=<value>)'],
    [['--serve=yes'], "--serve takes no value, got 'yes'"],
    [['extra'], "unexpected argument 'extra'"],
    [['--compare', 'base.json'], "unexpected argument 'base.json'"],
  ])('refuses %j: %s', (args, message) => {
    expect(() => readFlags(SPEC, args)).toThrow(new UsageError(message));
  });

  it('says a program without flags takes none, and refuses a second positional', () => {
    expect(() => readFlags({}, ['--x'], 1)).toThrow(new UsageError("unknown option '--x' (it takes none)"));
    expect(() => readFlags({}, ['a', 'b'], 1)).toThrow(new UsageError("unexpected argument 'b'"));
  });
});

describe('the command lines of the examples and benchmarks', () => {
  it('ends the service at once on a mistyped flag: exit code 2, one line naming it, nothing started', () => {
    const { status, stdout, stderr } = program('examples/service.ts', '--durations=1');
    expect(status).toBe(2);
    expect(stderr).toBe("service: unknown option '--durations' (try --duration, --concurrency, --port, --serve, --data, --cluster)\n");
    expect(stdout).toBe('');
  });

  it('ends the service at once on a bad value', () => {
    const { status, stdout, stderr } = program('examples/service.ts', '--duration=x');
    expect(status).toBe(2);
    expect(stderr).toBe("service: --duration must be a number >= 0, got 'x'\n");
    expect(stdout).toBe('');
  });

  it('ends the service at once on --data without --serve (a demo run keeps its data in a temp dir of its own)', () => {
    const { status, stdout, stderr } = program('examples/service.ts', '--data=somewhere');
    expect(status).toBe(2);
    expect(stderr).toBe('service: --data goes with --serve (a demo run keeps its entities in a fresh temp dir)\n');
    expect(stdout).toBe('');
  });

  it('ends the service at once on a cluster of one node, or a cluster demo given --serve', () => {
    const one = program('examples/service.ts', '--cluster=1');
    expect([one.status, one.stderr, one.stdout]).toEqual([2, "service: --cluster must be an integer from 2 to 8, got '1'\n", '']);
    const serve = program('examples/service.ts', '--cluster=3', '--serve');
    expect([serve.status, serve.stderr, serve.stdout]).toEqual([2, 'service: --cluster runs its own demo: without --serve or --data\n', '']);
  });

  it('ends the bench runner before any bench on a mistyped flag or an --only that matches none', () => {
    const typo = program('bench/run.ts', '--quik');
    expect([typo.status, typo.stderr]).toEqual([2, "bench: unknown option '--quik' (try --quick, --only, --compare, --readme)\n"]);
    const only = program('bench/run.ts', '--only=nothing');
    expect(only.status).toBe(2);
    expect(only.stderr).toMatch(/^bench: --only matches no bench, got 'nothing' \(try tell, ask, [^\n]*\)\n$/);
    expect(only.stdout).toBe('');
  });

  it('lets a bench take the --quick that the runner passes it, and nothing else', () => {
    expect(program('bench/lib.ts', '--quick')).toMatchObject({ status: 0, stderr: '' });
    expect(program('bench/lib.ts', '--quick=1')).toMatchObject({ status: 2, stderr: "lib.ts: --quick takes no value, got '1'\n" });
  });

  it('ends bench/readme.ts on a flag or a results file that is not there, before it writes anything', () => {
    expect(program('bench/readme.ts', '--x')).toMatchObject({ status: 2, stderr: "readme: unknown option '--x' (it takes none)\n" });
    expect(program('bench/readme.ts', 'no-such-results.json')).toMatchObject({ status: 2, stderr: "readme: no results file at 'no-such-results.json'\n" });
  });
});
