/**
 * The sidecar's store stack, from the settings:
 *   ResetBroadcastStore → OverLimitCache → InFlightLimit → FailureModeStore (circuit breaker,
 *   failure mode) → RedisStore
 * or a plain MemoryStore without Redis. State changes are logged once each, never per request.
 */
import type { Logger } from '../observe/logger.js';
import type { Settings } from '../settings/settings.js';
import type { BreakerState } from '../stores/circuit-breaker.js';
import { FailureModeStore } from '../stores/failure-mode-store.js';
import { InFlightLimit } from '../stores/in-flight-limit.js';
import { MemoryStore } from '../stores/memory-store.js';
import { OverLimitCache } from '../stores/over-limit-cache.js';
import { RedisStore } from '../stores/redis/redis-store.js';
import { ResetBroadcastStore } from '../stores/redis/reset-broadcast.js';
import type { BucketStore, StoreErrorKind } from '../stores/store.js';
import type { HealthState } from './health.js';
import { redactUrl } from './redact.js';

export interface StoreStack {
  readonly store: BucketStore;
  /** Absent with the memory store. */
  readonly redis: RedisStore | undefined;
  readonly failureMode: FailureModeStore | undefined;
  readonly cache: OverLimitCache | undefined;
}

export interface StoreEvents {
  /** Wraps the Redis store (round-trip timing, error counters) before the failure handling. */
  readonly instrument?: (redis: RedisStore) => BucketStore;
  readonly onBreakerChange?: (state: BreakerState) => void;
  readonly onStoreError?: (kind: StoreErrorKind) => void;
}

export function describeRedis(settings: Settings): string {
  if (settings.redis === undefined) return 'memory';
  if (settings.redisSocketType === 'unix') return `unix ${settings.redis}`;
  // host:port (the reference's form) and master names hold no secret; URLs may.
  return `${settings.redisMode} ${settings.redis.split(',').map((address) => (address.includes('://') ? redactUrl(address) : address.trim())).join(',')}`;
}

export function buildStore(settings: Settings, logger: Logger, health: HealthState, events: StoreEvents = {}): StoreStack {
  if (settings.redis === undefined) return { store: new MemoryStore(), redis: undefined, failureMode: undefined, cache: undefined };
  const redis = new RedisStore({
    url: settings.redis,
    mode: settings.redisMode,
    timeoutMs: settings.redisTimeoutMs,
    socketType: settings.redisSocketType,
    tls: settings.redisTls,
    ...(settings.redisAuth === undefined ? {} : { auth: settings.redisAuth }),
    ...(settings.redisSentinelAuth === undefined ? {} : { sentinelAuth: settings.redisSentinelAuth }),
    ...(settings.redisSentinelName === undefined ? {} : { sentinelName: settings.redisSentinelName }),
    ...(settings.redisPasswordFile === undefined ? {} : { passwordFile: settings.redisPasswordFile }),
    ...(settings.redisTlsCa === undefined ? {} : { tlsCaFile: settings.redisTlsCa }),
    ...(settings.redisTlsCert === undefined ? {} : { tlsCertFile: settings.redisTlsCert }),
    ...(settings.redisTlsKey === undefined ? {} : { tlsKeyFile: settings.redisTlsKey }),
    tlsSkipVerify: settings.redisTlsSkipVerify,
    onAvailabilityChange: (available, reason) => {
      health.setRedisConnected(available);
      const redis = describeRedis(settings);
      if (available) logger.info({ redis, reason }, 'redis available');
      // Redis answers again: the breaker need not wait out its probe interval.
      if (available) failureMode.breaker.probeNow();
      else logger.warn({ redis, reason, failureMode: settings.failureMode }, 'redis unavailable');
    },
  });
  const failureMode = new FailureModeStore(events.instrument?.(redis) ?? redis, {
    mode: settings.failureMode,
    localShare: settings.localFallbackShare,
    breakerThreshold: settings.breakerThreshold,
    breakerProbeIntervalMs: settings.breakerProbeIntervalMs,
    onBreakerChange: (state) => {
      health.setBreakerClosed(state === 'closed');
      if (state === 'open') logger.warn({ redis: describeRedis(settings), failureMode: settings.failureMode }, 'redis unavailable: circuit breaker open');
      else logger.info({ redis: describeRedis(settings) }, 'redis available again: circuit breaker closed');
      events.onBreakerChange?.(state);
    },
    onFallbackChange: (answering) => {
      if (answering) logger.warn({ redis: describeRedis(settings), failureMode: settings.failureMode, source: 'failure_mode' }, 'redis failed: answers come from the failure mode, not from the store');
      else logger.info({ redis: describeRedis(settings), source: 'store' }, 'redis answers again: answers come from the store');
    },
    ...(events.onStoreError === undefined ? {} : { onStoreError: events.onStoreError }),
  });
  const bounded = new InFlightLimit(failureMode, { maxInFlight: settings.maxInFlight });
  if (settings.localCacheSize === 0) return { store: bounded, redis, failureMode, cache: undefined };
  const cache = new OverLimitCache(bounded, { maxEntries: settings.localCacheSize });
  const store = new ResetBroadcastStore(cache, redis.client, `${settings.keyPrefix}resets`);
  return { store, redis, failureMode, cache };
}
