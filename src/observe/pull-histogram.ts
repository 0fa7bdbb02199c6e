/**
 * A Prometheus histogram whose hot path is a few array writes, read by prom-client's Registry at
 * scrape time (it asks any registered metric for `get()`). prom-client's own Histogram checks and
 * hashes the labels on every observe, a bound child's too: the two histograms a decision feeds were
 * about 4% of the memory sidecar's CPU under load (docs/benchmarks.md, "Where the time goes").
 * The exposition is prom-client's, line for line: `_bucket` with `le` first, then `_sum`, `_count`.
 */
import type { Registry } from 'prom-client';

/** One exposed line, in the shape prom-client's Registry formats. */
interface ExposedValue {
  readonly labels: Readonly<Record<string, string | number>>;
  readonly sharedLabels?: Readonly<Record<string, string>>;
  readonly value: number;
  readonly metricName: string;
}

interface ExposedMetric {
  readonly name: string;
  readonly help: string;
  readonly type: 'histogram';
  readonly aggregator: 'sum';
  readonly values: readonly ExposedValue[];
}

export interface PullHistogramOptions {
  readonly name: string;
  readonly help: string;
  /** Upper bounds, ascending (+Inf is implied). */
  readonly buckets: readonly number[];
  readonly registers: readonly Registry[];
}

/** One label set's series: counts per bucket (not cumulative), sum and count. */
export interface HistogramSeries {
  observe(value: number): void;
}

class Series implements HistogramSeries {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    private readonly bounds: readonly number[],
    readonly labels: Readonly<Record<string, string>>,
    private readonly onFirstObservation: (series: Series) => void,
  ) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    if (this.count === 0) this.onFirstObservation(this);
    this.sum += value;
    this.count += 1;
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        this.counts[i]! += 1;
        return;
      }
    }
  }
}

export class PullHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  private readonly bounds: readonly number[];
  /** The observed series, in the order of their first observation (prom-client's order). */
  private readonly series: Series[] = [];
  private readonly shown = (series: Series) => {
    if (!this.series.includes(series)) this.series.push(series);
  };

  constructor(options: PullHistogramOptions) {
    this.name = options.name;
    this.help = options.help;
    this.bounds = [...options.buckets];
    // The Registry reads a metric through name, help, type, get() and reset(): prom-client's Metric class adds nothing it needs.
    for (const registry of options.registers) registry.registerMetric(this as never);
  }

  /**
   * The series of one label set, created now and shown from its first observation on (as prom-client
   * shows a label set). Call once per label set and keep it: this is not the hot path.
   */
  labels(labels: Readonly<Record<string, string>>): HistogramSeries {
    return new Series(this.bounds, { ...labels }, this.shown);
  }

  /** What the text exposition reads: each series' labels kept apart, as prom-client keeps them. */
  getForPromString(): ExposedMetric {
    const values: ExposedValue[] = [];
    const bucketName = `${this.name}_bucket`;
    for (const series of this.series) {
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += series.counts[i]!;
        values.push(this.value({ le: this.bounds[i]! }, cumulative, bucketName, series));
      }
      values.push(this.value({ le: '+Inf' }, series.count, bucketName, series));
      values.push(this.value({}, series.sum, `${this.name}_sum`, series));
      values.push(this.value({}, series.count, `${this.name}_count`, series));
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** What `getMetricsAsJSON` reads: each value's labels in one object. */
  get(): ExposedMetric {
    const exposed = this.getForPromString();
    return {
      ...exposed,
      values: exposed.values.map(({ labels, sharedLabels, value, metricName }) => ({ labels: { ...labels, ...sharedLabels }, value, metricName })),
    };
  }

  reset(): void {
    for (const series of this.series.splice(0)) {
      series.counts.fill(0);
      series.sum = 0;
      series.count = 0;
    }
  }

  /** prom-client's shape: the series' own labels as `sharedLabels`, written after `le`. */
  private value(labels: Readonly<Record<string, string | number>>, value: number, metricName: string, series: Series): ExposedValue {
    return { labels, sharedLabels: series.labels, value, metricName };
  }
}
