/**
 * PullHistogram (src/observe/pull-histogram.ts) stands in for prom-client's Histogram: fed the same
 * values, its exposition is prom-client's, byte for byte, in text and in JSON.
 */
import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { PullHistogram } from '../../src/observe/pull-histogram.js';

const buckets = [0.001, 0.01, 0.1, 1];
const values = [0.0005, 0.001, 0.002, 0.05, 0.1, 0.5, 3, 0.0001, 1];

function both() {
  const theirs = new Registry();
  const ours = new Registry();
  const reference = new Histogram({ name: 'h_seconds', help: 'a help text', labelNames: ['source'], buckets, registers: [theirs] });
  const pulled = new PullHistogram({ name: 'h_seconds', help: 'a help text', buckets, registers: [ours] });
  return { theirs, ours, reference, pulled };
}

describe('PullHistogram', () => {
  it('exposes what prom-client exposes for the same observations, by label set, in text and JSON', async () => {
    const { theirs, ours, reference, pulled } = both();
    const store = pulled.labels({ source: 'store' });
    const cache = pulled.labels({ source: 'local_cache' });
    pulled.labels({ source: 'failure_mode' }); // never observed: not shown, as in prom-client
    values.forEach((value, i) => {
      const source = i % 3 === 0 ? 'local_cache' : 'store';
      reference.observe({ source }, value);
      (source === 'store' ? store : cache).observe(value);
    });
    const text = await theirs.metrics();
    expect(text).toContain('h_seconds_bucket{le="0.01",source="store"} 3');
    expect(await ours.metrics()).toBe(text);
    // prom-client adds `exemplar: null` to its bucket lines; exemplars are off, so there are none to show.
    const withoutExemplars = (metrics: Awaited<ReturnType<Registry['getMetricsAsJSON']>>) =>
      metrics.map((metric) => ({ ...metric, values: metric.values.map(({ exemplar: _, ...value }: Record<string, unknown>) => value) }));
    expect(await ours.getMetricsAsJSON()).toStrictEqual(withoutExemplars(await theirs.getMetricsAsJSON()));
  });

  it('shows nothing before a first observation, and reset() empties it', async () => {
    const { theirs, ours, reference, pulled } = both();
    const series = pulled.labels({ source: 'store' });
    expect(await ours.metrics()).toBe(await theirs.metrics());
    series.observe(0.2);
    reference.observe({ source: 'store' }, 0.2);
    expect(await ours.metrics()).toBe(await theirs.metrics());
    ours.resetMetrics();
    theirs.resetMetrics();
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await ours.metrics()).not.toContain('h_seconds_count');
  });
});
