// The command lines of the examples and the benchmarks: flags declared once, read with node:util
// parseArgs, checked strictly. A mistake (an unknown flag, a missing or bad value, a stray
// argument) ends the program with one line on stderr and exit code 2, a usage error, and no
// stack trace. parseArgs runs in tokens mode and the rules are applied here, because its own
// strict mode throws multi-line messages without the flags to try, and has no flag whose value
// may be left out (`--compare` or `--compare=file`).

import { parseArgs } from 'node:util';

export type Flag =
  /** `--serve`: true when given; takes no value. */
  | { readonly type: 'boolean' }
  /** `--only=tell`; with `valueOptional`, a bare `--compare` reads as true. */
  | { readonly type: 'string'; readonly valueOptional?: boolean }
  /** `--duration=10`, checked against the bounds; `default` when not given. */
  | { readonly type: 'number'; readonly default?: number; readonly min?: number; readonly max?: number; readonly integer?: boolean };

type Value<F extends Flag> = F extends { type: 'boolean' }
  ? boolean
  : F extends { type: 'number' }
    ? F extends { default: number }
      ? number
      : number | undefined
    : F extends { valueOptional: true }
      ? string | true | undefined
      : string | undefined;

export type Values<S extends Readonly<Record<string, Flag>>> = { readonly [K in keyof S]: Value<S[K]> };

export interface Parsed<S extends Readonly<Record<string, Flag>>> {
  readonly values: Values<S>;
  readonly positionals: readonly string[];
}

/** A mistake on the command line; its message is the line the user sees, less the program's name. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * Reads `args` against `spec`, taking at most `positionals` arguments that are not flags.
 * Throws UsageError on the first mistake. The last of a repeated flag wins.
 */
export function readFlags<const S extends Readonly<Record<string, Flag>>>(spec: S, args: readonly string[], positionals = 0): Parsed<S> {
  // A flag whose value may be left out is a boolean to parseArgs: `--compare=file` still carries
  // its value, and a bare `--compare` does not swallow the argument after it.
  const options = Object.fromEntries(
    Object.entries(spec).map(([name, flag]) => [name, { type: flag.type === 'boolean' || isValueOptional(flag) ? 'boolean' : 'string' } as const]),
  );
  const { tokens } = parseArgs({ args: [...args], options, strict: false, allowPositionals: true, tokens: true });
  const given = new Map<string, string | true>();
  const rest: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'option-terminator') continue;
    if (token.kind === 'positional') {
      if (rest.length === positionals) throw new UsageError(`unexpected argument '${token.value}'`);
      rest.push(token.value);
      continue;
    }
    const flag = Object.hasOwn(spec, token.name) ? spec[token.name] : undefined;
    if (flag === undefined || !token.rawName.startsWith('--')) {
      const names = Object.keys(spec).map((name) => `--${name}`);
      throw new UsageError(`unknown option '${token.rawName}' (${names.length === 0 ? 'it takes none' : `try ${names.join(', ')}`})`);
    }
    const value = token.value;
    if (flag.type === 'boolean') {
      if (value !== undefined) throw new UsageError(`${token.rawName} takes no value, got '${value}'`);
      given.set(token.name, true);
    } else if (value === undefined && isValueOptional(flag)) {
      given.set(token.name, true);
    } else if (value === undefined || value === '' || (token.inlineValue === false && value.startsWith('-'))) {
      throw new UsageError(`${token.rawName} needs a value (${token.rawName}=<${flag.type === 'number' ? 'number' : 'value'}>)`);
    } else {
      given.set(token.name, value);
    }
  }
  const values = Object.fromEntries(Object.entries(spec).map(([name, flag]) => [name, valueOf(name, flag, given.get(name))]));
  return { values: values as Values<S>, positionals: rest };
}

/** readFlags on this process's command line; a mistake ends the process (see usageExit). */
export function parseFlags<const S extends Readonly<Record<string, Flag>>>(program: string, spec: S, options: { positionals?: number } = {}): Parsed<S> {
  try {
    return readFlags(spec, process.argv.slice(2), options.positionals);
  } catch (error) {
    if (error instanceof UsageError) usageExit(program, error.message);
    throw error;
  }
}

/** Ends the process with `program: message` on stderr and exit code 2: for a value that parses but cannot be used. */
export function usageExit(program: string, message: string): never {
  process.stderr.write(`${program}: ${message}\n`);
  process.exit(2);
}

function isValueOptional(flag: Flag): boolean {
  return flag.type === 'string' && flag.valueOptional === true;
}

function valueOf(name: string, flag: Flag, raw: string | true | undefined): unknown {
  if (flag.type === 'boolean') return raw === true;
  if (flag.type === 'string') return raw;
  if (raw === undefined) return flag.default;
  const n = Number(raw);
  const { min, max, integer = false } = flag;
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n)) || (min !== undefined && n < min) || (max !== undefined && n > max)) {
    const range = min !== undefined && max !== undefined ? ` from ${min} to ${max}` : min !== undefined ? ` >= ${min}` : max !== undefined ? ` <= ${max}` : '';
    throw new UsageError(`--${name} must be ${integer ? 'an integer' : 'a number'}${range}, got '${raw}'`);
  }
  return n;
}
