// The control plane to each worker: low-rate request/response (inspect, close) over the worker's
// MessagePort through comlink. The hot path never comes here; it runs on the rings.

import type { Endpoint } from 'comlink';
import type { MessagePort, Worker } from 'node:worker_threads';
import type { StreamJoin } from './thread-runtime.js';
import type { ThreadWiring } from './topology.js';

export interface ActorInfo {
  readonly id: string;
  /** Its definition's name ('' while its module loads). */
  readonly name: string;
  readonly thread: number;
  readonly status: string;
  readonly mailboxDepth: number;
  readonly handled: number;
  readonly failed: number;
  readonly restarts: number;
  /** Actors watching this one. */
  readonly watchers: number;
  /** Times it moved to another thread. */
  readonly moves: number;
  /** Why it cannot move to another thread, or null. */
  readonly pinned: string | null;
}

/** What a live thread tells the replacement of a thread that died. */
export interface PeerRecovery {
  /** How to read on in this thread's ring to it. */
  readonly join: StreamJoin;
  /** Keys of the dead thread's actors that this thread will restart there or declare gone. */
  readonly pending: readonly number[];
  /** This thread's spawn sequence number now: every key it made up to here is known to it. */
  readonly spawnSeq: number;
  /** Copies this thread holds of ack-mode messages the dead thread held: they go again, not counted lost. */
  readonly replicas: number;
}

/** How a thread died (what its actors' supervisors see). */
export interface DeathNotice {
  readonly kind: 'thread-exit' | 'oom' | 'stalled';
  readonly code: number;
  readonly message: string;
}

/** What each worker exposes to the main thread. */
export interface WorkerControl {
  ping(): number;
  /**
   * A spare (started ahead, with no thread slot): take the place of the thread that died, on its
   * wiring, as a replacement with `recovery`. Resolves once it runs.
   */
  become(wiring: ThreadWiring, recovery: unknown): number;
  /**
   * Thread `thread` died. With `ports` (this thread's new large-payload ports to and from it) a
   * replacement is about to start: settle what waited on the dead one and say how the
   * replacement joins. Without, it is gone for good.
   */
  threadDown(thread: number, death: DeathNotice, ports: { bigOut: MessagePort; bigIn: MessagePort } | null): PeerRecovery | null;
  inspect(): ActorInfo[];
  /** Resolves once what the thread opens at its start (the layer above's store) is open; rejects if it could not be. */
  whenReady(): Promise<void>;
  /** Messages that die from now on die for reason 'shutdown'. */
  beginShutdown(): void;
  /** Ends the turn loop and lets the thread exit. */
  close(): Promise<void>;
}

/**
 * comlink's Endpoint over a Node MessagePort or Worker (which speak EventEmitter, not DOM events).
 * @internal (kept out of the published types: comlink's need the DOM library)
 */
export function nodeEndpoint(port: MessagePort | Worker): Endpoint {
  const listeners = new WeakMap<object, (data: unknown) => void>();
  return {
    postMessage: (message: unknown, transfer?: unknown[]) => port.postMessage(message, transfer as never),
    addEventListener: (_type: string, handler: unknown) => {
      const listener = (data: unknown): void => {
        const event = { data } as MessageEvent;
        if (typeof handler === 'function') handler(event);
        else (handler as { handleEvent(e: MessageEvent): void }).handleEvent(event);
      };
      port.on('message', listener);
      listeners.set(handler as object, listener);
    },
    removeEventListener: (_type: string, handler: unknown) => {
      const listener = listeners.get(handler as object);
      if (listener === undefined) return;
      port.off('message', listener);
      listeners.delete(handler as object);
    },
  } as Endpoint;
}
