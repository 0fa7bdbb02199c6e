/**
 * The decision math: the TypeScript twin of lua/token_bucket.lua. Both implement
 * docs/token-bucket-spec.md step by step, in the same order of floating-point operations, so
 * they agree bit for bit; test/engine/vectors.ts holds them together.
 */
import type { Limit } from './limit.js';
import type { BucketRequest, BucketResult, Decision, DenyReason, Plan } from './plan.js';

/**
 * What a store keeps per bucket.
 * Token bucket: `level` = tokens held at time `stamp` (µs). Fixed window: `level` = hits counted
 * in the window that starts at `stamp`.
 */
export interface BucketState {
  readonly level: number;
  readonly stamp: number;
}

/** A state to store, and how long it must live (µs) before it is equivalent to no state at all. */
export interface BucketWrite {
  /** The bucket's position in the plan (for a repeated key, its first). */
  readonly index: number;
  readonly state: BucketState;
  readonly ttlUs: number;
}

interface Evaluation {
  readonly ok: boolean;
  /** The state now, without this request's charge. */
  readonly current: BucketState;
  /** The state after this request's charge. */
  readonly charged: BucketState;
}

/**
 * Whether `cost` can never be met: above the capacity, so no wait would make it fit. Not for an
 * overdraft limit, which takes any charge into debt and so has a time when the debt is repaid.
 */
export function exceedsForGood(limit: Limit, cost: number): boolean {
  return cost > limit.capacity && !limit.overdraft;
}

/**
 * The longest an overdraft bucket's debt may take to repay: a year, the largest unit. So a cost of
 * 2^53 − 1 leaves a bucket that comes back, and reset, retry and the key's expiry stay integers
 * that Redis and a Duration hold.
 */
const MAX_DEBT_US = 31_536_000_000_000;

/** Whole tokens (or hits) left: an overdraft bucket's debt (a level below 0) leaves none. */
export function wholeTokens(level: number): number {
  return level > 0 ? Math.floor(level) : 0;
}

function evaluateTokenBucket(stored: BucketState | undefined, limit: Limit, cost: number, nowUs: number): Evaluation {
  const { capacity, refillTokens, periodUs } = limit;
  let tokens = stored === undefined ? capacity : stored.level;
  const stamp = stored === undefined ? nowUs : stored.stamp;
  // A clock that went backwards (another Redis after a failover) refills nothing rather than draining.
  const elapsed = nowUs > stamp ? nowUs - stamp : 0;
  tokens = tokens + (elapsed * refillTokens) / periodUs;
  if (tokens > capacity) tokens = capacity;
  const current = { level: tokens, stamp: nowUs };
  // Applied when allowed, or always for an overdraft limit (below 0 then: a debt, of at most a year).
  let left = tokens - cost;
  if (limit.overdraft) {
    const deepest = -((refillTokens * MAX_DEBT_US) / periodUs);
    if (left < deepest) left = deepest;
  }
  const charged = { level: left, stamp: nowUs };
  return { ok: tokens >= cost && !exceedsForGood(limit, cost), current, charged };
}

function windowStart(nowUs: number, periodUs: number): number {
  return Math.floor(nowUs / periodUs) * periodUs;
}

function evaluateFixedWindow(stored: BucketState | undefined, limit: Limit, cost: number, nowUs: number): Evaluation {
  const start = windowStart(nowUs, limit.periodUs);
  const count = stored === undefined || stored.stamp !== start ? 0 : stored.level;
  const current = { level: count, stamp: start };
  const charged = { level: count + cost, stamp: start };
  // A count is never below 0, so a cost above the capacity never fits.
  return { ok: count + cost <= limit.capacity, current, charged };
}

function evaluate(stored: BucketState | undefined, limit: Limit, cost: number, nowUs: number): Evaluation {
  return limit.algorithm === 'token_bucket' ? evaluateTokenBucket(stored, limit, cost, nowUs) : evaluateFixedWindow(stored, limit, cost, nowUs);
}

/**
 * µs until the bucket is as good as absent: full again, or its window over. `level` is its final
 * level (a fixed window's count); a fixed window's is the one that holds `nowUs`.
 */
function resetUs(level: number, limit: Limit, nowUs: number): number {
  if (limit.algorithm === 'token_bucket') {
    return Math.ceil(((limit.capacity - level) * limit.periodUs) / limit.refillTokens);
  }
  return windowStart(nowUs, limit.periodUs) + limit.periodUs - nowUs;
}

function tokensLeft(level: number, limit: Limit): number {
  if (limit.algorithm === 'token_bucket') return level;
  return Math.max(0, limit.capacity - level);
}

/**
 * µs until a denied bucket could allow `cost`, from its final level (spec, "Deciding one bucket"):
 * −1 when never; a fixed window's when it is over; an overdraft bucket's when its debt is repaid,
 * so a look can pass.
 */
