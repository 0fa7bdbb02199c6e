/**
 * Prometheus families for decisions, named as envoyproxy/ratelimit's stats look through the
 * statsd exporter (`ratelimit_service_rate_limit_<counter>{domain, key}`), so existing dashboards
 * and alerts keep working. The counters are read from DecisionStats at scrape time; the latency
 * histograms are fed per request through PullHistogram's plain arrays.
 */
import { Counter, type Registry } from 'prom-client';
import type { DecisionObserver, DecisionSource, RequestOutcome, ShedReason } from '../service/decision-observer.js';
import { DecisionStats, type DecisionStatsOptions, type DomainTotals } from './decision-stats.js';
import { LIMIT_COUNTERS, type LimitCounter } from './limit-counts.js';
import { type HistogramSeries, PullHistogram } from './pull-histogram.js';
import { GRPC_METHOD } from './reference-call-metrics.js';

/**
 * The reference's mapping names no buckets for its response-time histogram, so it gets the statsd
 * exporter's defaults (Prometheus' DefBuckets); kept so its dashboards' quantiles read the same.
 */
const REFERENCE_RESPONSE_TIME_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Seconds: from a local-cache answer (µs) to a Redis call near its timeout. */
export const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

const LIMIT_HELP: Record<LimitCounter, string> = {
  total_hits: 'Hits (hits_addend) that reached the limit.',
  over_limit: 'Hits over the limit.',
  near_limit: 'Hits above NEAR_LIMIT_RATIO of the limit, up to the limit.',
  within_limit: 'Hits of requests the limit allowed.',
  shadow_mode: 'Hits over a shadow-mode limit (reported OK).',
  over_limit_with_local_cache: 'Hits denied by the local over-limit cache without asking the store.',
};

/** rateguard_requests_total's `result` label for each DomainTotals field it counts. */
const RESULTS: readonly [string, keyof DomainTotals][] = [
  ['allowed', 'allowed'],
  ['over_limit', 'overLimit'],
  ['shadow_over_limit', 'shadowOverLimit'],
];

/**
 * The reference's Prometheus mapping (and Envoy Gateway's dashboards) split the key path: its first
 * level in `key1`, the rest in `key2`. `key` keeps the whole path for rateguard's own queries.
 */
function limitLabels(domain: string, key: string): { domain: string; key: string; key1: string; key2: string } {
  const dot = key.indexOf('.');
  return dot < 0 ? { domain, key, key1: key, key2: '' } : { domain, key, key1: key.slice(0, dot), key2: key.slice(dot + 1) };
}

function registerLimitCounters(registry: Registry, stats: DecisionStats): void {
  for (const name of LIMIT_COUNTERS) {
    new Counter({
      name: `ratelimit_service_rate_limit_${name}`,
      help: LIMIT_HELP[name],
      labelNames: ['domain', 'key', 'key1', 'key2'],
      registers: [registry],
      // prom-client counters cannot be set: rebuilt from the stats at each scrape.
      collect() {
        this.reset();
        for (const limit of stats.limitTotals()) this.inc(limitLabels(limit.domain, limit.key), limit.counts[name]);
      },
    });
  }
}

function registerRequestCounters(registry: Registry, stats: DecisionStats): void {
  new Counter({
    name: 'rateguard_requests_total',
    help: 'Decided ShouldRateLimit requests by domain and result.',
    labelNames: ['domain', 'result'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [domain, totals] of stats.domainTotals()) {
        for (const [result, field] of RESULTS) this.inc({ domain, result }, totals[field]);
      }
    },
  });
  new Counter({
    name: 'ratelimit_service_rate_limit_domain_not_found',
    help: "Requests for a domain the config does not have (the reference's <domain>.domain_not_found).",
    labelNames: ['domain'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [domain, totals] of stats.domainTotals()) if (totals.domainNotFound > 0) this.inc({ domain }, totals.domainNotFound);
    },
  });
  new Counter({
    name: 'rateguard_failure_mode_decisions_total',
    help: 'Requests decided by the failure mode while the store was unavailable.',
    labelNames: ['domain'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [domain, totals] of stats.domainTotals()) this.inc({ domain }, totals.failureMode);
    },
  });
}

export interface DecisionMetrics extends DecisionObserver {
  readonly stats: DecisionStats;
}

/**
 * Registers the decision families on `registry` and returns the observer that feeds them (pass it
 * to the service, or to `rateLimiter({ metrics })`). Call once per registry.
 */
export function registerDecisionMetrics(registry: Registry, options: DecisionStatsOptions): DecisionMetrics {
  const stats = new DecisionStats(options);
  registerLimitCounters(registry, stats);
  registerRequestCounters(registry, stats);
  const latency = new PullHistogram({
    name: 'rateguard_should_rate_limit_duration_seconds',
    help: 'Time to decide one ShouldRateLimit request, by what decided it (store, local_cache, failure_mode).',
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const latencyBySource: Record<DecisionSource, HistogramSeries> = {
    store: latency.labels({ source: 'store' }),
    local_cache: latency.labels({ source: 'local_cache' }),
    failure_mode: latency.labels({ source: 'failure_mode' }),
  };
  const responseTime = new PullHistogram({
    name: 'ratelimit_service_response_time_seconds',
    help: "Time to decide one ShouldRateLimit request, in seconds (the reference's ratelimit_server.ShouldRateLimit.response_time; its buckets).",
    buckets: REFERENCE_RESPONSE_TIME_BUCKETS,
    registers: [registry],
  }).labels({ grpc_method: GRPC_METHOD });
  const overload = new Counter({
    name: 'rateguard_overload_total',
    help: 'Calls shed without a decision because this process was overloaded: in_flight (too many decisions waiting on the store), deadline (the caller had given up).',
    labelNames: ['reason'],
    registers: [registry],
  });
  const shedBy: Record<ShedReason, { inc(): void }> = {
    in_flight: overload.labels({ reason: 'in_flight' }),
    deadline: overload.labels({ reason: 'deadline' }),
  };
  for (const reason of Object.keys(shedBy) as ShedReason[]) overload.inc({ reason }, 0);
  const globalShadow = new Counter({
    name: 'ratelimit_service_global_shadow_mode',
    help: 'Requests answered OK only because of global shadow mode (SHADOW_MODE): some descriptor was over its limit.',
    registers: [registry],
  });
  return {
    stats,
    observe(outcome: RequestOutcome) {
      stats.observe(outcome);
      latencyBySource[outcome.source].observe(outcome.durationSeconds);
      responseTime.observe(outcome.durationSeconds);
      if (outcome.globalShadowOverLimit === true) globalShadow.inc();
    },
    shed(reason: ShedReason) {
      shedBy[reason].inc();
    },
    // The reference times every call, failed ones too.
    undecided(durationSeconds: number) {
      responseTime.observe(durationSeconds);
    },
  };
}
