// What the planner watches while it rests (planner.ts): each thread's busy share and the user
// messages between each pair of threads, counters that are in shared memory anyway (stats()
// reads them), so a resting planner asks no thread anything and no thread samples. What they read
// over the last rounds is compared with what they read before the rest; a change past a
// threshold wakes the planner at once. A rest can then be long, and a change of load or traffic
// across threads is still seen within a few rounds. What the counters cannot see (traffic within
// one thread, which gathers nothing; CPU moving between actors of one thread at the same total)
// waits for the rest to end.

/** Cumulative counters, read every round. */
export interface WatchedCounters {
  /** Busy milliseconds of `thread` since it started (main: its event loop's). */
  busyMs(thread: number): number;
  /** User messages written by thread `from` into its ring to thread `to` since the start. */
  messages(from: number, to: number): number;
}

/** Rounds a view is the mean of: one round of a program that works in bursts says little. */
const WINDOW = 3;
/** A thread's busy share that moved this far (0..1) is a change. */
const BUSY_CHANGE = 0.25;
/**
 * Messages a second between two threads that rose or fell by half, and by this many at least:
 * fewer could not make a gathering worth it (planner.ts MIN_GAIN: 2% of a core at 1 µs a message).
 */
const RATE_CHANGE = 0.5;
const MIN_RATE_CHANGE = 20_000;

/** One round, or the mean of a few: busy share by thread, messages a second by pair of threads (`pairKey`). */
interface View {
  readonly busy: Map<number, number>;
  readonly rates: Map<number, number>;
}

export class RestWatch {
  readonly #counters: WatchedCounters;
  /** The counters at the last look, and when. */
  #at = -1;
  readonly #busyAt = new Map<number, number>();
  readonly #messagesAt = new Map<number, number>();
  /** The last WINDOW rounds' views (since the rest began, during one). */
  #window: View[] = [];
  /** What the rounds before the rest read; null while awake. */
  #before: View | null = null;

  constructor(counters: WatchedCounters) {
    this.#counters = counters;
  }

  /** Reads the counters of `threads` (main included, if watched) at `now` (ms): one round's view. */
  look(threads: readonly number[], now: number): void {
    const counters = this.#counters;
    const seconds = (now - this.#at) / 1000;
    const first = this.#at < 0 || seconds <= 0;
    this.#at = now;
    const busy = new Map<number, number>();
    const rates = new Map<number, number>();
    for (const t of threads) {
      const ms = counters.busyMs(t);
      const was = this.#busyAt.get(t);
      this.#busyAt.set(t, ms);
      if (!first && was !== undefined) busy.set(t, Math.min(1, Math.max(0, (ms - was) / 1000 / seconds)));
    }
    for (const a of threads) {
      for (const b of threads) {
        if (b <= a) continue;
        const key = pairKey(a, b);
        const n = counters.messages(a, b) + counters.messages(b, a);
        const was = this.#messagesAt.get(key);
        this.#messagesAt.set(key, n);
        if (!first && was !== undefined) rates.set(key, (n - was) / seconds);
      }
    }
    if (first) return;
    this.#window.push({ busy, rates });
    if (this.#window.length > WINDOW) this.#window.shift();
  }

  /** The rest begins: what the last rounds read is what a change is measured from. */
  rest(): void {
    this.#before = this.#window.length === 0 ? null : mean(this.#window);
    this.#window = [];
  }

  /** Awake again: nothing is compared until the next rest. */
  wake(): void {
    this.#before = null;
  }

  /**
   * During a rest, once two rounds were read in it: what changed past the thresholds since before
   * it (for the trace), or null.
   */
  changed(): string | null {
    const before = this.#before;
    if (before === null || this.#window.length < 2) return null;
    const now = mean(this.#window);
    for (const [t, share] of now.busy) {
      const was = before.busy.get(t);
      if (was !== undefined && Math.abs(share - was) > BUSY_CHANGE) return `thread ${t} busy ${was.toFixed(2)} -> ${share.toFixed(2)}`;
    }
    for (const [key, rate] of now.rates) {
      const was = before.rates.get(key) ?? 0;
      if (Math.abs(rate - was) > Math.max(MIN_RATE_CHANGE, RATE_CHANGE * was)) return `threads ${pairName(key)}: ${Math.round(was)} -> ${Math.round(rate)} msg/s`;
    }
    return null;
  }
}

/** Two threads, either order, as one key. */
function pairKey(a: number, b: number): number {
  return a < b ? a * 65_536 + b : b * 65_536 + a;
}

function pairName(key: number): string {
  return `${Math.floor(key / 65_536)} and ${key % 65_536}`;
}

/** The mean of each figure over the views that have it. */
function mean(views: readonly View[]): View {
  const avg = (pick: (v: View) => Map<number, number>): Map<number, number> => {
    const sums = new Map<number, { sum: number; n: number }>();
    for (const v of views) {
      for (const [k, x] of pick(v)) {
        const s = sums.get(k) ?? { sum: 0, n: 0 };
        s.sum += x;
        s.n++;
        sums.set(k, s);
      }
    }
    return new Map([...sums].map(([k, s]) => [k, s.sum / s.n]));
  };
  return { busy: avg((v) => v.busy), rates: avg((v) => v.rates) };
}
