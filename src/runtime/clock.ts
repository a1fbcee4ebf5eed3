// Time as an injected dependency: the runtime reads the clock and sets timers only through a
// Clock, so tests drive time with a manual clock instead of sleeping.

export interface Clock {
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export type TimerHandle = { readonly __timer: unique symbol } | object;

/** Read once: it never changes, and its getter adds about a quarter to every now() (a clock read per ask). */
const origin = performance.timeOrigin;

export const systemClock: Clock = {
  now: () => origin + performance.now(),
  setTimeout: (callback, ms) => {
    const t = setTimeout(callback, ms);
    t.unref?.();
    return t as unknown as TimerHandle;
  },
  clearTimeout: (handle) => clearTimeout(handle as unknown as NodeJS.Timeout),
};

/**
 * Calls `fn` every `periodMs` on a timer that keeps no process alive, until the returned function
 * is called: the periodic looks of main's watchers (watchdog.ts, wake-audit.ts). Real time, not a
 * Clock: what they watch for (a stall, a missed wake-up) happens in real time.
 */
export function everyUnref(fn: () => void, periodMs: number): () => void {
  const timer = setInterval(fn, periodMs);
  timer.unref();
  return () => clearInterval(timer);
}
