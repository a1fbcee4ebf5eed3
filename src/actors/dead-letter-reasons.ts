// Each dead-letter reason's slot among a thread's counters of dead letters by reason
// (runtime/layout.ts STAT_DL_REASONS, DL_REASONS of them): written by dead-letters.ts, read by
// stats.ts. A Record, so that a reason added to the union without a slot does not compile.

import type { DeadLetterReason } from './types.js';

export const DEAD_LETTER_SLOT: Readonly<Record<DeadLetterReason, number>> = {
  stopped: 0,
  'mailbox-full': 1,
  'restart-stash-full': 2,
  'thread-crash': 3,
  'late-reply': 4,
  terminated: 5,
  'max-deliveries': 6,
  'no-routee': 7,
  shutdown: 8,
  'decode-failed': 9,
  unhandled: 10,
  'storage-failed': 11,
  'node-down': 12,
  'too-large': 13,
};

/** Every reason, in slot order. */
export const DEAD_LETTER_REASONS: readonly DeadLetterReason[] = (Object.keys(DEAD_LETTER_SLOT) as DeadLetterReason[]).sort((a, b) => DEAD_LETTER_SLOT[a] - DEAD_LETTER_SLOT[b]);
