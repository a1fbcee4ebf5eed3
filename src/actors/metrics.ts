// system.stats() as Prometheus metric families: labelled by thread, so a scraper sees how the work
// spreads over the cores. metricsText() writes them as text exposition (version 0.0.4);
// troupe/prometheus (prometheus/index.ts) registers the same families in a prom-client registry.
// Times are in seconds, as histograms: cumulative `_bucket{le}` up to `+Inf`, `_sum`, `_count`.

import type { DurationHistogram } from '../runtime/histogram.js';
import { SAMPLE_EVERY } from './cell/mailbox-wait.js';
import { DEAD_LETTER_REASONS } from './dead-letter-reasons.js';
import type { SystemStats, ThreadStats } from './stats.js';

export type MetricType = 'counter' | 'gauge' | 'histogram';

/** One line of a family: its name is the family's plus `suffix`. */
export interface Sample {
  readonly suffix: '' | '_bucket' | '_sum' | '_count';
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface MetricFamily {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  /** Its labels (a histogram's `le` not included), `thread` first. */
  readonly labelNames: readonly string[];
  samples(stats: SystemStats): Sample[];
}

/** A family with one sample per thread. */
function perThread(name: string, help: string, type: 'counter' | 'gauge', value: (t: ThreadStats) => number): MetricFamily {
  return { name, help, type, labelNames: ['thread'], samples: (stats) => stats.threads.map((t) => ({ suffix: '', labels: { thread: `${t.thread}` }, value: value(t) })) };
}

/** A histogram's samples under `labels`: its buckets, cumulative, then +Inf, sum and count. */
function histogram(labels: Readonly<Record<string, string>>, h: DurationHistogram): Sample[] {
  const samples: Sample[] = h.bounds.map((le, i) => ({ suffix: '_bucket', labels: { ...labels, le: `${le}` }, value: h.counts[i]! }));
  samples.push({ suffix: '_bucket', labels: { ...labels, le: '+Inf' }, value: h.count }, { suffix: '_sum', labels, value: h.sum }, { suffix: '_count', labels, value: h.count });
  return samples;
}

const ASK_OUTCOMES = ['ok', 'error', 'timeout'] as const;

export const METRIC_FAMILIES: readonly MetricFamily[] = [
  perThread('troupe_messages_accepted_total', 'User messages accepted for delivery (tell and ask), by sending thread.', 'counter', (t) => t.accepted),
  perThread('troupe_messages_handled_total', 'Messages handled (completed or failed), by handling thread.', 'counter', (t) => t.handled),
  perThread('troupe_messages_failed_total', 'Messages whose handler threw or rejected.', 'counter', (t) => t.failed),
  {
    name: 'troupe_dead_letters_total',
    help: 'Dead letters raised on the thread, by reason.',
    type: 'counter',
    labelNames: ['thread', 'reason'],
    samples: (stats) => stats.threads.flatMap((t) => DEAD_LETTER_REASONS.map((reason) => ({ suffix: '' as const, labels: { thread: `${t.thread}`, reason }, value: t.deadLettersByReason[reason] }))),
  },
  perThread('troupe_messages_rejected_total', 'Tells and asks refused because a bounded mailbox was full, by sending thread.', 'counter', (t) => t.rejected),
  perThread('troupe_messages_duplicate_total', 'Tells dropped by dedup, by receiving thread.', 'counter', (t) => t.duplicates),
  {
    name: 'troupe_thread_messages_total',
    help: 'User messages the thread wrote into its ring to thread `to` (the traffic between threads).',
    type: 'counter',
    labelNames: ['thread', 'to'],
    samples: (stats) => stats.traffic.messages.flatMap((row, from) => row.flatMap((value, to) => (from === to ? [] : [{ suffix: '' as const, labels: { thread: `${from}`, to: `${to}` }, value }]))),
  },
  perThread('troupe_records_in_total', 'Ring records read by the thread.', 'counter', (t) => t.messagesIn),
  perThread('troupe_records_out_total', 'Ring records written by the thread.', 'counter', (t) => t.messagesOut),
  perThread('troupe_records_spilled_total', 'Records that waited in a sender-side spill queue (a ring was full).', 'counter', (t) => t.spilled),
  perThread('troupe_spill_bytes', "Bytes waiting in the thread's sender-side spills (its rings were full).", 'gauge', (t) => t.spillBytes),
  perThread('troupe_longest_turn_ms', 'The longest scheduler slice on the thread so far.', 'gauge', (t) => t.longestTurnMs),
  perThread('troupe_unhandled_rejections_total', 'Promises rejected with no handler on a worker thread (counted, not fatal).', 'counter', (t) => t.unhandledRejections),
  perThread('troupe_actors', 'Live actors hosted on the thread.', 'gauge', (t) => t.actors),
  perThread('troupe_ring_bytes_used', 'Bytes waiting in the rings into the thread.', 'gauge', (t) => t.ringBytesUsed),
  perThread('troupe_custody_bytes', "Bytes in the thread's custody log: what it took from its rings and has not finished.", 'gauge', (t) => t.custodyBytes),
  perThread('troupe_messages_unkept_total', 'Messages a worker took while its custody log was full (they would die with it).', 'counter', (t) => t.unkept),
  perThread('troupe_busy_ratio', 'Share of wall time spent in scheduler turns since the thread started.', 'gauge', (t) => t.busyRatio),
  perThread('troupe_thread_alive', '1 while the thread runs, 0 while it is dead (until its replacement runs).', 'gauge', (t) => (t.alive ? 1 : 0)),
  perThread('troupe_thread_replacements_total', 'Times the thread died and was replaced.', 'counter', (t) => t.replaced),
  perThread('troupe_restarts_total', 'Restarts of actors hosted on the thread (each incarnation after the first).', 'counter', (t) => t.restarts),
  perThread('troupe_late_wakes_total', 'Times the thread was found asleep with messages waiting, and woken (a missed wake-up: a bug in troupe).', 'counter', (t) => t.lateWakes),
  perThread('troupe_actors_moved_out_total', 'Actors that moved from the thread to another.', 'counter', (t) => t.movedOut),
  perThread('troupe_actors_moved_in_total', 'Actors that moved to the thread from another.', 'counter', (t) => t.movedIn),
  {
    name: 'troupe_ask_duration_seconds',
    help: 'Asks made on the thread, from the ask to its settling, by outcome (ok, error, timeout).',
    type: 'histogram',
    labelNames: ['thread', 'outcome'],
    samples: (stats) => stats.threads.flatMap((t) => ASK_OUTCOMES.flatMap((outcome) => histogram({ thread: `${t.thread}`, outcome }, t.askDuration[outcome]))),
  },
  {
    name: 'troupe_mailbox_wait_seconds',
    help: `Time from a message waking an idle actor (arriving in its empty mailbox) to its handler starting: how far behind the thread is. Sampled: one wake-up in ${SAMPLE_EVERY} on the thread.`,
    type: 'histogram',
    labelNames: ['thread'],
    samples: (stats) => stats.threads.flatMap((t) => histogram({ thread: `${t.thread}` }, t.mailboxWait)),
  },
];

export function metricsText(stats: SystemStats): string {
  const lines: string[] = [];
  for (const family of METRIC_FAMILIES) {
    lines.push(`# HELP ${family.name} ${family.help}`, `# TYPE ${family.name} ${family.type}`);
    for (const sample of family.samples(stats)) {
      const labels = Object.entries(sample.labels).map(([name, value]) => `${name}="${value}"`);
      lines.push(`${family.name}${sample.suffix}{${labels.join(',')}} ${sample.value}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
