// Pub/sub: every thread keeps a copy of the subscription table (subscribe and unsubscribe are
// broadcast as control records), so publish routes on the publishing thread itself, with no hop
// through a broker. Each plain subscriber gets a copy; each group gets one copy, handled by one
// of its members (round-robin on the publishing thread). A subscription made on one thread
// reaches another thread in the order of that thread's ring: a publish that thread makes after
// the notice arrived sees it.

import type { ActorRefImpl } from './actor-ref.js';

interface Topic {
  readonly plain: Map<number, ActorRefImpl>;
  readonly groups: Map<string, { members: ActorRefImpl[]; next: number }>;
}

export class TopicTable {
  readonly #topics = new Map<string, Topic>();

  add(topic: string, ref: ActorRefImpl, group: string | undefined): void {
    let entry = this.#topics.get(topic);
    if (entry === undefined) this.#topics.set(topic, (entry = { plain: new Map(), groups: new Map() }));
    if (group === undefined) {
      entry.plain.set(ref.key, ref);
      return;
    }
    let members = entry.groups.get(group);
    if (members === undefined) entry.groups.set(group, (members = { members: [], next: 0 }));
    if (!members.members.some((m) => m.key === ref.key)) members.members.push(ref);
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

  /** The refs one published message goes to: every plain subscriber, one member per group. */
  recipients(topic: string): ActorRefImpl[] {
    const entry = this.#topics.get(topic);
    if (entry === undefined) return [];
    const out = [...entry.plain.values()];
    for (const group of entry.groups.values()) out.push(group.members[group.next++ % group.members.length]!);
    return out;
  }
}
