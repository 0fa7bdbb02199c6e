/**
 * envoyproxy/ratelimit's per-call stats under the names its built-in statsd→Prometheus mapping
 * gives them (and Envoy Gateway's dashboards query): `ratelimit_service_total_requests{grpc_method}`
 * and `ratelimit_service_should_rate_limit_error{err_type}`. Both are views, read at scrape time, of
 * what is already counted once per call (gRPC status codes, `POST /json` failures, failure-mode
 * decisions); the statsd push reads the same numbers through `shouldRateLimitErrors`, so both
 * sinks agree.
 */
import { Counter, type Registry } from 'prom-client';

/** The one gRPC method both families label. */
export const GRPC_METHOD = 'ShouldRateLimit';

export interface CallCountSources {
  /** ShouldRateLimit calls by gRPC status name (OK, UNAVAILABLE...). */
  readonly callsByCode: () => Promise<ReadonlyMap<string, number>>;
  /** Requests the failure mode answered because the store failed (answered, so not in a code above). */
  readonly failureModeDecisions: () => number;
  /** UNAVAILABLE answers given before any config was loaded (a forced start): not a Redis failure. */
  readonly unconfiguredCalls: () => number;
  /** `POST /json` calls that failed, as the reference counts them (it counts them with the gRPC ones). */
  readonly jsonErrors: () => ShouldRateLimitErrors;
}

/** The reference's two kinds of call errors. */
export interface ShouldRateLimitErrors {
  /** The store failed: answered UNAVAILABLE, or by the failure mode (the reference has only the former). */
  readonly redis_error: number;
  /** The service could not decide: a bad request, no config yet, an internal error. */
  readonly service_error: number;
}

/** Codes that mean the service could not decide because of itself or the request, not Redis. */
const SERVICE_ERROR_CODES = ['INVALID_ARGUMENT', 'INTERNAL'];

export async function shouldRateLimitErrors(sources: CallCountSources): Promise<ShouldRateLimitErrors> {
  const calls = await sources.callsByCode();
  const unconfigured = sources.unconfiguredCalls();
  const json = sources.jsonErrors();
  return {
    redis_error: (calls.get('UNAVAILABLE') ?? 0) - unconfigured + sources.failureModeDecisions() + json.redis_error,
    service_error: SERVICE_ERROR_CODES.reduce((sum, code) => sum + (calls.get(code) ?? 0), unconfigured + json.service_error),
  };
}

export function registerReferenceCallMetrics(registry: Registry, sources: CallCountSources): void {
  new Counter({
    name: 'ratelimit_service_total_requests',
    help: "ShouldRateLimit calls over gRPC, whatever their answer (the reference's ratelimit_server.ShouldRateLimit.total_requests).",
    labelNames: ['grpc_method'],
    registers: [registry],
    // prom-client counters cannot be set: rebuilt from the call counts at each scrape.
    async collect() {
      let total = 0;
      for (const count of (await sources.callsByCode()).values()) total += count;
      this.reset();
      this.inc({ grpc_method: GRPC_METHOD }, total);
    },
  });
  new Counter({
    name: 'ratelimit_service_should_rate_limit_error',
    help: 'ShouldRateLimit calls (gRPC and POST /json) the store failed (err_type="redis_error", failure-mode answers included) or the service could not decide (err_type="service_error").',
    labelNames: ['err_type'],
    registers: [registry],
    async collect() {
      const errors = await shouldRateLimitErrors(sources);
      this.reset();
      for (const [errType, count] of Object.entries(errors)) this.inc({ err_type: errType }, count);
    },
  });
}
