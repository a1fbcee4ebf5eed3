// Pub/sub: every thread keeps a copy of the subscription table (subscribe and unsubscribe are
// broadcast as control records), so publish routes on the publishing thread itself, with no hop
// through a broker. Each plain subscriber gets a copy; each group gets one copy, handled by one
// of its members (round-robin on the publishing thread). A subscription made on one thread
// reaches another thread in the order of that thread's ring: a publish that thread makes after
// the notice arrived sees it. A subscriber that moves to another thread (node/moves.ts) keeps its
// subscriptions: a publish finds where it lives now, as a tell does. In a cluster, a publish also goes to the other nodes (through main's
// gateway, over NATS), and a group's one copy is chosen cluster-wide: every group goes through
// NATS, whose queue groups hand it to one node, which hands it to one of its members.

import { checkLocalRef } from '../remote-ref.js';
import { ActorStoppedError, MailboxFullError } from '../../errors.js';
import { STAT_ACCEPTED, STAT_REJECTED } from '../../runtime/layout.js';
import { Admit } from '../../runtime/bounds-table.js';
import { invalid, validateString } from '../../validate.js';
import type { ActorRefImpl } from '../actor-ref.js';
import { priorityOf } from '../cell/mailbox.js';
import type { NodeCore } from './node-core.js';
import type { MessageOptions } from '../types.js';
import { traceFor } from '../trace.js';
import type { ControlRecord } from './wire.js';

interface Topic {
  readonly plain: Map<number, ActorRefImpl>;
  readonly groups: Map<string, { members: ActorRefImpl[]; next: number }>;
}

export class TopicTable {
  readonly #topics = new Map<string, Topic>();
  /** Told of every change to a topic's subscribers (main, in a cluster: what NATS should deliver here). */
  onChange: ((topic: string) => void) | null = null;

  /** Whether `topic` has plain subscribers here, and the groups that have members here. */
  interest(topic: string): { plain: boolean; groups: string[] } {
    const entry = this.#topics.get(topic);
    return entry === undefined ? { plain: false, groups: [] } : { plain: entry.plain.size > 0, groups: [...entry.groups.keys()] };
  }

  /** The plain subscribers of `topic` (no group member). */
  plain(topic: string): ActorRefImpl[] {
    const entry = this.#topics.get(topic);
    return entry === undefined ? [] : [...entry.plain.values()];
  }

  /** One member of `group` of `topic` (round-robin), if it has any. */
  member(topic: string, group: string): ActorRefImpl | undefined {
    const members = this.#topics.get(topic)?.groups.get(group);
    return members === undefined ? undefined : members.members[members.next++ % members.members.length];
  }

  add(topic: string, ref: ActorRefImpl, group: string | undefined): void {
    let entry = this.#topics.get(topic);
    if (entry === undefined) this.#topics.set(topic, (entry = { plain: new Map(), groups: new Map() }));
    if (group === undefined) {
      entry.plain.set(ref.key, ref);
    } else {
      let members = entry.groups.get(group);
      if (members === undefined) entry.groups.set(group, (members = { members: [], next: 0 }));
      if (!members.members.some((m) => m.key === ref.key)) members.members.push(ref);
    }
    this.onChange?.(topic);
  }

  remove(topic: string, key: number, group: string | undefined): void {
    const entry = this.#topics.get(topic);
    if (entry === undefined) return;
    if (group === undefined) entry.plain.delete(key);
    else {
      const members = entry.groups.get(group);
      if (members !== undefined) {
        members.members = members.members.filter((m) => m.key !== key);
        if (members.members.length === 0) entry.groups.delete(group);
      }
    }
    if (entry.plain.size === 0 && entry.groups.size === 0) this.#topics.delete(topic);
    this.onChange?.(topic);
  }

  /** Takes `key` out of every topic and group; true if it was in any. */
  dropKey(key: number): boolean {
    let found = false;
    for (const [topic, entry] of this.#topics) {
      if (entry.plain.has(key)) {
        this.remove(topic, key, undefined);
        found = true;
      }
      for (const [group, members] of entry.groups) {
        if (members.members.some((m) => m.key === key)) {
          this.remove(topic, key, group);
          found = true;
        }
      }
    }
    return found;
  }

  /** True if `key` is in any topic or group. */
  has(key: number): boolean {
    for (const entry of this.#topics.values()) {
      if (entry.plain.has(key)) return true;
      for (const group of entry.groups.values()) if (group.members.some((m) => m.key === key)) return true;
    }
    return false;
  }

  /** The refs one published message goes to: every plain subscriber, one member per group (unless `groups` is false). */
  recipients(topic: string, groups = true): ActorRefImpl[] {
    const entry = this.#topics.get(topic);
    if (entry === undefined) return [];
    const out = [...entry.plain.values()];
    if (groups) for (const group of entry.groups.values()) out.push(group.members[group.next++ % group.members.length]!);
    return out;
  }
}

/** A subscriber that is gone or full does not stop the others from getting theirs. */
function skip(error: unknown): void {
  if (!(error instanceof ActorStoppedError) && !(error instanceof MailboxFullError)) throw error;
}

/** Publish and subscribe on one thread, over its copy of the table. */
export class Topics {
  readonly #node: NodeCore & { readonly clustered: boolean };
  readonly #table = new TopicTable();

  /** The table of this thread (main's gateway follows its changes, in a cluster). */
  get table(): TopicTable {
    return this.#table;
  }

  constructor(node: NodeCore & { readonly clustered: boolean }) {
    this.#node = node;
  }

