// system.stats() as Prometheus text exposition (version 0.0.4): one sample per thread per
// metric, labelled by thread, so a scraper sees how the work spreads over the cores.

import type { SystemStats, ThreadStats } from './stats.js';

interface Metric {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  readonly value: (t: ThreadStats) => number;
}

const METRICS: readonly Metric[] = [
  { name: 'troupe_messages_accepted_total', help: 'User messages accepted for delivery (tell and ask), by sending thread.', type: 'counter', value: (t) => t.accepted },
  { name: 'troupe_messages_handled_total', help: 'Messages handled (completed or failed), by handling thread.', type: 'counter', value: (t) => t.handled },
  { name: 'troupe_messages_failed_total', help: 'Messages whose handler threw or rejected.', type: 'counter', value: (t) => t.failed },
  { name: 'troupe_dead_letters_total', help: 'Dead letters raised on the thread.', type: 'counter', value: (t) => t.deadLetters },
  { name: 'troupe_messages_rejected_total', help: 'Tells and asks refused because a bounded mailbox was full, by sending thread.', type: 'counter', value: (t) => t.rejected },
  { name: 'troupe_messages_duplicate_total', help: 'Tells dropped by dedup, by receiving thread.', type: 'counter', value: (t) => t.duplicates },
  { name: 'troupe_records_in_total', help: 'Ring records read by the thread.', type: 'counter', value: (t) => t.messagesIn },
  { name: 'troupe_records_out_total', help: 'Ring records written by the thread.', type: 'counter', value: (t) => t.messagesOut },
  { name: 'troupe_records_spilled_total', help: 'Records that waited in a sender-side spill queue (a ring was full).', type: 'counter', value: (t) => t.spilled },
  { name: 'troupe_spill_bytes', help: 'Bytes waiting in the thread\'s sender-side spills (its rings were full).', type: 'gauge', value: (t) => t.spillBytes },
  { name: 'troupe_longest_turn_ms', help: 'The longest scheduler slice on the thread so far.', type: 'gauge', value: (t) => t.longestTurnMs },
  { name: 'troupe_unhandled_rejections_total', help: 'Promises rejected with no handler on a worker thread (counted, not fatal).', type: 'counter', value: (t) => t.unhandledRejections },
  { name: 'troupe_actors', help: 'Live actors hosted on the thread.', type: 'gauge', value: (t) => t.actors },
  { name: 'troupe_ring_bytes_used', help: 'Bytes waiting in the rings into the thread.', type: 'gauge', value: (t) => t.ringBytesUsed },
  { name: 'troupe_custody_bytes', help: 'Bytes in the thread\'s custody log: what it took from its rings and has not finished.', type: 'gauge', value: (t) => t.custodyBytes },
  { name: 'troupe_messages_unkept_total', help: 'Messages a worker took while its custody log was full (they would die with it).', type: 'counter', value: (t) => t.unkept },
  { name: 'troupe_busy_ratio', help: 'Share of wall time spent in scheduler turns since the thread started.', type: 'gauge', value: (t) => t.busyRatio },
  { name: 'troupe_thread_alive', help: '1 while the thread runs, 0 while it is dead (until its replacement runs).', type: 'gauge', value: (t) => (t.alive ? 1 : 0) },
  { name: 'troupe_thread_replacements_total', help: 'Times the thread died and was replaced.', type: 'counter', value: (t) => t.replaced },
];

export function metricsText(stats: SystemStats): string {
  const lines: string[] = [];
  for (const metric of METRICS) {
    lines.push(`# HELP ${metric.name} ${metric.help}`, `# TYPE ${metric.name} ${metric.type}`);
    for (const t of stats.threads) lines.push(`${metric.name}{thread="${t.thread}"} ${metric.value(t)}`);
  }
  return `${lines.join('\n')}\n`;
}
