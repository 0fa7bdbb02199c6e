/**
 * The one store stack every front door decides with (the gRPC sidecar and the Express middleware):
 *   ResetBroadcastStore → OverLimitCache → InFlightLimit → FailureModeStore (circuit breaker,
 *   failure mode) → the store (RedisStore, or any BucketStore)
 * A MemoryStore cannot fail and is never slow, so nothing wraps it. Each layer is optional as the
 * options say; the caller turns its own settings into these plain options (and logs the events).
 */
import type { BucketRequest } from '../engine/plan.js';
import type { BreakerState } from './circuit-breaker.js';
import { type FailureMode, FailureModeStore } from './failure-mode-store.js';
import { InFlightLimit } from './in-flight-limit.js';
import { MemoryStore } from './memory-store.js';
import { OverLimitCache } from './over-limit-cache.js';
import { RedisStore, type RedisStoreOptions } from './redis/redis-store.js';
import { ResetBroadcastStore } from './redis/reset-broadcast.js';
import { type BucketStore, canRefund, type StoreErrorKind } from './store.js';

export interface DecisionStackOptions {
  /** Where buckets live: a MemoryStore, a RedisStore of yours, any BucketStore. Or `redis`. */
  readonly store?: BucketStore;
  /**
   * The options of a RedisStore the stack creates instead (closed with the stack). It also tells
   * the breaker when Redis answers again, so the breaker closes at once, not at its next probe.
   */
  readonly redis?: RedisStoreOptions;
  /** What to answer while the store cannot decide. Default `error`: the caller gets the StoreError. */
  readonly failureMode?: FailureMode;
  /** `local` mode: each limit is divided by this (how many processes share it). Default 1. */
  readonly localShare?: number;
  /** Consecutive store failures that open the breaker. Default 5. */
  readonly breakerThreshold?: number;
  readonly breakerProbeIntervalMs?: number;
  /** Decisions waiting on the store at most; past it a call is shed (StoreError `overloaded`). Default: no bound. */
  readonly maxInFlight?: number;
  /** Denials remembered in process (the over-limit cache). Default 0: off. */
  readonly localCacheSize?: number;
  /**
   * With a Redis store and the cache: the channel resets are published on, so every process
   * sharing the Redis forgets a reset key in its cache. Default: no broadcast.
   */
  readonly resetChannel?: string;
  /** Wraps the Redis store (timing, error counters, tracing) beneath the failure handling. */
  readonly instrument?: (redis: RedisStore) => BucketStore;
  /** The RedisStore created here became (un)available, with why. */
  readonly onAvailabilityChange?: (available: boolean, reason: string) => void;
  readonly onBreakerChange?: (state: BreakerState) => void;
  readonly onStoreError?: (kind: StoreErrorKind) => void;
  /** The failure mode started (true) or stopped (false) answering instead of the store. */
  readonly onFallbackChange?: (answering: boolean) => void;
}

export interface DecisionStack {
  /** Decide here: the top of the stack. */
  readonly store: BucketStore;
  /** The Redis store at the bottom, when there is one. */
  readonly redis: RedisStore | undefined;
  /** Absent over a MemoryStore. */
  readonly failureMode: FailureModeStore | undefined;
  readonly cache: OverLimitCache | undefined;
  /**
   * Gives a store-made charge back, exactly (atomic with concurrent decisions), and forgets any
   * cached denial of those keys; undefined when the bottom store cannot refund.
   */
  readonly refund: ((buckets: readonly BucketRequest[]) => Promise<void>) | undefined;
}

function bottomStore(options: DecisionStackOptions, breaker: () => FailureModeStore | undefined): BucketStore {
  if ((options.store === undefined) === (options.redis === undefined)) throw new TypeError('buildDecisionStack: give exactly one of store and redis');
  if (options.store !== undefined) return options.store;
  const { onAvailabilityChange } = options;
  return new RedisStore({
    ...options.redis,
    onAvailabilityChange: (available, reason) => {
      onAvailabilityChange?.(available, reason);
      // Redis answers again: the breaker need not wait out its probe interval.
      if (available) breaker()?.breaker.probeNow();
    },
  });
}

export function buildDecisionStack(options: DecisionStackOptions): DecisionStack {
  let failureMode: FailureModeStore | undefined;
  const bottom = bottomStore(options, () => failureMode);
  const redis = bottom instanceof RedisStore ? bottom : undefined;
  const refundBottom = canRefund(bottom) ? (buckets: readonly BucketRequest[]) => bottom.refund(buckets) : undefined;
  if (bottom instanceof MemoryStore) return { store: bottom, redis, failureMode, cache: undefined, refund: refundBottom };

  failureMode = new FailureModeStore(redis === undefined ? bottom : (options.instrument?.(redis) ?? redis), {
    mode: options.failureMode ?? 'error',
    ...(options.localShare === undefined ? {} : { localShare: options.localShare }),
    ...(options.breakerThreshold === undefined ? {} : { breakerThreshold: options.breakerThreshold }),
    ...(options.breakerProbeIntervalMs === undefined ? {} : { breakerProbeIntervalMs: options.breakerProbeIntervalMs }),
    ...(options.onBreakerChange === undefined ? {} : { onBreakerChange: options.onBreakerChange }),
    ...(options.onStoreError === undefined ? {} : { onStoreError: options.onStoreError }),
    ...(options.onFallbackChange === undefined ? {} : { onFallbackChange: options.onFallbackChange }),
  });
  const bounded = options.maxInFlight === undefined ? failureMode : new InFlightLimit(failureMode, { maxInFlight: options.maxInFlight });
  const cacheSize = options.localCacheSize ?? 0;
  if (cacheSize === 0) return { store: bounded, redis, failureMode, cache: undefined, refund: refundBottom };

  const cache = new OverLimitCache(bounded, { maxEntries: cacheSize });
  const refund =
    refundBottom === undefined
      ? undefined
      : (buckets: readonly BucketRequest[]) =>
          // The tokens are back: a denial of these keys remembered before now may be wrong.
          refundBottom(buckets).finally(() => cache.forget(buckets.map((bucket) => bucket.key)));
  const broadcast = redis !== undefined && options.resetChannel !== undefined;
  const store = broadcast ? new ResetBroadcastStore(cache, redis.client, options.resetChannel!) : cache;
  return { store, redis, failureMode, cache, refund };
}
