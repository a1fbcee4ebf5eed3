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
  readonly value: Uint8Array;
  string(): string;
}

export interface KV {
  put(key: string, value: string | Uint8Array): Promise<number>;
  /** Writes `key` only if it has no value: its revision, or a rejection. */
  create(key: string, value: string | Uint8Array): Promise<number>;
  /** Writes `key` only if its revision is still `revision` (compare-and-set): the new one, or a rejection. */
  update(key: string, value: string | Uint8Array, revision: number): Promise<number>;
  get(key: string): Promise<KvEntry | null>;
  /** Deletes `key` (with previousSeq: only if its revision is still that one). */
  delete(key: string, options?: { previousSeq?: number }): Promise<void>;
  /**
   * The keys under `filter`; rejected if the listing stalls, nothing coming for `timeoutMs`
   * (default 5 s): one can stall for good (seen after the process was paused), and what waits for
   * it must go on.
   */
  keys(filter: string, timeoutMs?: number): Promise<string[]>;
  watch(options: { key: string }): Promise<AsyncIterable<KvEntry> & { stop(): void }>;
}

/** A JetStream stream of messages by subject: entities' mailboxes (entity-mailbox-store.ts). */
export interface Stream {
  /** Stores `data` on `subject` (a retry with the same `msgId` is not stored twice): its sequence in the stream. */
  publish(subject: string, data: Uint8Array, msgId: string): Promise<number>;
  /** The subjects under `filter` that hold messages, with how many each. */
  subjects(filter: string): Promise<Record<string, number>>;
  /** The first message on `subject` at or after stream sequence `from`, or null. */
  next(subject: string, from: number): Promise<{ readonly seq: number; readonly data: Uint8Array } | null>;
  /** Removes the messages of `subject` below stream sequence `below`. */
  purge(subject: string, below: number): Promise<void>;
}

export interface NatsClient {
  connect(options: Record<string, unknown>): Promise<NatsConnection>;
  /** A key-value bucket, created with a TTL (0: none) and `replicas` copies if missing. */
  bucket(nc: NatsConnection, name: string, ttlMs: number, replicas: number): Promise<KV>;
  /** A stream on `subjects`, created with `replicas` copies if missing. */
  stream(nc: NatsConnection, name: string, subjects: string, replicas: number): Promise<Stream>;
}

/** The client's bucket, as it lists keys: a stoppable iterator. */
export type RawKV = Omit<KV, 'keys'> & { keys(filter: string): Promise<AsyncIterable<string> & { stop(): void }> };

/** How long a listing of keys may take by default. */
const LIST_MS = 5000;

/**
 * How long a join tries again while NATS cannot serve it yet: a NATS cluster just started, or
 * one that lost a server, elects its JetStream leaders again (5-8 s each, longer on a loaded
 * machine), and a listing may stall through more than one election.
 */
export const JOIN_RETRY_MS = 30_000;

/** The client's bucket with its key listing bounded in time (KV.keys). */
export function boundedKeys(raw: RawKV, name: string): KV {
  return {
    put: (key, value) => raw.put(key, value),
    create: (key, value) => raw.create(key, value),
    update: (key, value, revision) => raw.update(key, value, revision),
    get: (key) => raw.get(key),
    delete: (key, options) => raw.delete(key, options),
    watch: (options) => raw.watch(options),
    async keys(filter, timeoutMs = LIST_MS) {
      const keys: string[] = [];
      let iterator: { stop(): void } | null = null;
      let timedOut = false;
      let fail!: (error: Error) => void;
      const late = new Promise<never>((_, reject) => (fail = reject));
      // The bound is on a pause in the listing, not on its whole: a long one that goes on is let be.
      const timer = setTimeout(() => {
        timedOut = true;
        (iterator as { stop(): void } | null)?.stop();
        fail(new Error(`listing the keys ${filter} of bucket ${name} stalled: nothing came for ${timeoutMs} ms`));
      }, timeoutMs);
      const listing = (async () => {
        const listed = await raw.keys(filter);
        iterator = listed;
        if (timedOut) listed.stop(); // made after its bound passed: stopped at once
        for await (const key of listed) {
          keys.push(key);
          timer.refresh();
        }
      })();
      listing.catch(() => undefined); // a listing that fails after its bound is not unhandled
      try {
        await Promise.race([listing, late]);
      } finally {
        clearTimeout(timer);
      }
      return keys;
    },
  };
}

