// Every shared-memory offset in one place. Fields written by different threads sit 128 bytes
// apart (two cache lines, as Agrona and Seastar do) so that a producer and a consumer never
// fight over one line.

/** Ring header: write cursor, read cursor, each on its own pair of cache lines. */
export const RING_W = 0; // Int32 index: producer-owned free-running byte cursor
export const RING_R = 32; // Int32 index (byte 128): consumer-owned free-running byte cursor
export const RING_MESSAGES = 1; // Float64 index (bytes 8..15): producer-owned count of user messages written, published with each flush
export const RING_DATA_OFFSET = 256; // bytes: records start here

/** A record: fixed 32-byte header, then the payload, padded to 8 bytes. Never straddles the end. */
export const REC_HEADER_BYTES = 32;
export const REC_LEN = 0; //        i32  payload bytes; PAD_LEN = skip to data start
export const REC_KIND = 4; //       u8   RecordKind
export const REC_PRIORITY = 5; //   u8   0..3
export const REC_FLAGS = 6; //      u16  kind-specific (Big: the kind of the record it stands for)
export const REC_TARGET = 8; //     f64  target actor key (0 = the thread itself)
export const REC_SENDER = 16; //    f64  sender actor key (0 = none)
export const REC_CORR = 24; //      i32  ask correlation id (0 = none)
export const REC_AUX = 28; //       i32  message tag id (interned per ring by TypeDef records; 0 = none)
export const PAD_LEN = -1;

export const enum RecordKind {
  Tell = 1,
  Ask = 2,
  Reply = 3,
  ReplyError = 4,
  Spawn = 5,
  Stop = 6,
  /** Payload travels on the control port (too big for the ring); this record keeps its place. */
  Big = 7,
  /** Codec reset: the reader starts a fresh decoder (the writer reset its encoder). */
  Discard = 8,
  /** Control: a runtime-level notice for the receiving thread (dead letters, child stopped). */
  Control = 9,
  /** Defines a message tag for this ring: aux = id, payload = the tag as UTF-8. */
  TypeDef = 10,
  /** One tell for several actors of the receiving thread: payload [keys, payload], corr = how many. */
  Fanout = 11,
  /** A supervisor's directive to a child (payload: the verb); answered with a Reply. */
  Directive = 12,
  /**
   * A record whose reader died before reading it, dropped by its writer (its message was
   * dead-lettered there): decoded for codec state only. flags = the kind it was.
   */
  Lost = 13,
}

/** Record flag: the record's encoding defined new record structures (a reader's codec state changed). */
export const FLAG_DEFINES = 0x100;

/** Discard flag: the first record of a new writer on a ring (a thread's replacement). */
export const DISCARD_NEW_WRITER = 1;

/** The user messages (tells, asks, fan-out copies) a record carries: the unit of custody. */
export function userMessages(kind: number, flags: number, corr: number): number {
  if (kind === RecordKind.Big) kind = flags;
  return kind === RecordKind.Tell || kind === RecordKind.Ask ? 1 : kind === RecordKind.Fanout ? corr : 0;
}

/**
 * Per-thread control block: one region of CTL_BYTES per thread in one SharedArrayBuffer. Its
 * first 512 bytes hold the fields and counters below, the rest the thread's histograms.
 */
