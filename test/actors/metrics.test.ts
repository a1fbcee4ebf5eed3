import { describe, expect, it } from 'vitest';
import { Recorder } from '../fixtures/actors.js';
import { useSystem } from '../support/system.js';

const systems = useSystem();

describe('metrics', () => {
  it('exposes the per-thread counters in Prometheus text format', async () => {
    const system = await systems.start({ threads: 2 });
    const recorder = system.spawn(Recorder, undefined, { placement: { thread: 2 } });
    for (let i = 0; i < 41; i++) recorder.tell('record', i);
    expect(await recorder.ask('count')).toBe(41);
    const text = system.metricsText();
    expect(text).toContain('# TYPE troupe_messages_handled_total counter');
    expect(text).toContain('troupe_messages_handled_total{thread="2"} 42');
    expect(text).toContain('troupe_messages_accepted_total{thread="0"} 42');
    expect(text).toContain('troupe_actors{thread="2"} 1');
    expect(text).toContain('troupe_thread_alive{thread="1"} 1');
    expect(text).toContain('troupe_thread_replacements_total{thread="1"} 0');
    // Every sample line is `name{thread="n"} number`, every metric has HELP and TYPE.
    for (const line of text.trim().split('\n')) {
      expect(line).toMatch(/^(# (HELP|TYPE) troupe_\w+ .+|troupe_\w+\{thread="\d+"\} -?[\d.e+-]+)$/);
    }
    const names = new Set(text.split('\n').filter((l) => l.startsWith('troupe_')).map((l) => l.split('{')[0]));
    for (const name of names) {
      expect(text).toContain(`# HELP ${name} `);
      expect(text).toContain(`# TYPE ${name} `);
    }
  });

  it('delivers periodic snapshots until unsubscribed', async () => {
    const system = await systems.start({ threads: 1 });
    const snapshots: number[] = [];
    const stop = await new Promise<() => void>((resolve) => {
      const unsubscribe = system.statsEvery(5, (s) => {
        snapshots.push(s.threads.length);
        if (snapshots.length === 3) resolve(unsubscribe);
      });
    });
    stop();
    const count = snapshots.length;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(snapshots.length).toBe(count);
    expect(snapshots.every((n) => n === 2)).toBe(true);
  });
});
