/**
 * The local over-limit cache: when a bucket denies, remember it in process until its retry time,
 * and answer further requests that need at least as many of its tokens OVER_LIMIT without a store
 * round trip. Under a flood from one over-limit client the store sees almost nothing.
 *
 * Never denies wrongly: a cached denial only applies to a cost at least as large as the one
 * denied, and only until the moment that cost could be available again. Shadow buckets are never
 * cached (they deny nothing), nor are overdraft limits (every charge of theirs must reach the
 * store to count), nor are failure-mode answers. `reset()` forgets the keys it clears.
 * Only a request whose every bucket is known to deny is answered here (`source: 'local_cache'`):
 * any other bucket's true state — and, in `independent` mode, its charge — needs the store, so such
 * a request goes to the store whole and is decided exactly as without the cache.
 */
import { type Clock, systemClock } from '../engine/clock.js';
import { costOfKey } from '../engine/bucket-math.js';
import type { BucketResult, Decision, Plan } from '../engine/plan.js';
import { trimToSize } from './lru.js';
import type { BucketStore } from './store.js';

export interface OverLimitCacheOptions {
  /** Most denials remembered (least recently added evicted first). 0 turns the cache off. */
  readonly maxEntries: number;
  readonly clock?: Clock;
}

interface Denial {
  /** Local µs until which the cost below cannot be met. */
  readonly until: number;
  /** Local µs at which the bucket is full again / its window ends. */
  readonly resetAt: number;
  readonly cost: number;
}

export class OverLimitCache implements BucketStore {
  private readonly denials = new Map<string, Denial>();
  private readonly clock: Clock;
  private hitCount = 0;

  constructor(
    private readonly inner: BucketStore,
    private readonly options: OverLimitCacheOptions,
  ) {
    this.clock = options.clock ?? systemClock;
  }

  /** Denials held now. */
  get size(): number {
    return this.denials.size;
  }

  /** Requests answered from the cache so far. */
  get hits(): number {
    return this.hitCount;
  }

  decide(plan: Plan): Promise<Decision> {
    if (this.options.maxEntries === 0) return this.inner.decide(plan);
    const now = this.clock();
    const cached = this.fromCache(plan, now);
    if (cached !== undefined) {
      this.hitCount += 1;
      return Promise.resolve(cached);
    }
    return this.inner.decide(plan).then((decision) => {
      if (decision.source === undefined && !decision.allowed) this.remember(plan, decision, now);
      return decision;
    });
  }

  reset(keys: readonly string[]): Promise<number> {
    this.forget(keys);
    return this.inner.reset(keys);
  }

  /** Drops remembered denials only (another sidecar reset these keys in the store). */
  forget(keys: readonly string[]): void {
    for (const key of keys) this.denials.delete(key);
  }

  probe(): Promise<void> {
    return this.inner.probe();
  }

  close(): Promise<void> {
    this.denials.clear();
    return this.inner.close();
  }

  private denialFor(key: string, cost: number, now: number): Denial | undefined {
    const denial = this.denials.get(key);
    if (denial === undefined) return undefined;
    if (denial.until <= now) {
      this.denials.delete(key);
      return undefined;
    }
    return cost >= denial.cost ? denial : undefined;
  }

  /** The whole decision from remembered denials, or undefined when any bucket needs the store. */
  private fromCache(plan: Plan, now: number): Decision | undefined {
    const buckets: BucketResult[] = [];
    for (const { key, limit, shadow } of plan.buckets) {
      const cost = costOfKey(plan.buckets, key);
      const denial = shadow === true || cost === 0 ? undefined : this.denialFor(key, cost, now);
      if (denial === undefined) return undefined;
      buckets.push({
        allowed: false,
        reason: 'insufficient_tokens',
        limit: limit.capacity,
        remaining: 0,
        level: 0,
        resetUs: Math.max(0, denial.resetAt - now),
        retryUs: denial.until - now,
      });
    }
    return { allowed: false, buckets, source: 'local_cache' };
  }

  private remember(plan: Plan, decision: Decision, now: number): void {
    decision.buckets.forEach((result, i) => {
      const { key, shadow, limit } = plan.buckets[i]!;
      // A key repeated in the plan was denied for the sum of its entries' costs.
      const cost = costOfKey(plan.buckets, key);
      // retryUs -1 (a cost above the capacity) is the request's own problem, not the bucket's.
      // Nor an overdraft limit's: every charge of its own must reach the store to count.
      if (result.allowed || shadow === true || limit.overdraft || result.retryUs <= 0) return;
      this.denials.delete(key);
      this.denials.set(key, { until: now + result.retryUs, resetAt: now + result.resetUs, cost });
      trimToSize(this.denials, this.options.maxEntries);
    });
  }
}
