/**
 * Everything the sidecar measures, on one Prometheus registry: decisions (from the service's
 * DecisionObserver hook), config loads, Redis, gRPC status codes and the default process metrics.
 * `GET /metrics` serves `registry`; `/stats`, the dashboard and the statsd push read the same sources.
 */
import { status as grpcStatus } from '@grpc/grpc-js';
import { collectDefaultMetrics, Counter, Registry } from 'prom-client';
import type { ConfigEvent } from '../config/index.js';
import { type DecisionMetrics, registerDecisionMetrics } from './decision-metrics.js';
import type { DecisionStats } from './decision-stats.js';
import { type GrpcCallCounter, grpcCallCounter } from './grpc-metrics.js';
import type { CountingRules } from './limit-counts.js';
import type { Logger } from './logger.js';
import type { ServiceFailure } from '../service/rate-limit-service.js';
import { type CallCountSources, registerReferenceCallMetrics, type ShouldRateLimitErrors } from './reference-call-metrics.js';
import { RedisTelemetry } from './redis-telemetry.js';
import { type StatsdOptions, StatsdPush } from './statsd-push.js';

export interface ConfigLoads {
  success: number;
  error: number;
  /** The latest load or rejection, with where it came from and its version. */
  last:
    | {
        readonly type: ConfigEvent['type'];
        readonly reason: string;
        readonly source: ConfigEvent['source'];
        readonly version: string | undefined;
        readonly at: string;
      }
    | undefined;
}

/** Response times reach statsd per call; everything else it reads from the shared counts at flush. */
function withResponseTimes(metrics: DecisionMetrics, statsd: StatsdPush): DecisionMetrics {
  return {
    stats: metrics.stats,
    observe(outcome) {
      metrics.observe(outcome);
      statsd.recordResponseTime(outcome.durationSeconds);
    },
    shed: (reason) => metrics.shed?.(reason),
    undecided(durationSeconds) {
      metrics.undecided?.(durationSeconds);
      statsd.recordResponseTime(durationSeconds);
    },
  };
}

export class Observability {
  readonly registry = new Registry();
  readonly decisions: DecisionMetrics;
  /** Undefined when buckets live in memory: no Redis families then, rather than a misleading "up". */
  readonly redis: RedisTelemetry | undefined;
  /** Undefined unless `--statsd`. */
  readonly statsd: StatsdPush | undefined;
  readonly configLoads: ConfigLoads = { success: 0, error: 0, last: undefined };
  /** Counts one ShouldRateLimit call by its status code. */
  readonly grpcCallEnded: (code: number) => void;
  /** UNAVAILABLE answers before a first config: the reference counts "no config loaded" as a service error. */
  private unconfiguredCalls = 0;
  private readonly jsonErrors: { -readonly [K in keyof ShouldRateLimitErrors]: number } = { redis_error: 0, service_error: 0 };
  private readonly grpcCalls: GrpcCallCounter;
  private readonly loadCounters: Record<ConfigEvent['type'], Counter>;
  private readonly loadsBySource: Counter<'source' | 'outcome'>;

  constructor(rules: CountingRules, options: { readonly redis: boolean; readonly logger?: Logger; readonly statsd?: StatsdOptions }) {
    collectDefaultMetrics({ register: this.registry });
    const metrics = registerDecisionMetrics(this.registry, {
      ...rules,
      onOverflow: (kind, key) =>
        options.logger?.warn({ kind, firstFolded: key.slice(0, 200) }, `too many distinct ${kind}s: further ones are counted under "_other"`),
    });
    const calls: CallCountSources = {
      callsByCode: () => this.callsByCode(),
      failureModeDecisions: () => metrics.stats.failureModeDecisions(),
      unconfiguredCalls: () => this.unconfiguredCalls,
      jsonErrors: () => this.jsonErrors,
    };
    this.statsd = options.statsd === undefined ? undefined : this.startStatsd(metrics.stats, calls, options.statsd, options.logger);
    this.decisions = this.statsd === undefined ? metrics : withResponseTimes(metrics, this.statsd);
    this.redis = options.redis ? new RedisTelemetry(this.registry) : undefined;
    const grpcCalls = grpcCallCounter(this.registry, 'envoy.service.ratelimit.v3.RateLimitService', 'ShouldRateLimit');
    this.grpcCalls = grpcCalls;
    this.grpcCallEnded = (code) => {
      grpcCalls.count(code);
      // Before a first config every call is answered UNAVAILABLE without asking Redis.
      if (code === grpcStatus.UNAVAILABLE && this.configLoads.success === 0) this.unconfiguredCalls += 1;
    };
    registerReferenceCallMetrics(this.registry, calls);
    this.loadCounters = {
      loaded: new Counter({ name: 'ratelimit_service_config_load_success', help: 'Configs loaded (the first one included).', registers: [this.registry] }),
      rejected: new Counter({
        name: 'ratelimit_service_config_load_error',
        help: 'Configs rejected (the last good one, if one had loaded, kept serving).',
        registers: [this.registry],
      }),
    };
    // The reference's two counters have no labels; this one says which source (files or xDS) each came from.
    this.loadsBySource = new Counter({
      name: 'rateguard_config_loads_total',
      help: 'Configs loaded or rejected, by source (file, xds) and outcome (loaded, rejected).',
      labelNames: ['source', 'outcome'],
      registers: [this.registry],
    });
  }

  /** Pushes the last stats (with statsd) and stops. */
  async close(): Promise<void> {
    await this.statsd?.close();
  }

  /**
   * A `POST /json` call that failed, counted as the reference counts it: a Redis failure, or one the
   * service could not decide (a bad request; no config loaded yet). Shed calls are neither, as on gRPC.
   */
  jsonCallFailed(kind: ServiceFailure['kind']): void {
    if (kind === 'invalid_argument' || (kind === 'unavailable' && this.configLoads.success === 0)) this.jsonErrors.service_error += 1;
    else if (kind === 'unavailable') this.jsonErrors.redis_error += 1;
  }

  /** ShouldRateLimit calls by gRPC status name, from grpc_server_handled_total. */
  private async callsByCode(): Promise<Map<string, number>> {
    return this.grpcCalls.byCode();
  }

  private startStatsd(stats: DecisionStats, calls: CallCountSources, options: StatsdOptions, logger: Logger | undefined): StatsdPush {
    let warned = false;
    const onError = (error: Error) => {
      if (!warned) logger?.warn({ error: error.message, host: options.host, port: options.port }, 'statsd push failed; stats keep being pushed');
      warned = true;
    };
    return new StatsdPush({ stats, calls, configLoads: () => this.configLoads }, options, onError);
  }

  get stats(): DecisionStats {
    return this.decisions.stats;
  }

  configEvent(event: ConfigEvent): void {
    this.loadCounters[event.type].inc();
    this.loadsBySource.inc({ source: event.source, outcome: event.type });
    if (event.type === 'loaded') this.configLoads.success += 1;
    else this.configLoads.error += 1;
    this.configLoads.last = { type: event.type, reason: event.reason, source: event.source, version: event.version, at: new Date().toISOString() };
  }
}
