// What one node sends another in one NATS message: a batch of calls and answers, in the order
// they were made, encoded with the same codec as a message between threads (so the same payloads
// pass and fail). Refs in it are written in their long form, naming their system (actor-ref.ts),
// so that the reader knows which are its own. The batch starts with the protocol it speaks: a
// reader that speaks another refuses it rather than guess.

import { crossNodeStamp } from '../actors/actor-ref.js';
import type { StopMode, WireOptions } from '../actors/node/wire.js';
import type { ExitReason, SpawnOptions } from '../actors/types.js';
import { decodeContext, decodeStandalone, encodeStandalone, prepare } from '../runtime/codec.js';

/** A name (a topic's, a service's) as a NATS subject token or queue name: any string, in letters, digits, - and _. */
export function subjectToken(name: string): string {
  return Buffer.from(name, 'utf8').toString('base64url') || '_';
}

/** The cluster wire protocol. A node that speaks another is refused (membership.ts, and here). */
export const PROTOCOL = 1;

export const enum Entry {
  Tell = 0,
  Ask = 1,
  Send = 2,
  /** The outcome of an ask or send: ok, then the value or a WireError. */
  Answer = 3,
  /** No call: asks whether the node is there (a request that no one answers says it is not). */
  Ping = 4,
  /** A registered name looked up on that node: answered with its ref, or null. */
  Lookup = 5,
  /** An actor started on that node, by its definition's name: answered with its ref once it started. */
  Spawn = 6,
  /** The sending node watches an actor of that node (one watch per actor per node; its watchers are the sender's to count). */
  Watch = 7,
  Unwatch = 8,
  /** An actor that the receiving node watches ended, and why. */
  Terminated = 9,
  /** Stops an actor of the receiving node: answered once it has stopped. */
  Stop = 10,
  /** A message published to a topic (sent on the topic's subject, not to a node). */
  Publish = 11,
  /** A call to a pool that serves the cluster under a name (sent on the service's subject: one of its nodes takes it). */
  ToService = 12,
  /** A call to an entity, by its definition's name and key, for the node that holds its shard (entity-router.ts). */
  ToEntity = 13,
}

/** What a call to a service is: tell, ask or send. */
export const enum ServiceCall {
  Tell = 0,
  Ask = 1,
  Send = 2,
}

export type Call =
  | [Entry.Tell, thread: number, key: number, type: string, payload: unknown, options: WireOptions | null]
  | [Entry.Ask | Entry.Send, corr: number, thread: number, key: number, type: string, payload: unknown, options: WireOptions | null]
  | [Entry.Answer, corr: number, ok: boolean, value: unknown]
  | [Entry.Ping]
  | [Entry.Lookup, corr: number, name: string]
  | [Entry.Spawn, corr: number, definition: string, args: unknown, options: SpawnOptions]
  | [Entry.Watch | Entry.Unwatch, thread: number, key: number]
  | [Entry.Terminated, thread: number, key: number, reason: ExitReason]
  | [Entry.Stop, corr: number, thread: number, key: number, mode: StopMode]
  | [Entry.Publish, topic: string, type: string, payload: unknown, options: WireOptions | null]
  | [Entry.ToService, kind: ServiceCall, corr: number, name: string, type: string, payload: unknown, options: WireOptions | null]
  | [Entry.ToEntity, kind: ServiceCall, corr: number, name: string, key: string, type: string, payload: unknown, options: WireOptions | null];

/** [protocol, sender's system id, sender's node name, calls] */
export type Batch = [protocol: number, systemId: string, nodeName: string, calls: Call[]];

/** The batch's bytes; refs in it named as `stamp`'s (this system's) where they are local. */
export function encodeBatch(stamp: readonly [string, string], calls: Call[]): Uint8Array {
  const before = crossNodeStamp.current;
  crossNodeStamp.current = stamp;
  try {
    return encodeStandalone(prepare([PROTOCOL, stamp[0], stamp[1], calls] satisfies Batch, 'message'));
  } finally {
    crossNodeStamp.current = before;
  }
}

/** Reads a batch; refs in it bind to `decoder` (the main thread's node). Throws on bytes that are no batch. */
export function decodeBatch(bytes: Uint8Array, decoder: unknown): Batch {
  const before = decodeContext.current;
  decodeContext.current = decoder;
  try {
    const batch = decodeStandalone(bytes) as Batch;
    if (!Array.isArray(batch) || typeof batch[0] !== 'number' || typeof batch[1] !== 'string' || typeof batch[2] !== 'string' || !Array.isArray(batch[3])) {
      throw new Error('not a troupe cluster batch');
    }
    return batch;
  } finally {
    decodeContext.current = before;
  }
}

const int = (v: unknown): boolean => Number.isSafeInteger(v);
const str = (v: unknown): boolean => typeof v === 'string';
const opts = (v: unknown): boolean => v === null || (typeof v === 'object' && !Array.isArray(v));

/**
 * Whether a call read from the wire has the shape its kind says (a peer's bytes are not trusted):
 * a batch with one that has not is refused whole, before any of its calls is made.
 */
export function wellFormed(call: unknown): call is Call {
  if (!Array.isArray(call)) return false;
  const c = call as unknown[];
  switch (c[0]) {
    case Entry.Tell:
      return c.length === 6 && int(c[1]) && int(c[2]) && str(c[3]) && opts(c[5]);
    case Entry.Ask:
    case Entry.Send:
      return c.length === 7 && int(c[1]) && int(c[2]) && int(c[3]) && str(c[4]) && opts(c[6]);
    case Entry.Answer:
      return c.length === 4 && int(c[1]) && typeof c[2] === 'boolean';
    case Entry.Ping:
      return c.length === 1;
    case Entry.Lookup:
      return c.length === 3 && int(c[1]) && str(c[2]);
    case Entry.Spawn:
      return c.length === 5 && int(c[1]) && str(c[2]) && opts(c[4]);
    case Entry.Watch:
    case Entry.Unwatch:
      return c.length === 3 && int(c[1]) && int(c[2]);
    case Entry.Terminated:
      return c.length === 4 && int(c[1]) && int(c[2]) && str(c[3]);
    case Entry.Stop:
      return c.length === 5 && int(c[1]) && int(c[2]) && int(c[3]) && (c[4] === 'stop' || c[4] === 'graceful' || c[4] === 'kill');
    case Entry.Publish:
      return c.length === 5 && str(c[1]) && str(c[2]) && opts(c[4]);
    case Entry.ToService:
      return c.length === 7 && (c[1] === ServiceCall.Tell || c[1] === ServiceCall.Ask || c[1] === ServiceCall.Send) && int(c[2]) && str(c[3]) && str(c[4]) && opts(c[6]);
    case Entry.ToEntity:
      return c.length === 8 && (c[1] === ServiceCall.Tell || c[1] === ServiceCall.Ask || c[1] === ServiceCall.Send) && int(c[2]) && str(c[3]) && str(c[4]) && str(c[5]) && opts(c[7]) && source((c[7] as { source?: unknown } | null)?.source);
    default:
      return false;
  }
}

/** An outbox source in a call's options: absent, or [source key id, number]. */
function source(v: unknown): boolean {
  return v === undefined || (Array.isArray(v) && v.length === 2 && str(v[0]) && int(v[1]));
}
