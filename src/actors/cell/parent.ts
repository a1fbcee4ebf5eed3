// A cell's parent: its thread and key (key 0: none). One object is shared by the children a
// parent makes one after another, and by every top-level actor: two numbers less per actor.

export interface Parent {
  readonly thread: number;
  readonly key: number;
}

const TOP: Parent = { thread: 0, key: 0 };
let lastParent: Parent = TOP;

/** The Parent for (thread, key): the last one made if it is the same. */
export function parentOf(thread: number, key: number): Parent {
  if (key === 0 && thread === 0) return TOP;
  if (lastParent.key !== key || lastParent.thread !== thread) lastParent = { thread, key };
  return lastParent;
}
