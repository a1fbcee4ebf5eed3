// What a worker reports reaches the main thread here: its diagnostics events and its log lines.
// Main mirrors which troupe channels have subscribers into watch bits in its control block before
// each flush of what it sends, and every 50 ms (Node says nothing when someone subscribes); a
// worker follows the bits at its next pass (main wakes it), by subscribing a forwarder to each
// watched channel, which sends each event to main as a control record, to be published there
// while someone still listens. A forwarder sends only while its bit is still set: main may clear
// it during a pass, before what it sends next. A channel nobody on main watches costs a worker
// nothing: no forwarder, no record, no payload.

import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { fromWire, toWire, type WireError } from '../../errors.js';
import type { ControlBlock } from '../../runtime/control-block.js';
import type { ThreadRuntime } from '../../runtime/thread-runtime.js';
import { CHANNELS } from '../diagnostics.js';
import { defaultLogger, log, type Logger, type LogLevel } from '../logger.js';

/** How often main looks for subscribers coming and going when nothing else makes it look. */
const REFRESH_MS = 50;

/** Events that reached this thread from workers (main), for tests of what forwarding costs. */
let received = 0;

export function forwardedEvents(): number {
  return received;
}

export class DiagnosticsRelay {
  readonly #runtime: ThreadRuntime;
  readonly #ctl: ControlBlock;
  /** Main: where log lines go (a worker sends its own to main). */
  readonly #logger: Logger;
  /** Main: the bits last mirrored into the control block. Worker: the channels it forwards. */
  #bits = 0;
  /** Worker: one forwarder per channel, kept so that it can be unsubscribed. */
  readonly #forwarders: ((message: unknown) => void)[];
  #timer: NodeJS.Timeout | null = null;

  constructor(runtime: ThreadRuntime, ctl: ControlBlock, logger: Logger = defaultLogger) {
    this.#runtime = runtime;
    this.#ctl = ctl;
    this.#logger = logger;
    this.#forwarders = CHANNELS.map((_, bit) => (message: unknown) => this.#forward(bit, message));
    if (runtime.self === 0) {
      this.#timer = setInterval(() => this.refresh(), REFRESH_MS);
      this.#timer.unref();
    } else {
      runtime.onWatchBits = (bits) => this.#follow(bits);
    }
  }

  /** Main (before each flush, node.ts): mirrors which channels have subscribers into the watch bits (a few reads when none changed). */
  refresh(): void {
    let bits = 0;
    for (let bit = 0; bit < CHANNELS.length; bit++) if (CHANNELS[bit]!.hasSubscribers) bits |= 1 << bit;
    if (bits === this.#bits) return;
    this.#bits = bits;
    this.#ctl.setWatchBits(bits);
  }

  /** Main, at shutdown: no more looking. */
  close(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Worker: forwards exactly the channels main watches. */
  #follow(bits: number): void {
    for (let bit = 0; bit < CHANNELS.length; bit++) {
      const on = (bits & (1 << bit)) !== 0;
      if (on === ((this.#bits & (1 << bit)) !== 0)) continue;
      if (on) subscribe(CHANNELS[bit]!.name, this.#forwarders[bit]!);
      else unsubscribe(CHANNELS[bit]!.name, this.#forwarders[bit]!);
    }
    this.#bits = bits;
  }

  /** Worker: an event on a channel main watches, to main. Never throws (a subscriber that throws ends the thread). */
  #forward(bit: number, message: unknown): void {
    // Main may have stopped watching since this pass began: it clears the bit before it sends
    // what follows, so the event that came of that (a spawn record read in this pass) sees it.
    if ((this.#ctl.watchBits() & (1 << bit)) === 0) return;
    const event = message as { readonly error?: unknown; readonly letter?: { readonly message: { readonly type: string } } };
    const wire = event.error instanceof Error ? { ...event, error: toWire(event.error) } : event;
    try {
      this.#runtime.sendControl(0, ['diag', bit, wire]);
    } catch {
      // A dead letter whose payload cannot travel (a same-thread message held a function): without it.
      if (event.letter === undefined) return;
      try {
        this.#runtime.sendControl(0, ['diag', bit, { ...event, letter: { ...event.letter, message: { type: event.letter.message.type, payload: undefined } } }]);
      } catch {
        return;
      }
    }
    this.#runtime.publishSoon(); // it may have happened outside a turn
  }

  /** Main: an event a worker forwarded, published here while someone still listens. */
  received(bit: number, wire: unknown): void {
    received++;
    const channel = CHANNELS[bit];
    if (channel === undefined || !channel.hasSubscribers) return;
    const event = wire as { readonly error?: unknown };
    channel.publish(typeof event.error === 'object' && event.error !== null ? { ...event, error: fromWire(event.error as WireError) } : event);
  }

  /** A log line: to the logger on main, from a worker to main's. */
  report(level: LogLevel, message: string): void {
    if (this.#runtime.self === 0) {
      log(this.#logger, level, message);
      return;
    }
    try {
      this.#runtime.sendControl(0, ['log', level, message]);
      this.#runtime.publishSoon();
    } catch {
      process.emitWarning(message); // it cannot travel: said here rather than lost
    }
  }
}
