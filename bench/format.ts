// How the benchmarks print a rate, in a module of its own so that bench/readme.ts can use it
// without importing lib.ts, which reads the command line as a bench's.

/** Operations per second, scaled: `1.23 M/s`, `45.6 k/s`, `789 /s`. */
export function fmtRate(rate: number): string {
  if (rate >= 1e6) return `${(rate / 1e6).toFixed(2)} M/s`;
  if (rate >= 1e3) return `${(rate / 1e3).toFixed(1)} k/s`;
  return `${rate.toFixed(0)} /s`;
}
