// Pools that serve the cluster: `system.spawnPool(Def, args, { size, service: 'resize' })` on
// any number of nodes, `system.service('resize')` on any node. A service is one NATS subject;
// each node with a pool of that name subscribes to it in one NATS queue group, so each batch of
// calls goes to one of those nodes, whose pool routes each call to one of its members (its own
// routing). Calls are batched like calls to a node (link.ts), and answered the same way. With no
// node serving the name, a tell is a `no-routee` dead letter and an ask or send rejects with
// ActorStoppedError, as for a local pool with no members.

import { ActorStoppedError, NodeDownError, toWire } from '../errors.js';
import type { AskOptions, DeadLetterReason, MessageOptions, SendOptions, SendResult } from '../actors/types.js';
import { checkSignal, type AskSubject } from '../actors/node/ask.js';
import { checkCall, wireOptions } from '../actors/node/cross-node.js';
import type { Link } from './link.js';
import type { NatsConnection, NatsMsg, NatsSubscription } from './nats.js';
import { Entry, ServiceCall, subjectToken, type Call } from './wire-batch.js';

/** What a pool offers a service: the ActorRef calls, each routed to one member. */
export interface ServedPool {
  tell(type: string, payload?: unknown, options?: MessageOptions): void;
  send(type: string, payload?: unknown, options?: SendOptions): Promise<SendResult>;
  ask(type: string, payload?: unknown, options?: AskOptions): Promise<unknown>;
}

/** What the services need of the gateway. */
export interface ServiceHost {
  readonly nc: NatsConnection;
  readonly askTimeoutMs: number;
  /** The link to a service's subject (made once); null once this node's NATS connection is closed for good. */
  serviceLink(name: string, subject: string): Link | null;
  /** Call `corr` rejects when `signal` aborts (node/ask.ts). */
  abortWith(corr: number, promise: Promise<unknown>, signal: AbortSignal | undefined): void;
  /** A call that waits for an answer (gateway.ts #expect). */
  expect<T>(link: Link, timeoutMs: number, about: AskSubject, type?: string): { corr: number; promise: Promise<T> };
  /** What reads a batch from the wire and answers its request. */
  readonly onBatch: (error: Error | null, msg: NatsMsg) => void;
  answer(systemId: string, nodeName: string, corr: number, ok: boolean, value: unknown): void;
  deadLetter(recipient: string, type: string, payload: unknown, reason: DeadLetterReason): void;
  /** A dead letter for a message a pool here could not take: its reason from the error (stopped, mailbox-full, shutdown). */
  deadLetterFor(recipient: string, type: string, payload: unknown, error: unknown): void;
}


/** The recipient a dead letter for a service names. */
export function serviceRecipient(name: string): string {
  return `service:${name}`;
}

export class Services {
  readonly #host: ServiceHost;
  readonly #prefix: string;
  /** This node's pools that serve, by name, and their queue subscriptions. */
  readonly #served = new Map<string, { pool: ServedPool; sub: NatsSubscription }>();

  constructor(host: ServiceHost, namespace: string) {
    this.#host = host;
    this.#prefix = `${namespace}.svc.`;
  }

  /** Whether this node serves `name`. */
  serves(name: string): boolean {
    return this.#served.has(name);
  }

  /** This node's `pool` serves `name` (the caller checked it serves no other pool of that name). */
  serve(name: string, pool: ServedPool): void {
    const sub = this.#host.nc.subscribe(this.#prefix + subjectToken(name), { queue: 'troupe', callback: this.#host.onBatch });
    this.#served.set(name, { pool, sub });
  }

  /**
   * This node's `pool` no longer serves `name`: resolves once what NATS had already routed here
   * for it has been taken (a drain, not a plain unsubscribe, which would drop those batches), so
   * the pool's members stop only after.
   */
  async unserve(name: string, pool: ServedPool): Promise<void> {
    const served = this.#served.get(name);
    if (served === undefined || served.pool !== pool) return;
    await served.sub.drain().catch(() => undefined);
    this.#served.delete(name);
  }

  /** A call to service `name`, from this node (main, or a worker through it). */
  call(name: string, kind: ServiceCall, type: string, payload: unknown, options: AskOptions | undefined): Promise<unknown> | undefined {
    checkCall(type, payload);
    const link = this.#host.serviceLink(name, this.#prefix + subjectToken(name));
    if (link === null) {
      // This node's NATS connection is closed for good: no service can be reached.
      if (kind === ServiceCall.Tell) {
        this.#host.deadLetter(serviceRecipient(name), type, payload, 'node-down');
        return undefined;
      }
      return Promise.reject(new NodeDownError(`service ${JSON.stringify(name)} cannot be reached: this node's NATS connection is closed`));
    }
    if (kind === ServiceCall.Tell) {
      link.push([Entry.ToService, kind, 0, name, type, payload, wireOptions(options)]);
      return undefined;
    }
    const signal = checkSignal(options?.signal);
    if (signal?.aborted === true) return Promise.reject(signal.reason as Error);
    const about: AskSubject = { describe: () => `service ${JSON.stringify(name)}` };
    const timeoutMs = kind === ServiceCall.Ask ? (options?.timeoutMs ?? this.#host.askTimeoutMs) : options?.timeoutMs !== undefined ? options.timeoutMs + 1000 : 60_000;
    const { corr, promise } = this.#host.expect<unknown>(link, timeoutMs, about, type);
    this.#host.abortWith(corr, promise, signal);
    link.push([Entry.ToService, kind, corr, name, type, payload, wireOptions(options)]);
    return promise;
  }

  /** A call to a service that this node took from the wire: to its pool of that name. */
  take(systemId: string, nodeName: string, call: Extract<Call, readonly [Entry.ToService, ...unknown[]]>): void {
    const [, kind, corr, name, type, payload, wire] = call;
    const pool = this.#served.get(name)?.pool;
    const options = (wire ?? undefined) as AskOptions | undefined;
    if (kind === ServiceCall.Tell) {
      if (pool === undefined) {
        this.#host.deadLetter(serviceRecipient(name), type, payload, 'no-routee');
        return;
      }
      try {
        pool.tell(type, payload, options);
      } catch (error) {
        // A member full, stopping, or this node shutting down: a dead letter here, as for a local tell.
        this.#host.deadLetterFor(serviceRecipient(name), type, payload, error);
      }
      return;
    }
    let outcome: Promise<unknown>;
    try {
      outcome =
        pool === undefined
          ? Promise.reject(new ActorStoppedError(`no pool named ${JSON.stringify(name)} serves on this node any more`))
          : kind === ServiceCall.Ask
            ? pool.ask(type, payload, options)
            : pool.send(type, payload, options);
    } catch (error) {
      outcome = Promise.reject(error); // its routing key function threw, say: the asker hears it
    }
    outcome.then(
      (value) => this.#host.answer(systemId, nodeName, corr, true, value),
      (error: unknown) => this.#host.answer(systemId, nodeName, corr, false, toWire(error)),
    );
  }

  /** Stops serving: what NATS already routed here is taken first (drains, up to `timeoutMs`). */
  async close(timeoutMs: number): Promise<void> {
    const served = [...this.#served.values()];
    let timer: NodeJS.Timeout | undefined;
    // The pools take what is drained to them; they are forgotten after.
    await Promise.race([Promise.all(served.map((s) => s.sub.drain().catch(() => undefined))), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    for (const [name, s] of [...this.#served]) if (served.includes(s)) this.#served.delete(name);
  }
}
