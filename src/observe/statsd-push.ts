/**
 * envoyproxy/ratelimit's stats pushed to statsd (TCP) or a Datadog agent (UDP). Nothing is counted
 * twice: at each flush the pushed counters are the change since the last flush of the numbers the
 * Prometheus families already show (DecisionStats, gRPC codes, config loads), so statsd and
 * `/metrics` agree and memory is bounded by the same bounds. Only response times are sampled per
 * call, into a fixed-size reservoir. Sending is fire-and-forget on a timer: a slow or absent
 * statsd never delays a decision.
 */
import type { DecisionStats } from './decision-stats.js';
import { LIMIT_COUNTERS } from './limit-counts.js';
import { type CallCountSources, shouldRateLimitErrors } from './reference-call-metrics.js';
import { formatLine, type StatLine } from './statsd-format.js';
import { type StatsdTransport, tcpTransport, udpTransport } from './statsd-transport.js';

export interface StatsdOptions {
  readonly host: string;
  readonly port: number;
  readonly flushIntervalMs: number;
  /** Added to every stat. */
  readonly extraTags: Readonly<Record<string, string>>;
  /** DogStatsD (over UDP): per-limit stats carry the domain and key path as tags instead of in the name. */
  readonly dogStatsd: boolean;
}

/** Cumulative counts the flush turns into deltas. */
export interface StatsdSources {
  readonly stats: DecisionStats;
  /** The call counts (the same the Prometheus call families read). */
  readonly calls: CallCountSources;
  readonly configLoads: () => { readonly success: number; readonly error: number };
}

/** Response times kept per flush; more are sampled down (sent with statsd's `@rate`). */
const RESERVOIR_SIZE = 1000;

const RATE_LIMIT_PREFIX = 'ratelimit.service.rate_limit';
const CALL_PREFIX = 'ratelimit.service.call.should_rate_limit';
const SERVER_PREFIX = 'ratelimit_server.ShouldRateLimit';

export class StatsdPush {
  private readonly transport: StatsdTransport;
  private readonly timer: NodeJS.Timeout;
  /** What each cumulative count was at the last flush, by stat name (plus tags). */
  private readonly sent = new Map<string, number>();
  private readonly responseMs = new Float64Array(RESERVOIR_SIZE);
  private responsesSeen = 0;
  private closed = false;

  constructor(
    private readonly sources: StatsdSources,
    private readonly options: StatsdOptions,
    /** Told about send failures (over UDP, no statsd listening is not one: UDP does not know). */
    onError: (error: Error) => void = () => undefined,
  ) {
    this.transport = (options.dogStatsd ? udpTransport : tcpTransport)(options, onError);
    this.timer = setInterval(() => void this.flush(), options.flushIntervalMs).unref();
  }

  /** Algorithm R: every response time of a flush interval is kept with the same probability. */
  recordResponseTime(seconds: number): void {
    const seen = this.responsesSeen++;
    const slot = seen < RESERVOIR_SIZE ? seen : Math.floor(Math.random() * (seen + 1));
    if (slot < RESERVOIR_SIZE) this.responseMs[slot] = seconds * 1000;
  }

  /** Sends what changed since the last flush. */
  async flush(): Promise<void> {
    const lines = [...this.limitLines(), ...(await this.serviceLines()), ...this.responseTimeLines()].map((line) =>
      formatLine({ ...line, tags: { ...this.options.extraTags, ...line.tags } }, this.options.dogStatsd),
    );
    if (!this.closed) await this.transport.send(lines);
  }

  /** A last flush, then the socket closes. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    this.closed = true;
    await this.transport.close();
  }

  /** A counter line for the change of `total` since the last flush, or none when it did not change. */
  private delta(name: string, total: number, tags?: Record<string, string>): StatLine[] {
    const id = tags === undefined ? name : `${name}|${tags.domain}|${tags.descriptor}`;
    const change = total - (this.sent.get(id) ?? 0);
    this.sent.set(id, total);
    return change === 0 ? [] : [{ name, value: change, type: 'c', ...(tags === undefined ? {} : { tags }) }];
  }

  private limitLines(): StatLine[] {
    const lines: StatLine[] = [];
    for (const { domain, key, counts } of this.sources.stats.limitTotals()) {
      for (const stat of LIMIT_COUNTERS) {
        if (this.options.dogStatsd) lines.push(...this.delta(`${RATE_LIMIT_PREFIX}.${stat}`, counts[stat], { domain, descriptor: key }));
        else lines.push(...this.delta(`${RATE_LIMIT_PREFIX}.${domain}.${key}.${stat}`, counts[stat]));
      }
    }
    return lines;
  }

  private async serviceLines(): Promise<StatLine[]> {
    const calls = await this.sources.calls.callsByCode();
    let total = 0;
    for (const count of calls.values()) total += count;
    const domainNotFound: StatLine[] = [];
    for (const [domain, totals] of this.sources.stats.domainTotals()) {
      if (this.options.dogStatsd) domainNotFound.push(...this.delta(`${RATE_LIMIT_PREFIX}.domain_not_found`, totals.domainNotFound, { domain }));
      else domainNotFound.push(...this.delta(`${RATE_LIMIT_PREFIX}.${domain}.domain_not_found`, totals.domainNotFound));
    }
    // As the reference, a call Redis failed is a redis_error, whether answered UNAVAILABLE or by the failure mode.
    const errors = await shouldRateLimitErrors({ ...this.sources.calls, callsByCode: async () => calls });
    const loads = this.sources.configLoads();
    return [
      ...this.delta(`${SERVER_PREFIX}.total_requests`, total),
      ...this.delta(`${CALL_PREFIX}.redis_error`, errors.redis_error),
      ...this.delta(`${CALL_PREFIX}.service_error`, errors.service_error),
      ...this.delta('ratelimit.service.config_load_success', loads.success),
      ...this.delta('ratelimit.service.config_load_error', loads.error),
      ...domainNotFound,
    ];
  }

  private responseTimeLines(): StatLine[] {
    const kept = Math.min(this.responsesSeen, RESERVOIR_SIZE);
    const sampleRate = kept / Math.max(this.responsesSeen, 1);
    const lines: StatLine[] = [];
    for (let i = 0; i < kept; i++)
      lines.push({ name: `${SERVER_PREFIX}.response_time`, value: Math.round(this.responseMs[i]! * 1000) / 1000, type: 'ms', sampleRate });
    this.responsesSeen = 0;
    return lines;
  }
}

/** The push the settings ask for: `USE_DOG_STATSD` alone turns it on, as in the reference. */
export function statsdFromSettings(settings: {
  readonly useStatsd: boolean;
  readonly useDogStatsd: boolean;
  readonly statsdHost: string;
  readonly statsdPort: number;
  readonly statsFlushIntervalMs: number;
  readonly extraTags: Readonly<Record<string, string>>;
}): { statsd?: StatsdOptions } {
  if (!settings.useStatsd && !settings.useDogStatsd) return {};
  const { statsdHost: host, statsdPort: port, statsFlushIntervalMs: flushIntervalMs, extraTags, useDogStatsd: dogStatsd } = settings;
  return { statsd: { host, port, flushIntervalMs, extraTags, dogStatsd } };
}
