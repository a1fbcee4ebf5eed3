// troupe/prometheus: troupe's metrics in a prom-client registry, the same families as
// system.metricsText(), read from system.stats() when the registry is scraped (one snapshot per
// scrape). The third door of the package (package.json exports "./prometheus"): prom-client is
// an optional peer dependency, and only this door loads it.

import { Counter, Gauge, register, type Metric, type Registry, type RegistryContentType } from 'prom-client';
import type { ActorSystem, SystemStats } from '../index.js';
import { METRIC_FAMILIES, type MetricFamily } from '../actors/metrics.js';
import { invalid, validateKeys, validateObject } from '../validate.js';

export interface RegisterMetricsOptions {
  /** The registry to register in: prom-client's global one (`register`) by default. */
  readonly registry?: Registry<RegistryContentType>;
  /** Put before every name (`'app_'` gives `app_troupe_actors`); none by default. */
  readonly prefix?: string;
}

/** A metric name's start, as Prometheus allows it. */
const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/**
 * Registers troupe's metrics in a prom-client registry; returns the function that unregisters
 * them. A name the registry already holds is refused (InvalidArgumentError) before anything is
 * registered: unregister first, or register under another prefix.
 */
export function registerMetrics(system: ActorSystem, options: RegisterMetricsOptions = {}): () => void {
  if (typeof (system as Partial<ActorSystem> | null)?.stats !== 'function') throw invalid('registerMetrics(system)', 'an ActorSystem', system);
  validateObject(options, 'options');
  validateKeys(options, 'options', ['registry', 'prefix']);
  const prefix = options.prefix ?? '';
  if (typeof prefix !== 'string' || (prefix !== '' && !NAME.test(prefix))) throw invalid('options.prefix', 'a metric name prefix (letters, digits, _ and :, not starting with a digit)', prefix);
  const registry = options.registry ?? register;
  if (typeof (registry as Partial<Registry> | null)?.registerMetric !== 'function') throw invalid('options.registry', 'a prom-client Registry', String(registry));
  const names = METRIC_FAMILIES.map((family) => prefix + family.name);
  const taken = names.find((name) => registry.getSingleMetric(name) !== undefined);
  if (taken !== undefined) throw invalid('options.prefix', `a prefix under which the registry holds none of troupe's metrics (it holds ${taken})`, prefix);
  const snapshot = oncePerScrape(system);
  const metrics = METRIC_FAMILIES.map((family, i) => collected(family, names[i]!, snapshot));
  for (const metric of metrics) registry.registerMetric(metric);
  return () => {
    // By the names registered: an OpenMetrics scrape renames a counter object (drops `_total`).
    names.forEach((name, i) => {
      if (registry.getSingleMetric(name) === metrics[i]) registry.removeSingleMetric(name);
    });
  };
}

/** system.stats(), read once for every metric collected in the same synchronous run (one scrape). */
function oncePerScrape(system: ActorSystem): () => SystemStats {
  let stats: SystemStats | null = null;
  return () => {
    if (stats === null) {
      stats = system.stats();
      queueMicrotask(() => (stats = null));
    }
    return stats;
  };
}

/**
 * A family as a prom-client metric. Counters and gauges are prom-client's own, filled by their
 * collect callback at scrape time. prom-client's Histogram can only observe values one by one,
 * and these are counted already: a histogram is a metric object whose get() returns its samples.
 */
function collected(family: MetricFamily, name: string, snapshot: () => SystemStats): Metric {
  const labelNames = [...family.labelNames];
  if (family.type === 'counter') {
    return new Counter({
      name,
      help: family.help,
      labelNames,
      registers: [],
      collect(this: Counter) {
        this.reset();
        for (const sample of family.samples(snapshot())) this.inc(sample.labels, sample.value);
      },
    });
  }
  if (family.type === 'gauge') {
    return new Gauge({
      name,
      help: family.help,
      labelNames,
      registers: [],
      collect(this: Gauge) {
        this.reset();
        for (const sample of family.samples(snapshot())) this.set(sample.labels, sample.value);
      },
    });
  }
  const histogram = {
    name,
    help: family.help,
    type: 'histogram',
    aggregator: 'sum',
    get: () => {
      const values = family.samples(snapshot()).map((sample) => ({ metricName: name + sample.suffix, labels: sample.labels, value: sample.value }));
      return Promise.resolve({ name: histogram.name, help: family.help, type: 'histogram', aggregator: 'sum', values });
    },
    reset: () => {}, // nothing kept here: the counts live in shared memory
  };
  return histogram as unknown as Metric;
}
