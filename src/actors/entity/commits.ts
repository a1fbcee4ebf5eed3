// The commits of the keys that live on one thread, written one group per key at a time. A
// handler's commit joins its key's group: written at once if no commit of that key is being
// written, else gathered behind the one that is, and written together (one state, the latest,
// with the ends of all its messages) once that one is done. So a key handles its next message
// while its last commit is being written (its answers wait for the commit: LaterOutcome), and a
// busy key writes its state once per store transaction, not once per message.
//
// A group that fails is never followed by a later one of its key: the group gathered behind it,
// and every commit after, is refused until the key's activation starts again from the state
// committed before (its messages go again, in order: ack-mode.ts undoLater).

import type { CommitWrite, EntityStore } from './entity-store.js';

interface Group {
  readonly writes: CommitWrite[];
  readonly promise: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

export class Commits {
  readonly #store: () => EntityStore;
  /** The keys with a group being written, each with the group gathering behind it (null: none yet). */
  readonly #writing = new Map<string, Group | null>();
  /** The keys whose last group failed: their commits are refused until they start again (reset). */
  readonly #failed = new Map<string, unknown>();

  constructor(store: () => EntityStore) {
    this.#store = store;
  }

  /** Commits `write` for `id`, in order after its earlier ones; resolves once it is written, durable as configured. */
  commit(id: string, write: CommitWrite): Promise<void> {
    // After a failure only the end of a message alone (a verdict on it: a dead letter) goes.
    if (this.#failed.has(id) && (write.state !== null || write.extras?.deleteAll === true || (write.extras?.outbox ?? null) !== null)) return Promise.reject(this.#failed.get(id));
    if (!this.#writing.has(id)) return this.#write(id, [write]);
    let next = this.#writing.get(id) ?? null;
    if (next === null) this.#writing.set(id, (next = group()));
    next.writes.push(write);
    return next.promise;
  }

  /** `id`'s activation starts from its committed state: its commits are taken again. */
  reset(id: string): void {
    this.#failed.delete(id);
  }

  #write(id: string, writes: CommitWrite[]): Promise<void> {
    this.#writing.set(id, null);
    let written: Promise<void>;
    try {
      written = this.#store().commit(id, writes);
    } catch (error) {
      written = Promise.reject(error);
    }
    written.then(
      () => {
        const next = this.#writing.get(id) ?? null;
        if (next === null) this.#writing.delete(id);
        else this.#write(id, next.writes).then(next.resolve, next.reject);
      },
      (error: unknown) => {
        const next = this.#writing.get(id) ?? null;
        this.#writing.delete(id);
        this.#failed.set(id, error);
        next?.reject(error);
      },
    );
    return written;
  }
}

function group(): Group {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { writes: [], promise, resolve, reject };
}
