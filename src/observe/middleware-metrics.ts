/**
 * The decision families for the Express middleware, on the user's own registry:
 * `rateLimiter({ metrics: registerRateLimitMetrics(registry) })`. Each limiter counts as a domain
 * named after it, with one limit key (`<name>.id`), so client identities never become labels.
 */
import type { Registry } from 'prom-client';
import type { BucketResult } from '../engine/plan.js';
import type { DecisionSource, RequestOutcome } from '../service/decision-observer.js';
import { type DecisionMetrics, registerDecisionMetrics } from './decision-metrics.js';

export interface RateLimitMetricsOptions {
  /** NEAR_LIMIT_RATIO. Default 0.8. */
  readonly nearLimitRatio?: number;
  /** Identities the top-K of limited clients tracks. Default 256. */
  readonly topCapacity?: number;
}

/** Registers the rate-limit families on `registry`; pass the result to `rateLimiter({ metrics })`. */
export function registerRateLimitMetrics(registry: Registry, options: RateLimitMetricsOptions = {}): DecisionMetrics {
  return registerDecisionMetrics(registry, {
    nearLimitRatio: options.nearLimitRatio ?? 0.8,
    // The middleware decides one bucket per request: allowed is charged, denied is not.
    chargeMode: 'all_or_nothing',
    ...(options.topCapacity === undefined ? {} : { topCapacity: options.topCapacity }),
  });
}

/** One middleware decision as the service would report it. */
export function limiterOutcome(
  name: string,
  identity: string,
  cost: number,
  decided: { readonly source: DecisionSource; readonly result: BucketResult | undefined; readonly overLimit: boolean },
  startedMs: number,
): RequestOutcome {
  const { result } = decided;
  return {
    domain: name,
    overLimit: decided.overLimit,
    source: decided.source,
    limits:
      result === undefined
        ? []
        : [
            {
              domain: name,
              metricKey: `${name}.id`,
              entries: [{ key: 'id', value: identity }],
              hits: cost,
              limit: result.limit,
              remaining: result.remaining,
              allowed: result.allowed,
              shadow: false,
            },
          ],
    durationSeconds: (performance.now() - startedMs) / 1000,
  };
}
