// The shared memory of one system: a control block per thread and one SPSC ring per ordered pair
// of threads (main included), plus one MessageChannel per pair for payloads too big for a ring.
// Built once on the main thread; each worker receives its share through workerData.

import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { createCustodyLog } from './custody-layout.js';
import { CTL_BYTES } from './layout.js';
import { createRingBuffer, messagesWritten, unreadBytes } from './ring-buffer.js';

export interface ThreadWiring {
  readonly self: number;
  readonly threadCount: number;
  readonly ctl: SharedArrayBuffer;
  /** inbound[from]: the ring from thread `from` to self (null for self). */
  readonly inbound: readonly (SharedArrayBuffer | null)[];
  /** outbound[to]: the ring from self to thread `to` (null for self). */
  readonly outbound: readonly (SharedArrayBuffer | null)[];
  readonly bigIn: readonly (MessagePort | null)[];
  readonly bigOut: readonly (MessagePort | null)[];
  /** Where this thread keeps what it took from its rings until done (null on the main thread). */
  readonly custody: SharedArrayBuffer | null;
}

export interface Topology {
  readonly threadCount: number;
  readonly ctl: SharedArrayBuffer;
  /** rings[from][to]: the ring from thread `from` to thread `to` (null when from === to). */
  readonly rings: readonly (readonly (SharedArrayBuffer | null)[])[];
  /** custody[thread]: the thread's custody log (null for the main thread). */
  readonly custody: readonly (SharedArrayBuffer | null)[];
  /** Bytes published into `thread`'s inbound rings and not yet read by it, all rings together. */
  unreadBytesInto(thread: number): number;
  /** User messages thread `from` has written into its ring to thread `to` (0 for from === to: no ring). */
  messagesBetween(from: number, to: number): number;
  wiringFor(thread: number): ThreadWiring;
  /** The ports a worker's wiring holds, for its transfer list. */
  portsOf(wiring: ThreadWiring): MessagePort[];
  /**
   * New large-payload channels between `thread` and every other thread (its old ports died with
   * it): the replacement's wiring (same rings), and each peer's new ends, by peer thread.
   */
  rewire(thread: number): { wiring: ThreadWiring; peers: ({ bigOut: MessagePort; bigIn: MessagePort } | null)[] };
  /** New channels between `thread` and `peer` alone (the ends given to `peer` died with it, closing `thread`'s). */
  reopen(thread: number, peer: number): void;
}

export function createTopology(threadCount: number, ringBytes: number): Topology {
  const ctl = new SharedArrayBuffer(CTL_BYTES * threadCount);
  const rings: (SharedArrayBuffer | null)[][] = [];
  const ports: ({ out: MessagePort; in: MessagePort } | null)[][] = [];
  for (let from = 0; from < threadCount; from++) {
    rings.push([]);
    ports.push([]);
    for (let to = 0; to < threadCount; to++) {
      if (from === to) {
        rings[from]!.push(null);
        ports[from]!.push(null);
      } else {
        rings[from]!.push(createRingBuffer(ringBytes));
        const channel = new MessageChannel();
        ports[from]!.push({ out: channel.port1, in: channel.port2 });
      }
    }
  }
  const custody = Array.from({ length: threadCount }, (_, thread) => (thread === 0 ? null : createCustodyLog()));
  return {
    threadCount,
    ctl,
    rings,
    custody,
    unreadBytesInto(thread) {
      let bytes = 0;
      for (const row of rings) {
        const ring = row[thread];
        if (ring !== null && ring !== undefined) bytes += unreadBytes(ring);
      }
      return bytes;
    },
    messagesBetween(from, to) {
      const ring = rings[from]?.[to];
      return ring === null || ring === undefined ? 0 : messagesWritten(ring);
    },
    wiringFor(self) {
      return {
        self,
        threadCount,
        ctl,
        inbound: rings.map((row) => row[self]!),
        outbound: rings[self]!,
        bigIn: ports.map((row) => row[self]?.in ?? null),
        bigOut: ports[self]!.map((pair) => pair?.out ?? null),
        custody: custody[self]!,
      };
    },
    portsOf(wiring) {
      return [...wiring.bigIn, ...wiring.bigOut].filter((p): p is MessagePort => p !== null);
    },
    rewire(thread) {
      const peers: ({ bigOut: MessagePort; bigIn: MessagePort } | null)[] = [];
      for (let peer = 0; peer < threadCount; peer++) {
        if (peer === thread) {
          peers.push(null);
          continue;
        }
        const toThread = new MessageChannel();
        const fromThread = new MessageChannel();
        ports[peer]![thread] = { out: toThread.port1, in: toThread.port2 };
        ports[thread]![peer] = { out: fromThread.port1, in: fromThread.port2 };
        peers.push({ bigOut: toThread.port1, bigIn: fromThread.port2 });
      }
      return { wiring: this.wiringFor(thread), peers };
    },
    reopen(thread, peer) {
      const toThread = new MessageChannel();
      const fromThread = new MessageChannel();
      ports[peer]![thread] = { out: toThread.port1, in: toThread.port2 };
      ports[thread]![peer] = { out: fromThread.port1, in: fromThread.port2 };
    },
  };
}
