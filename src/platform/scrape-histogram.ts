// A Prometheus histogram whose observations are plain array increments, rendered by prom-client's registry when
// /metrics is scraped. prom-client's own Histogram validates and hashes the label set on every observe(), which was
// ~2 % of a cached read's CPU (docs/performance.md); every request observes one duration. Same exposition:
// `<name>_bucket{…,le}` (cumulative), `<name>_sum`, `<name>_count`.
import type { MetricValueWithName, Registry } from 'prom-client';

interface Series {
  labels: Record<string, string>;
  /** counts[i]: observations in (bounds[i-1], bounds[i]]; the last slot is above every bound (+Inf). */
  counts: number[];
  sum: number;
}

export class ScrapeTimeHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as never);
  }

  /** `key` names the label set (callers build it from the same values); `labels` is called only for a new one. */
  observe(key: string, labels: () => Record<string, string>, value: number): void {
    let series = this.series.get(key);
    if (!series) {
      series = { labels: labels(), counts: new Array<number>(this.bounds.length + 1).fill(0), sum: 0 };
      this.series.set(key, series);
    }
    let slot = 0;
    while (slot < this.bounds.length && value > this.bounds[slot]!) slot += 1;
    series.counts[slot]! += 1;
    series.sum += value;
  }

  get(): { name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: Array<MetricValueWithName<string>> } {
    const values: Array<MetricValueWithName<string>> = [];
    for (const { labels, counts, sum } of this.series.values()) {
      let cumulative = 0;
      this.bounds.forEach((bound, i) => {
        cumulative += counts[i]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { le: bound, ...labels }, value: cumulative });
      });
      cumulative += counts[this.bounds.length]!;
      values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf', ...labels }, value: cumulative });
      values.push({ metricName: `${this.name}_sum`, labels, value: sum });
      values.push({ metricName: `${this.name}_count`, labels, value: cumulative });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.series.clear();
  }
}