export async function loadNats(): Promise<NatsClient> {
  let transport: typeof import('@nats-io/transport-node');
  let kv: typeof import('@nats-io/kv');
  let js: typeof import('@nats-io/jetstream');
  try {
    [transport, kv, js] = await Promise.all([import('@nats-io/transport-node'), import('@nats-io/kv'), import('@nats-io/jetstream')]);
  } catch (error) {
    throw new ActorInitializationError('options.cluster needs the NATS client: npm install @nats-io/transport-node @nats-io/kv @nats-io/jetstream', { cause: error });
  }
  return {
    async connect({ creds, ...options }) {
      // A creds file's content (cluster.creds): made into an authenticator here, on each thread that connects.
      if (creds !== undefined) options['authenticator'] = transport.credsAuthenticator(typeof creds === 'string' ? new TextEncoder().encode(creds) : (creds as Uint8Array));
      // No stack captured at each request for its would-be timeout (a new Error per request: a fifth
      // of a store thread's time under load); troupe's errors say what the call was. `connection` may set it back.
      return (await transport.connect({ noAsyncTraces: true, ...options })) as unknown as NatsConnection;
    },
    async bucket(nc, name, ttlMs, replicas) {
      const kvm = new kv.Kvm(nc as unknown as ConstructorParameters<typeof kv.Kvm>[0]);
      // A NATS cluster that has just started may not have elected its JetStream leader yet: tried again for a while.
      const deadline = Date.now() + JOIN_RETRY_MS;
      for (;;) {
        try {
          // Made by another node already (nearly always): used as it is (status() says it is really there).
          // Opened first: making one asks the JetStream meta leader, which a failover may have taken away.
          const bucket = await kvm.open(name);
          await bucket.status();
          return boundedKeys(bucket as unknown as RawKV, name);
        } catch {
          try {
            return boundedKeys((await kvm.create(name, ttlMs > 0 ? { ttl: ttlMs, history: 1, replicas } : { history: 1, replicas })) as unknown as RawKV, name);
          } catch (error) {
            if (Date.now() > deadline) throw error;
            await new Promise((resolve) => setTimeout(resolve, 250));
          }
        }
      }
    },
    async stream(nc, name, subjects, replicas) {
      const conn = nc as unknown as Parameters<typeof js.jetstreamManager>[0];
      const jsm = await js.jetstreamManager(conn);
      const deadline = Date.now() + JOIN_RETRY_MS;
      for (;;) {
        try {
          await jsm.streams.info(name);
          break;
        } catch {
          try {
            await jsm.streams.add({ name, subjects: [subjects], num_replicas: replicas });
            break;
          } catch (error) {
            if (Date.now() > deadline) throw error;
            await new Promise((resolve) => setTimeout(resolve, 250));
          }
        }
      }
      const stream = js.jetstream(conn);
      return {
        publish: async (subject, data, msgId) => (await stream.publish(subject, data, { msgID: msgId })).seq,
        subjects: async (filter) => (await jsm.streams.info(name, { subjects_filter: filter })).state.subjects ?? {},
        async next(subject, from) {
          // A request JetStream 2.9 takes (next_by_subj), which the client types only for direct gets.
          const found = await jsm.streams.getMessage(name, { next_by_subj: subject, seq: from } as never);
          return found === null ? null : { seq: found.seq, data: found.data };
        },
        async purge(subject, below) {
          await jsm.streams.purge(name, { filter: subject, seq: below });
        },
      };
    },
  };
}
