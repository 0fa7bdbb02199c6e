/**
 * Giving a charge back (docs/token-bucket-spec.md, "Refunds"): the TypeScript twin of the Lua
 * script's mode `r`. A token bucket's stored level becomes `min(C, l + k)`, stamp unchanged; a fixed
 * window's count `max(0, l − k)` while it is still the same window; absent state stays absent.
 */
import type { BucketState } from './bucket-math.js';
import type { Limit } from './limit.js';

/** The state after giving back `cost`, or undefined when there is nothing to change. */
export function refundedState(stored: BucketState | undefined, limit: Limit, cost: number, nowUs: number): BucketState | undefined {
  if (stored === undefined || cost <= 0) return undefined;
  if (limit.algorithm === 'token_bucket') return { level: Math.min(limit.capacity, stored.level + cost), stamp: stored.stamp };
  const windowStart = Math.floor(nowUs / limit.periodUs) * limit.periodUs;
  return stored.stamp === windowStart ? { level: Math.max(0, stored.level - cost), stamp: stored.stamp } : undefined;
}