function retryUs(level: number, limit: Limit, cost: number, nowUs: number): number {
  if (exceedsForGood(limit, cost)) return -1;
  if (limit.algorithm === 'fixed_window') return resetUs(level, limit, nowUs);
  const { periodUs, refillTokens } = limit;
  return limit.overdraft ? Math.ceil(((0 - level) * periodUs) / refillTokens) : Math.ceil(((cost - level) * periodUs) / refillTokens);
}

/**
 * What a bucket reports (spec, "Deciding a plan", step 5) from its verdict and its final level,
 * charged or not: a token bucket's tokens, a fixed window's count. The TypeScript math and the
 * reader of the Lua script's reply both report through this.
 */
export function bucketResult(limit: Limit, cost: number, allowed: boolean, level: number, nowUs: number): BucketResult {
  const left = tokensLeft(level, limit);
  let reason: DenyReason | undefined;
  if (!allowed) reason = exceedsForGood(limit, cost) ? 'cost_exceeds_capacity' : 'insufficient_tokens';
  return {
    allowed,
    reason,
    limit: limit.capacity,
    remaining: wholeTokens(left),
    level: left,
    resetUs: resetUs(level, limit, nowUs),
    retryUs: allowed ? 0 : retryUs(level, limit, cost, nowUs),
  };
}

/**
 * Whether a bucket's charge is applied. Overdraft: always (the charge may be for a response already
 * served; denying it would make it free). All-or-nothing: when it allowed and every non-shadow
 * bucket allowed. Independent: an allowed bucket, and every fixed window (the reference service
 * counts rejected hits).
 */
function isCharged(plan: Plan, ok: boolean, allOk: boolean, limit: Limit): boolean {
  if (limit.overdraft) return true;
  if (plan.mode === 'all_or_nothing') return allOk && ok;
  return ok || limit.algorithm === 'fixed_window';
}

/** The buckets of a plan that share one key, as the one bucket they are (spec, "Deciding a plan", step 1). */
interface MergedBucket {
  /** Where the key first appears in the plan: its stored state and its write are there. */
  readonly first: number;
  readonly limit: Limit;
  /** The sum of the costs, added in plan order as the Lua script adds them. */
  readonly cost: number;
  /** Shadow only if every one of them is. */
  readonly shadow: boolean;
}

function mergeRepeatedKeys(buckets: readonly BucketRequest[]): { merged: MergedBucket[]; mergedIndexOf: number[] } {
  const merged: MergedBucket[] = [];
  const mergedIndexOf = new Array<number>(buckets.length);
  // A plan holds a handful of buckets: a scan of those merged so far is cheaper than a Map per plan.
  for (let i = 0; i < buckets.length; i++) {
    const bucket = buckets[i]!;
    const shadow = bucket.shadow === true;
    let seen = 0;
    while (seen < merged.length && buckets[merged[seen]!.first]!.key !== bucket.key) seen++;
    if (seen === merged.length) merged.push({ first: i, limit: bucket.limit, cost: bucket.cost, shadow });
    else {
      const earlier = merged[seen]!;
      merged[seen] = { ...earlier, cost: earlier.cost + bucket.cost, shadow: earlier.shadow && shadow };
    }
    mergedIndexOf[i] = seen;
  }
  return { merged, mergedIndexOf };
}

/**
 * The cost a plan asks of `key`: the sum over its buckets with that key, in plan order. For a
 * reader of the script's reply, which gives one verdict per key but no reason.
 */
export function costOfKey(buckets: readonly BucketRequest[], key: string): number {
  let cost = 0;
  for (const bucket of buckets) if (bucket.key === key) cost += bucket.cost;
  return cost;
}

/**
 * Decides a plan against the stored states (one per bucket, in plan order; undefined = none) at
 * `nowUs`. Pure: returns the decision and the states to write; the caller stores them. Buckets
 * that share a key are decided as one (their entries repeat its result) and written once.
 */
export function decidePlan(plan: Plan, stored: readonly (BucketState | undefined)[], nowUs: number): { decision: Decision; writes: BucketWrite[] } {
  const { merged, mergedIndexOf } = mergeRepeatedKeys(plan.buckets);
  const evaluations = merged.map((bucket) => evaluate(stored[bucket.first], bucket.limit, bucket.cost, nowUs));
  const allOk = evaluations.every((e, m) => e.ok || merged[m]!.shadow);
  const writes: BucketWrite[] = [];
  const results = evaluations.map((e, m): BucketResult => {
    const { first, limit, cost } = merged[m]!;
    const charge = cost > 0 && isCharged(plan, e.ok, allOk, limit);
    const state = charge ? e.charged : e.current;
    const result = bucketResult(limit, cost, e.ok, state.level, nowUs);
    if (charge) writes.push({ index: first, state, ttlUs: result.resetUs > 0 ? result.resetUs : 1 });
    return result;
  });
  return { decision: { allowed: allOk, buckets: mergedIndexOf.map((m) => results[m]!) }, writes };
}
