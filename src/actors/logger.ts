// Where troupe reports what it cannot throw to a caller (a worker's unhandled rejection, a thread
// that could not be replaced): options.logger, or by default process.emitWarning, as before there
// was an option. What happens on a worker is reported on the main thread
// (node/diagnostics-relay.ts). A logger that throws changes nothing: the system keeps running.

import { invalid } from '../validate.js';

export interface Logger {
  warn(message: string): void;
  error(message: string): void;
}

export type LogLevel = 'warn' | 'error';

/** process.emitWarning for both levels. */
export const defaultLogger: Logger = Object.freeze({
  warn: (message: string) => process.emitWarning(message),
  error: (message: string) => process.emitWarning(message),
});

/** options.logger: an object with warn and error functions. */
export function validateLogger(value: unknown): Logger {
  if (value === undefined) return defaultLogger;
  const logger = value as Partial<Logger> | null;
  if (typeof logger !== 'object' || logger === null || typeof logger.warn !== 'function' || typeof logger.error !== 'function') {
    throw invalid('options.logger', 'an object with warn(message) and error(message) functions', value);
  }
  return logger as Logger;
}

/** Hands `message` to the logger; a logger that throws is ignored. */
export function log(logger: Logger, level: LogLevel, message: string): void {
  try {
    if (level === 'error') logger.error(message);
    else logger.warn(message);
  } catch {
    // A failing logger must not take the system down with it.
  }
}
