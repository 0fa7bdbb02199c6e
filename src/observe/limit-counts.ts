/**
 * envoyproxy/ratelimit's per-limit counters, computed from one limit's outcome. The reference
 * counts hits (hits_addend), not requests, and splits a request that crosses a threshold: the
 * hits below it count one way, the hits above it the other. A token bucket has no counter, so
 * "used" here is capacity minus whole tokens left — the same number `limit_remaining` reports.
 */
import type { ChargeMode } from '../engine/plan.js';
import type { DecisionSource, LimitOutcome } from '../service/decision-observer.js';

export const LIMIT_COUNTERS = ['total_hits', 'over_limit', 'near_limit', 'within_limit', 'shadow_mode', 'over_limit_with_local_cache'] as const;
export type LimitCounter = (typeof LIMIT_COUNTERS)[number];
export type LimitCounts = Record<LimitCounter, number>;

export function zeroCounts(): LimitCounts {
  return { total_hits: 0, over_limit: 0, near_limit: 0, within_limit: 0, shadow_mode: 0, over_limit_with_local_cache: 0 };
}

/** The reference's `floor(float32(limit) * nearLimitRatio)`, in float32 as Go computes it. */
export function nearLimitThreshold(limit: number, ratio: number): number {
  return Math.floor(Math.fround(Math.fround(limit) * Math.fround(ratio)));
}

export interface CountingRules {
  /** NEAR_LIMIT_RATIO: hits above this share of the limit are near_limit. */
  readonly nearLimitRatio: number;
  /** How the deciding store charged; tells whether `remaining` includes this request's hits. */
  readonly chargeMode: ChargeMode;
}

/**
 * Whether the bucket's `remaining` already has this request's hits taken off. All-or-nothing
 * charges an allowed bucket only when the whole request passed. In `independent` mode a denied
 * fixed window is charged too, but then `remaining` is 0 and the hits count whole as over_limit.
 */
function wasCharged(outcome: LimitOutcome, requestOverLimit: boolean, mode: ChargeMode): boolean {
  return outcome.allowed && (mode === 'independent' || !requestOverLimit);
}

/** Adds one limit outcome's counts to `into`. */
export function addLimitCounts(
  into: LimitCounts,
  outcome: LimitOutcome,
  request: { readonly source: DecisionSource; readonly overLimit: boolean },
  rules: CountingRules,
): void {
  const hits = outcome.hits;
  // As the reference: every limit a request reaches counts its hits, even when Redis then fails.
  into.total_hits += hits;
  if (request.source === 'failure_mode') return;
  if (request.source === 'local_cache') {
    // Only a denial came from the cache; an allowed limit of such a request was not evaluated.
    if (outcome.allowed) return;
    into.over_limit += hits;
    into.over_limit_with_local_cache += hits;
    if (outcome.shadow) into.shadow_mode += hits;
    return;
  }
  const limit = outcome.limit;
  const near = nearLimitThreshold(limit, rules.nearLimitRatio);
  const charged = wasCharged(outcome, request.overLimit, rules.chargeMode);
  const after = charged ? limit - outcome.remaining : limit - outcome.remaining + hits;
  const before = after - hits;
  if (outcome.allowed) {
    into.within_limit += hits;
    if (after > near) into.near_limit += before >= near ? hits : after - near;
    return;
  }
  const over = before >= limit ? hits : after - limit;
  into.over_limit += over;
  if (before < limit) into.near_limit += limit - Math.max(near, before);
  if (outcome.shadow) into.shadow_mode += over;
}
