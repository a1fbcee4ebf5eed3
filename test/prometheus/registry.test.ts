import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Counter as PromCounter, Registry, register, type OpenMetricsContentType } from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
import { InvalidArgumentError } from 'troupe';
import { registerMetrics } from 'troupe/prometheus';
import { Flaky } from '../fixtures/actors.js';
import { Counter } from '../fixtures/counter.js';
import { useSystem } from '../support/system.js';
import { until } from '../support/wait.js';

const systems = useSystem();
const root = fileURLToPath(new URL('../..', import.meta.url));

/** Sample lines by name and labels: `name{labels}` -> value. */
function samples(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), line.slice(at + 1));
  }
  return out;
}

describe('registerMetrics', () => {
  it('registers the metrics of stats() in a prom-client registry, read when it is scraped, and unregisters them', async () => {
    const system = await systems.start({ threads: 1 });
    const registry = new Registry();
    const mine = new PromCounter({ name: 'app_requests_total', help: 'Requests.', registers: [registry] });
    mine.inc(3);
    const unregister = registerMetrics(system, { registry });
    // Traffic on both placements: an actor on main and one on the worker, a restart and a dead letter on each.
    for (const thread of [0, 1]) {
      const counter = system.spawn(Counter, { start: 0 }, { placement: { thread } });
      for (let i = 0; i < 5; i++) counter.tell('add', 1);
      expect(await counter.ask('get')).toBe(5);
      (counter as unknown as { tell(type: string): void }).tell('nothing-handles-this');
      const flaky = system.spawn(Flaky, undefined, { placement: { thread } });
      flaky.tell('fail');
      expect(await flaky.ask('log')).toEqual([]);
    }
    await until(() => system.stats().deadLetters === 2, 5000, 'two dead letters');

    const text = await registry.metrics();
    const s = system.stats();
    expect(text).toContain('app_requests_total 3');
    expect(text).toContain('# TYPE troupe_ask_duration_seconds histogram');
    for (const thread of [0, 1]) {
      const t = s.threads[thread]!;
      expect(text).toContain(`troupe_messages_handled_total{thread="${thread}"} ${t.handled}`);
      expect(text).toContain(`troupe_dead_letters_total{thread="${thread}",reason="unhandled"} 1`);
      expect(text).toContain(`troupe_restarts_total{thread="${thread}"} 1`);
      expect(text).toContain(`troupe_actors{thread="${thread}"} 2`);
      expect(text).toContain(`troupe_mailbox_wait_seconds_count{thread="${thread}"} ${t.mailboxWait.count}`);
    }
    expect(text).toContain(`troupe_ask_duration_seconds_count{thread="0",outcome="ok"} ${s.threads[0]!.askDuration.ok.count}`);
    expect(text).toContain(`troupe_ask_duration_seconds_bucket{thread="0",outcome="ok",le="+Inf"} ${s.threads[0]!.askDuration.ok.count}`);
    expect(text).toContain(`troupe_ask_duration_seconds_sum{thread="0",outcome="ok"} ${s.threads[0]!.askDuration.ok.sum}`);
    // The same samples as metricsText(), with the same values (but the busy ratio and the longest turn,
    // which move with the clock: the worker's next turn between the two reads may be its longest yet).
    const ours = samples(text);
    ours.delete('app_requests_total');
    const theirs = samples(system.metricsText());
    expect([...ours.keys()].sort()).toEqual([...theirs.keys()].sort());
    for (const [key, value] of theirs) if (!/^troupe_(busy_ratio|longest_turn_ms)/.test(key)) expect([key, ours.get(key)]).toEqual([key, value]);

    unregister();
    const after = await registry.metrics();
    expect(after).not.toContain('troupe_');
    expect(after).toContain('app_requests_total 3');
    unregister(); // twice: nothing more to do
  });

  it("registers in prom-client's global registry by default, under a prefix", async () => {
    const system = await systems.start({ threads: 1 });
    const unregister = registerMetrics(system, { prefix: 'app_' });
    try {
      expect(register.getSingleMetric('app_troupe_actors')).toBeDefined();
      expect(await register.metrics()).toContain('app_troupe_thread_alive{thread="1"} 1');
    } finally {
      unregister();
    }
    expect(register.getSingleMetric('app_troupe_actors')).toBeUndefined();
  });

  it('reads stats() once per scrape', async () => {
    const system = await systems.start({ threads: 1 });
    const registry = new Registry();
    const unregister = registerMetrics(system, { registry });
    const stats = vi.spyOn(system, 'stats');
    await registry.metrics();
    expect(stats).toHaveBeenCalledTimes(1);
    await registry.getMetricsAsJSON();
    expect(stats).toHaveBeenCalledTimes(2);
    unregister();
  });

  it('serves an OpenMetrics registry, and unregisters from it after a scrape', async () => {
    const system = await systems.start({ threads: 1 });
    const registry = new Registry<OpenMetricsContentType>();
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    const unregister = registerMetrics(system, { registry });
    const text = await registry.metrics();
    expect(text).toContain('# TYPE troupe_restarts counter');
    expect(text).toContain('troupe_restarts_total{thread="1"} 0');
    expect(text).toContain('troupe_mailbox_wait_seconds_bucket{thread="1",le="+Inf"} ');
    unregister();
    expect(registry.getMetricsAsArray()).toEqual([]);
  });

  it.each([
    ['no system', (_s: unknown) => registerMetrics(undefined as never), 'registerMetrics(system): expected an ActorSystem'],
    ['a bad prefix', (s: unknown) => registerMetrics(s as never, { prefix: '1x' }), 'options.prefix: expected a metric name prefix'],
    ['a misspelt option', (s: unknown) => registerMetrics(s as never, { registery: new Registry() } as never), 'options.registery'],
    ['no registry', (s: unknown) => registerMetrics(s as never, { registry: {} as never }), 'options.registry: expected a prom-client Registry'],
  ])('refuses %s with InvalidArgumentError', async (_what, call, message) => {
    const system = await systems.start({ threads: 1 });
    expect(() => call(system)).toThrow(InvalidArgumentError);
    expect(() => call(system)).toThrow(message);
  });

  it('refuses a registry that holds its names already, registering nothing', async () => {
    const system = await systems.start({ threads: 1 });
    const registry = new Registry();
    new PromCounter({ name: 'troupe_restarts_total', help: 'Someone else’s.', registers: [registry] });
    expect(() => registerMetrics(system, { registry })).toThrow(/options\.prefix: .*it holds troupe_restarts_total/);
    expect(registry.getMetricsAsArray()).toHaveLength(1);
    const unregister = registerMetrics(system, { registry, prefix: 'other_' });
    expect(registry.getSingleMetric('other_troupe_restarts_total')).toBeDefined();
    unregister();
  });

  it('is the only door that loads prom-client: importing troupe does not', () => {
    const dir = mkdtempSync(join(tmpdir(), 'troupe-doors-'));
    const loads = (door: string): string => {
      const file = join(dir, 'main.mjs');
      writeFileSync(
        file,
        `import { createRequire } from 'node:module';
        import { createSystem } from ${JSON.stringify(join(root, 'dist/index.js'))};
        await import(${JSON.stringify(join(root, door))});
        const system = await createSystem({ threads: 1 });
        system.metricsText();
        await system.shutdown();
        console.log(Object.keys(createRequire(import.meta.url).cache).some((path) => path.includes('prom-client')));`,
      );
      return execFileSync(process.execPath, [file], { encoding: 'utf8', timeout: 30_000 }).trim();
    };
    try {
      expect(loads('dist/testing/index.js')).toBe('false');
      expect(loads('dist/prometheus/index.js')).toBe('true'); // the check sees it when it is loaded
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