export const CTL_BYTES = 1536;
export const CTL_I32 = CTL_BYTES / 4;
// Int32 fields (index within the thread's region). Line 0: written by producers.
export const CTL_PARKED = 0; // 1 while the thread sleeps on BELL
export const CTL_BELL = 1; //   futex word the thread waits on
// Line 2+: written by the owner only.
export const CTL_HEARTBEAT = 32; // bumped every turn
export const CTL_LOAD = 33; //      ready actors + queued messages, for placement
export const CTL_ACTORS = 34; //    live actors hosted
export const CTL_STATE = 35; //     ThreadState
export const CTL_DL_WATCHED = 36; // main only: 1 while someone subscribes to dead letters
export const CTL_WATCH_BITS = 37; // main only: watch bits, what main wants its workers to forward (the layer above names each bit)
// Float64 fields (index in a Float64Array over the same region): counters, owner-written.
export const CTL_F64_BASE = 24; // f64 index 24 = byte 192
export const STAT_MSGS_IN = 0;
export const STAT_MSGS_OUT = 1;
export const STAT_HANDLED = 2;
export const STAT_FAILED = 3;
export const STAT_DEAD_LETTERS = 4;
export const STAT_BUSY_NS = 5; //   time spent in turns, ms
export const STAT_SINCE = 6; //     time the busy counter started, ms
export const STAT_SPILLED = 7; //   records that waited in a sender-side overflow queue
export const STAT_ACCEPTED = 8; //  user messages this thread accepted for delivery (tell/ask)
export const STAT_OTHER_DEAD = 9; // dead letters that were never accepted messages (late replies)
export const STAT_REJECTED = 10; // tells and asks refused because a bounded mailbox was full
export const STAT_DUPLICATES = 11; // tells dropped by dedup (accepted, then settled as duplicates)
export const STAT_SPILL_BYTES = 12; // gauge: bytes waiting in this thread's sender-side spills
export const STAT_LONGEST_TURN_MS = 13; // the longest scheduler slice so far (a long handler shows here)
export const STAT_UNHANDLED_REJECTIONS = 14; // promises rejected with no handler on the thread (reported, not fatal)
/** Not a statistic: the highest actor sequence number this thread has used (a replacement starts above it). */
export const STAT_SPAWN_SEQ = 15;
// The custody of user messages (tells, asks, fan-out copies), for the books of a thread that dies.
export const STAT_RING_IN = 16; //    user messages this thread took from its inbound rings (published at once)
export const STAT_RING_OUT = 17; //   user messages this thread wrote into its outbound rings
export const STAT_DL_OUTBOUND = 18; // of its dead letters, messages it had written into a ring whose reader died
export const STAT_DL_QUIET = 19; // dead letters of messages that dead-letter listeners sent: counted, not reported
export const STAT_RETURNED = 20; // user messages a stopped pool member handed back to its pool on another thread (G4)
export const STAT_UNKEPT = 21; //     user messages taken from a ring while the custody log was full (not kept: lost if the thread dies)
export const STAT_CUSTODY_BYTES = 22; // gauge: bytes the custody log holds
export const STAT_RESTARTS = 23; //   restarts of actors hosted on the thread (each incarnation after the first)
/**
 * Gauge: user messages the thread handed to a store that outlives it (the layer above keeps it)
 * and has not finished: should the thread die, they are not lost (its replacement takes them up).
 */
export const STAT_STORED = 24;
/** Dead letters raised on the thread by reason: DL_REASONS slots, in the actor layer's order of reasons. */
export const STAT_DL_REASONS = 25;
export const DL_REASONS = 14;
export const STAT_FIELDS = STAT_DL_REASONS + DL_REASONS; // 39: the counters take f64 indexes 24..62, below CTL_F64_HISTOGRAMS (64)

/**
 * Float64 index (same region, byte 512): the thread's histograms, HISTOGRAM_SLOTS each. The owner
 * writes them straight to shared memory (histogram.ts): too many slots to copy at every publish,
 * and no part of the books, so they need not move in step with the counters.
 */
export const CTL_F64_HISTOGRAMS = 64;
/** Finite buckets: upper bounds of 2^i microseconds, i = 0..HIST_BUCKETS-1 (1 us to 16.8 s). */
export const HIST_BUCKETS = 25;
/** A histogram: its finite buckets (counts per bucket, not cumulative), one above the last bound, the sum in seconds. */
export const HIST_OVERFLOW = HIST_BUCKETS;
export const HIST_SUM = HIST_BUCKETS + 1;
export const HISTOGRAM_SLOTS = HIST_BUCKETS + 2;
/** Asks this thread made, from the ask to its settling, by outcome: answered, failed, timed out. */
export const HIST_ASK_OK = 0;
export const HIST_ASK_ERROR = 1;
export const HIST_ASK_TIMEOUT = 2;
/** User messages sampled on arrival (one in 1024): from arrival in an actor's mailbox to its handler starting. */
export const HIST_MAILBOX_WAIT = 3;
export const HISTOGRAMS = 4; // 4 x 27 Float64 = 864 bytes: bytes 512..1376 of the region
/**
 * Float64 index (same region, byte 1376): names that moved away from the thread and to it (the
 * layer above's actors moving between threads), owner-written straight to shared memory.
 */
export const CTL_F64_MIGRATIONS = CTL_F64_HISTOGRAMS + HISTOGRAMS * HISTOGRAM_SLOTS;
export const MIGRATED_OUT = 0;
export const MIGRATED_IN = 1;
/** Float64 index (same region, after the migrations): key of the actor whose work runs now, written straight to shared memory. */
export const CTL_F64_CURRENT = CTL_F64_MIGRATIONS + 2;
/**
 * Float64 indexes (same region, the two after CTL_F64_CURRENT): a pair the layer above writes
 * straight to shared memory to say what it is doing, for the thread that replaces this one should
 * it die (it reads them before it writes its own). Zero: nothing.
 */
export const CTL_F64_MARK = CTL_F64_CURRENT + 1;

export const enum ThreadState {
  Starting = 0,
  Running = 1,
  Stopped = 2,
  /** The thread exited unexpectedly; nothing should be sent to it any more. */
  Dead = 3,
  /** A dedicated thread slot whose worker has not been started. */
  Unused = 4,
}

export function align8(n: number): number {
  return (n + 7) & ~7;
}

export function isPowerOfTwo(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}
