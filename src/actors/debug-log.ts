// NODE_DEBUG=troupe: a trace of spawns, starts, restarts, stops and thread events on stderr, from
// every thread (workers inherit the environment). Read once, when the module loads: while it is
// off, a traced event costs one boolean check.

import { debuglog } from 'node:util';

const log = debuglog('troupe');

/** True when NODE_DEBUG names troupe. */
export const tracing: boolean = log.enabled;

/** One line of the trace (Node's debuglog prefixes `TROUPE <pid>:`). */
export function trace(line: string): void {
  log('%s', line);
}
