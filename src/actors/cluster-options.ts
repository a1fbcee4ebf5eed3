// The `cluster` option of createSystem: which NATS servers, this node's name, how often it
// heartbeats and after how long a silent node is down. Checked here, before anything connects;
// connection options that NATS itself takes (credentials, token, TLS) pass through unread.

import { hostname } from 'node:os';
import { isDefinition } from './define.js';
import type { AnyDefinition } from './types.js';
import { invalid, validateInteger, validateKeys, validateNumber, validateObject, validateString } from '../validate.js';

export interface ClusterOptions {
  /** The NATS server(s) to connect to: a URL or several (`nats://host:4222`). */
  readonly servers: string | readonly string[];
  /** This node's name, unique in the cluster (letters, digits, `-`, `_`). Default: `<host>-<pid>`. */
  readonly name?: string;
  /** What the cluster's subjects and buckets start with, so that several clusters can share NATS. Default 'troupe'. */
  readonly namespace?: string;
  /** How often this node says it is alive (ms). Default 1000. */
  readonly heartbeatMs?: number;
  /**
   * A node silent for this long is down for every other node (ms; the membership bucket's TTL,
   * so every node of a cluster must give the same). It is declared down within downAfterMs +
   * heartbeatMs of its last heartbeat. Default 5000.
   */
  readonly downAfterMs?: number;
  /**
   * Copies of the membership bucket that JetStream keeps: 3 on a NATS cluster of three servers or
   * more, so that losing one server loses no member's key. Default 1.
   */
  readonly replicas?: number;
  /**
   * The only definitions that other nodes may start on this one (system.start with
   * `placement: { node }`), found by their names. Default: any that this process's own code
   * defined in a module file, by a name no other of its definitions has. Nothing from the wire
   * is ever imported or run: a name that names none of these is refused.
   */
  readonly definitions?: readonly AnyDefinition[];
  /**
   * How many shards entities are spread over: each is owned by one node at a time, and moves as
   * a whole. Every node of a cluster must give the same. Default 256.
   */
  readonly shards?: number;
  /** NATS authentication and TLS, passed to NATS as they are. */
  readonly token?: string;
  readonly user?: string;
  readonly pass?: string;
  /**
   * The content of a NATS creds file (a user JWT and its nkey seed): what every thread's connection
   * authenticates with. Unlike `authenticator`, it reaches the worker threads' connections too.
   */
  readonly creds?: string | Uint8Array;
  /** A NATS authenticator (credsAuthenticator, nkeyAuthenticator, jwtAuthenticator from @nats-io/transport-node): main's connection only. */
  readonly authenticator?: unknown;
  /** NATS TLS options ({ caFile, certFile, keyFile, ... }). */
  readonly tls?: Record<string, unknown>;
  /** Any other NATS connection options, passed as they are. */
  readonly connection?: Record<string, unknown>;
}

export interface ResolvedCluster {
  readonly servers: readonly string[];
  readonly name: string;
  readonly namespace: string;
  readonly heartbeatMs: number;
  readonly downAfterMs: number;
  readonly replicas: number;
  /** What other nodes may start here, by name; null: any portable definition (define.ts). */
  readonly definitions: ReadonlyMap<string, AnyDefinition> | null;
  /** What goes to NATS connect() besides the servers. */
  readonly connection: Record<string, unknown>;
  readonly shards: number;
}

/**
 * What a thread needs to open the entity store the nodes share (cluster/shared-entity-store.ts):
 * copied to every worker, so without what cannot be copied (an authenticator function).
 */
export interface ClusterStoreConfig {
  readonly servers: readonly string[];
  readonly node: string;
  readonly namespace: string;
  readonly replicas: number;
  readonly shards: number;
  readonly connection: Record<string, unknown>;
}

export function storeConfig(cluster: ResolvedCluster): ClusterStoreConfig {
  const connection: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(cluster.connection)) if (typeof value !== 'function' && key !== 'authenticator') connection[key] = value;
  return { servers: cluster.servers, node: cluster.name, namespace: cluster.namespace, replicas: cluster.replicas, shards: cluster.shards, connection };
}

