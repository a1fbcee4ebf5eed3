// One activation's side of its key (what its cell starts from, as its spawn arguments): it reads
// the committed state, and gathers what the running handler changes besides its state (reminders
// set or cancelled, messages to entities held for the output gate, a deletion) for the commit
// that ends it. The commit itself is the thread's entities' (entities.ts).

import { validateString } from '../../validate.js';
import type { EntityActivation } from './define-entity.js';
import type { Delivery } from './delivery.js';
import { decodeOn, type EntityHost } from './entity-host.js';
import type { EntityStore, ReminderChange } from './entity-store.js';
import type { HeldMessage } from './outbox.js';
import { reminderChange } from './reminders.js';
import { idHash } from './entity-ids.js';

/** What a handler changed besides its state, for its commit. */
export interface HandlerChanges {
  readonly reminders: ReminderChange[] | null;
  readonly held: HeldMessage[] | null;
  readonly deleting: boolean;
}

/** Commits a handler's state, the end of the delivery it handled (if any) and its other changes. */
export type CommitHandler = (state: unknown, version: number, delivery: Delivery | null, changes: HandlerChanges) => Promise<void> | null;

/**
 * The activation of key `key` (id `id`), reading from `store()` and committing through `commit`;
 * `restored` is told each time an instance starts from the committed state.
 */
export function activationOf(host: EntityHost, store: () => EntityStore, key: string, id: string, commit: CommitHandler, restored: () => void): EntityActivation {
  const pending: ReminderChange[] = [];
  const held: HeldMessage[] = [];
  let deleting = false;
  /** Between a handler's start and its commit. */
  let open = false;
  /** The last commit deleted the key: the activation starts afresh. */
  let deleted = false;
  const hash = idHash(id);
  const mark = host.runtime.mark;
  return {
    key,
    restore() {
      restored();
      const bytes = store().state(id);
      if (bytes === undefined) return { found: false, state: undefined, version: 0 };
      const [version, state] = decodeOn(host, bytes) as [number, unknown];
      return { found: true, state, version };
    },
    commit: (state, delivery, version) => {
      open = false;
      const changes: HandlerChanges = { reminders: pending.length === 0 ? null : pending.splice(0), held: held.length === 0 ? null : held.splice(0), deleting };
      deleted = deleting;
      deleting = false;
      return commit(state, version, delivery, changes);
    },
    takeDeleted: () => {
      const was = deleted;
      deleted = false;
      return was;
    },
    ended: (seq) => store().ended?.(id, seq) ?? false,
    begin: () => {
      pending.length = 0;
      held.length = 0;
      deleting = false;
      open = true;
    },
    handling: (seq) => {
      mark[0] = seq === 0 ? 0 : hash;
      mark[1] = seq;
    },
    get open() {
      return open;
    },
    delete: () => void (deleting = true),
    hold: (message) => void held.push(message),
    remind: (name, when) => void pending.push(reminderChange(name, when, host.clock.now())),
    cancelReminder: (name) => {
      validateString(name, 'ctx.cancelReminder(name)');
      pending.push([name, null]);
    },
  };
}
