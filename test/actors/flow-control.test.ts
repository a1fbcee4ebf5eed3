// Flow control between threads for an unbounded mailbox: a long synchronous loop of tells to
// another thread streams (the reader works while the writer writes) and never throws merely
// because its sender has not yielded; tell refuses only when the reading thread has taken
// nothing for spillStallMs while the backlog to it is past spillHighWaterBytes, and says so.
// Senders on the main thread and on a worker.

import { describe, expect, it } from 'vitest';
import { MailboxFullError } from 'troupe';
import { Counter } from '../fixtures/counter.js';
import { Spinner } from '../fixtures/actors.js';
import { InOrder, Streamer } from '../fixtures/custody.js';
import { fileGate } from '../support/gate.js';
import { useSystem } from '../support/system.js';
import { until } from '../support/wait.js';

const systems = useSystem();

describe('flow control for an unbounded mailbox', () => {
  it('220,000 tells in one synchronous loop on the main thread to an actor on a worker all arrive, and the ask after them is answered', async () => {
    const system = await systems.start({ threads: 1 });
    const counter = system.spawn(Counter, { start: 0 }, { placement: { thread: 1 } });
    for (let i = 0; i < 220_000; i++) counter.tell('add', 1);
    expect(await counter.ask('get', undefined, { timeoutMs: 30_000 })).toBe(220_000);
  });

  it('a worker that tells 300,000 times in one handler, without yielding, to another worker: all arrive, in order', async () => {
    const system = await systems.start({ threads: 2 });
    const counter = system.spawn(InOrder, undefined, { placement: { thread: 2 } });
    const streamer = system.spawn(Streamer, undefined, { placement: { thread: 1 } });
    expect(await streamer.ask('stream', { target: counter as never, first: 1, n: 300_000 }, { timeoutMs: 30_000 })).toBe(300_000);
    await until(async () => (await counter.ask('tally')).count === 300_000, 10_000, 'all of them');
    expect(await counter.ask('tally')).toEqual({ count: 300_000, outOfOrder: 0 });
  });

  it('tell refuses with MailboxFullError, saying why, once the reader has taken nothing for spillStallMs past the mark; it goes on after', async () => {
    const system = await systems.start({ threads: 1, spillHighWaterBytes: 64 * 1024, spillStallMs: 100 });
    const spinner = system.spawn(Spinner, undefined, { placement: { thread: 1 } });
    const counter = system.spawn(Counter, { start: 0 }, { placement: { thread: 1 } });
    expect(await spinner.ask('ping')).toBe('pong');
    const gate = fileGate();
    spinner.tell('busyUntil', { gate: gate.path, capMs: 20_000 }); // its thread reads nothing until the gate opens
    await new Promise((resolve) => setTimeout(resolve, 50));
    let sent = 0;
    let refused: unknown = null;
    const started = performance.now();
    while (performance.now() - started < 1000) {
      try {
        counter.tell('add', 1);
        sent++;
      } catch (error) {
        refused = error;
        break;
      }
    }
    gate.open();
    expect(refused).toBeInstanceOf(MailboxFullError);
    expect(String((refused as Error).message)).toMatch(/thread 1 is not keeping up: it has taken nothing from its ring for \d+ ms while \d+ bytes wait for it/);
    // Everything accepted arrives once the thread reads again (an ask meanwhile is refused too).
    await until(async () => (await counter.ask('get').catch(() => -1)) === sent, 10_000, 'every accepted tell handled');
    expect(sent).toBeGreaterThan(0);
    gate.dispose();
  });
});