const KEYS = ['servers', 'name', 'namespace', 'heartbeatMs', 'downAfterMs', 'replicas', 'shards', 'definitions', 'creds', 'token', 'user', 'pass', 'authenticator', 'tls', 'connection'];
/** What NATS allows in a KV key and a subject token alike. */
const NAME = /^[A-Za-z0-9_-]{1,64}$/;

export function resolveCluster(value: ClusterOptions | undefined): ResolvedCluster | null {
  if (value === undefined) return null;
  validateObject(value, 'options.cluster');
  validateKeys(value, 'options.cluster', KEYS);
  const servers = typeof value.servers === 'string' ? [value.servers] : value.servers;
  if (!Array.isArray(servers) || servers.length === 0) throw invalid('options.cluster.servers', 'a NATS server URL or a non-empty array of them', value.servers);
  servers.forEach((url, i) => validateString(url, `options.cluster.servers[${i}]`));
  const name = value.name ?? `${hostname().replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 40)}-${process.pid}`;
  if (typeof name !== 'string' || !NAME.test(name)) throw invalid('options.cluster.name', 'a node name of 1 to 64 letters, digits, - or _', value.name);
  const namespace = value.namespace ?? 'troupe';
  if (typeof namespace !== 'string' || !NAME.test(namespace)) throw invalid('options.cluster.namespace', 'a name of 1 to 64 letters, digits, - or _', value.namespace);
  const heartbeatMs = validateNumber(value.heartbeatMs ?? 1000, 'options.cluster.heartbeatMs', 10, 60_000);
  const downAfterMs = validateNumber(value.downAfterMs ?? 5000, 'options.cluster.downAfterMs', 100, 3_600_000);
  if (downAfterMs < 2 * heartbeatMs) throw invalid('options.cluster.downAfterMs', `at least twice heartbeatMs (${heartbeatMs})`, downAfterMs);
  const connection: Record<string, unknown> = {};
  if (value.connection !== undefined) Object.assign(connection, validateObject(value.connection, 'options.cluster.connection'));
  if (value.token !== undefined) connection['token'] = validateString(value.token, 'options.cluster.token');
  if (value.user !== undefined) connection['user'] = validateString(value.user, 'options.cluster.user');
  if (value.pass !== undefined) connection['pass'] = validateString(value.pass, 'options.cluster.pass');
  if (value.authenticator !== undefined) connection['authenticator'] = value.authenticator;
  if (value.creds !== undefined) {
    if (typeof value.creds !== 'string' && !(value.creds instanceof Uint8Array)) throw invalid('options.cluster.creds', "a creds file's content (a string or bytes)", value.creds);
    if (value.authenticator !== undefined) throw invalid('options.cluster.creds', 'absent with options.cluster.authenticator (one of them)', 'creds');
    connection['creds'] = typeof value.creds === 'string' ? value.creds : new Uint8Array(value.creds);
  }
  if (value.tls !== undefined) connection['tls'] = validateObject(value.tls, 'options.cluster.tls');
  let definitions: Map<string, AnyDefinition> | null = null;
  if (value.definitions !== undefined) {
    if (!Array.isArray(value.definitions)) throw invalid('options.cluster.definitions', 'an array of actor definitions', value.definitions);
    definitions = new Map();
    value.definitions.forEach((definition: unknown, i: number) => {
      if (!isDefinition(definition)) throw invalid(`options.cluster.definitions[${i}]`, 'an actor definition (defineActor)', definition);
      if (definitions!.has(definition.name)) throw invalid(`options.cluster.definitions[${i}]`, `a definition whose name no other listed one has (${JSON.stringify(definition.name)})`, definition.name);
      definitions!.set(definition.name, definition);
    });
  }
  const replicas = validateInteger(value.replicas ?? 1, 'options.cluster.replicas', 1, 5);
  const shards = validateInteger(value.shards ?? 256, 'options.cluster.shards', 1, 65_536);
  return { servers: [...servers], name, namespace, heartbeatMs, downAfterMs, replicas, definitions, connection, shards };
}