  /** Subscribes `ref` here and tells every other live thread. */
  subscribe(topic: string, ref: ActorRefImpl, group: string | undefined): void {
    validateString(topic, 'subscribe(topic)');
    checkLocalRef(ref, 'subscribe(ref)');
    if (ref.entity !== undefined) throw invalid('subscribe(ref)', `a ref to an actor (${ref.id} is an entity: publish to actors, which tell entities)`, ref.id);
    if (group !== undefined) validateString(group, 'options.group');
    this.#table.add(topic, ref, group);
    this.#broadcast(['sub', topic, ref.thread, ref.key, group ?? null]);
  }

  unsubscribe(topic: string, ref: ActorRefImpl, group: string | undefined): void {
    this.#table.remove(topic, ref.key, group);
    this.#broadcast(['unsub', topic, ref.thread, ref.key, group ?? null]);
  }

  /** An actor that stopped leaves every topic and group, here and on every other thread. */
  stopped(key: number): void {
    if (this.#table.dropKey(key)) this.#broadcast(['unsub-all', key]);
  }

  /**
   * A copy to each plain subscriber and to one member of each group; returns how many copies were
   * accepted (a stopped or full subscriber is skipped). Subscribers on another thread get their
   * copies in one record per thread: the payload is encoded once per thread, not per subscriber,
   * and the subscribers on one thread share the decoded payload (as same-thread tells do).
   */
  publish(topic: string, type: string, payload: unknown, options: MessageOptions | undefined): number {
    validateString(topic, 'publish(topic)');
    if (typeof type !== 'string') throw invalid('publish(type)', 'a message type string', type);
    const node = this.#node;
    if (!node.clustered) return this.#deliver(this.#table.recipients(topic), type, payload, options);
    // In a cluster: the other nodes' subscribers, and every group's one copy, through NATS (first:
    // a message that cannot go there throws before any copy went out); this node's plain ones here.
    node.crossNode.publish(topic, type, payload, options);
    return this.#deliver(this.#table.recipients(topic, false), type, payload, options);
  }

  /**
   * Main, in a cluster: a message published on another node (or a group's copy, from any node):
   * to this node's plain subscribers (group null), or to one member of `group`.
   */
  deliver(topic: string, group: string | null, type: string, payload: unknown, options: MessageOptions | undefined): number {
    if (group === null) return this.#deliver(this.#table.plain(topic), type, payload, options);
    const member = this.#table.member(topic, group);
    return member === undefined ? 0 : this.#deliver([member], type, payload, options);
  }

  /** A copy for one member of each group of `topic` here (main, cut off from the other nodes). */
  deliverToGroups(topic: string, type: string, payload: unknown, options: MessageOptions | undefined): number {
    const members: ActorRefImpl[] = [];
    for (const group of this.#table.interest(topic).groups) {
      const member = this.#table.member(topic, group);
      if (member !== undefined) members.push(member);
    }
    return this.#deliver(members, type, payload, options);
  }

  #deliver(recipients: ActorRefImpl[], type: string, payload: unknown, options: MessageOptions | undefined): number {
    const node = this.#node;
    let accepted = 0;
    const byThread = new Map<number, ActorRefImpl[]>();
    for (const ref of recipients) {
      // Where it lives now (a subscriber may have moved: node/moves.ts): one load.
      const thread = node.locate(ref);
      // Local subscribers, and every copy that carries a messageId, go one by one.
      if (thread === node.self || options?.messageId !== undefined) {
        try {
          node.tell(ref, type, payload, options);
          accepted++;
        } catch (error) {
          skip(error);
        }
        continue;
      }
      const refs = byThread.get(thread);
      if (refs === undefined) byThread.set(thread, [ref]);
      else refs.push(ref);
    }
    for (const [thread, refs] of byThread) {
      if (refs.length === 1) {
        try {
          node.tell(refs[0]!, type, payload, options);
          accepted++;
        } catch (error) {
          skip(error);
        }
        continue;
      }
      accepted += this.#fanout(thread, refs, type, payload, options === undefined ? 0 : priorityOf(options), traceFor(options?.trace));
    }
    return accepted;
  }

  /** One Fanout record for `refs`, all on `thread`; returns how many copies were accepted. */
  #fanout(thread: number, refs: ActorRefImpl[], type: string, payload: unknown, priority: number, trace: string | undefined): number {
    const node = this.#node;
    const keys: number[] = [];
    const entries: number[] = [];
    for (const ref of refs) {
      // Each on its own: one that stopped does not cost the others their copies.
      try {
        node.admit(ref);
      } catch (error) {
        skip(error);
        continue;
      }
      const entry = node.bounds.entryOf(ref.key);
      if (entry >= 0) {
        if (node.bounds.tryAcquire(entry, ref.key) === Admit.Full) {
          node.runtime.counters[STAT_REJECTED]!++;
          continue;
        }
        entries.push(entry);
      }
      keys.push(ref.key);
    }
    if (keys.length === 0) return 0;
    const sender = node.current;
    try {
      node.records.fanout(thread, keys, sender === null ? 0 : sender.key, priority, payload, type, trace);
    } catch (error) {
      for (const entry of entries) node.bounds.release(entry);
      throw error;
    }
    node.runtime.counters[STAT_ACCEPTED]! += keys.length;
    return keys.length;
  }

  #broadcast(record: ControlRecord): void {
    const node = this.#node;
    for (let t = 0; t < node.threadCount; t++) if (t !== node.self) node.control(t, record);
  }

  // ---- control records from other threads ------------------------------------------------------

  onSubscribe(topic: string, thread: number, key: number, group: string | null): void {
    this.#table.add(topic, this.#node.refFor(thread, key), group ?? undefined);
  }

  onUnsubscribe(topic: string, key: number, group: string | null): void {
    this.#table.remove(topic, key, group ?? undefined);
  }

  onStopped(key: number): void {
    this.#table.dropKey(key);
  }
}
