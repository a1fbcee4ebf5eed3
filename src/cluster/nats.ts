// The NATS client, loaded only when a system joins a cluster: @nats-io/transport-node for the
// connection and @nats-io/kv for membership. Both are optional dependencies; a system that
// asks for a cluster without them installed is refused with a typed error that says what to install.
// The parts of their API used here are written out below, so that troupe's published types never
// name a package that an app without a cluster may not have installed.

import { ActorInitializationError } from '../errors.js';

export interface NatsMsg {
  readonly data: Uint8Array;
  respond(data?: Uint8Array): boolean;
}

export interface NatsSubscription {
  unsubscribe(): void;
  /** Unsubscribes once what NATS already routed to it has been handled. */
  drain(): Promise<void>;
}

export interface NatsConnection {
  readonly info?: { readonly max_payload: number; readonly version: string };
  subscribe(subject: string, options: { queue?: string; callback: (error: Error | null, msg: NatsMsg) => void }): NatsSubscription;
  publish(subject: string, data: Uint8Array): void;
  request(subject: string, data: Uint8Array, options: { timeout: number }): Promise<{ readonly data: Uint8Array }>;
  drain(): Promise<void>;
  close(): Promise<void>;
  closed(): Promise<void | Error>;
}

export interface KvEntry {
  readonly key: string;
  readonly operation: 'PUT' | 'DEL' | 'PURGE';
  readonly revision: number;
  string(): string;
}

export interface KV {
  put(key: string, value: string): Promise<number>;
  /** Writes `key` only if it has no value: its revision, or a rejection. */
  create(key: string, value: string): Promise<number>;
  /** Writes `key` only if its revision is still `revision` (compare-and-set): the new one, or a rejection. */
  update(key: string, value: string, revision: number): Promise<number>;
  get(key: string): Promise<KvEntry | null>;
  /** Deletes `key` (with previousSeq: only if its revision is still that one). */
  delete(key: string, options?: { previousSeq?: number }): Promise<void>;
  keys(filter: string): Promise<AsyncIterable<string>>;
  watch(options: { key: string }): Promise<AsyncIterable<KvEntry> & { stop(): void }>;
}

export interface NatsClient {
  connect(options: Record<string, unknown>): Promise<NatsConnection>;
  /** A key-value bucket, created with a TTL (0: none) and `replicas` copies if missing. */
  bucket(nc: NatsConnection, name: string, ttlMs: number, replicas: number): Promise<KV>;
}

export async function loadNats(): Promise<NatsClient> {
  let transport: typeof import('@nats-io/transport-node');
  let kv: typeof import('@nats-io/kv');
  try {
    [transport, kv] = await Promise.all([import('@nats-io/transport-node'), import('@nats-io/kv')]);
  } catch (error) {
    throw new ActorInitializationError('options.cluster needs the NATS client: npm install @nats-io/transport-node @nats-io/kv', { cause: error });
  }
  return {
    connect: async (options) => (await transport.connect(options)) as unknown as NatsConnection,
    async bucket(nc, name, ttlMs, replicas) {
      const kvm = new kv.Kvm(nc as unknown as ConstructorParameters<typeof kv.Kvm>[0]);
      // A NATS cluster that has just started may not have elected its JetStream leader yet: tried again for a while.
      const deadline = Date.now() + 15_000;
      for (;;) {
        try {
          return (await kvm.create(name, ttlMs > 0 ? { ttl: ttlMs, history: 1, replicas } : { history: 1, replicas })) as unknown as KV;
        } catch (error) {
          try {
            // Made by another node, perhaps with other settings: used as it is (status() says it is really there).
            const bucket = await kvm.open(name);
            await bucket.status();
            return bucket as unknown as KV;
          } catch {
            if (Date.now() > deadline) throw error;
            await new Promise((resolve) => setTimeout(resolve, 250));
          }
        }
      }
    },
  };
}
