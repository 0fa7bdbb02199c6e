/**
 * The sidecar's store stack from the settings: the settings mapped onto the one decision stack
 * (src/stores/decision-stack.ts); a plain MemoryStore without Redis. State changes are logged once
 * each, never per request.
 */
import type { Logger } from '../observe/logger.js';
import type { Settings } from '../settings/settings.js';
import type { BreakerState } from '../stores/circuit-breaker.js';
import { buildDecisionStack, type DecisionStack } from '../stores/decision-stack.js';
import { MemoryStore } from '../stores/memory-store.js';
import type { RedisStore } from '../stores/redis/redis-store.js';
import type { BucketStore, StoreErrorKind } from '../stores/store.js';
import type { HealthState } from './health.js';
import { redactUrl } from './redact.js';

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
  return `${settings.redisMode} ${settings.redis
    .split(',')
    .map((address) => (address.includes('://') ? redactUrl(address) : address.trim()))
    .join(',')}`;
}

/** The settings' store, through the one stack builder (src/stores/decision-stack.ts). */
export function buildStore(settings: Settings, logger: Logger, health: HealthState, events: StoreEvents = {}): DecisionStack {
  if (settings.redis === undefined) return buildDecisionStack({ store: new MemoryStore() });
  const redis = describeRedis(settings);
  return buildDecisionStack({
    redis: {
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
    },
    failureMode: settings.failureMode,
    localShare: settings.localFallbackShare,
    breakerThreshold: settings.breakerThreshold,
    breakerProbeIntervalMs: settings.breakerProbeIntervalMs,
    maxInFlight: settings.maxInFlight,
    localCacheSize: settings.localCacheSize,
    resetChannel: `${settings.keyPrefix}resets`,
    ...(events.instrument === undefined ? {} : { instrument: events.instrument }),
    onAvailabilityChange: (available, reason) => {
      health.setRedisConnected(available);
      if (available) logger.info({ redis, reason }, 'redis available');
      else logger.warn({ redis, reason, failureMode: settings.failureMode }, 'redis unavailable');
    },
    onBreakerChange: (state) => {
      health.setBreakerClosed(state === 'closed');
      if (state === 'open') logger.warn({ redis, failureMode: settings.failureMode }, 'redis unavailable: circuit breaker open');
      else logger.info({ redis }, 'redis available again: circuit breaker closed');
      events.onBreakerChange?.(state);
    },
    onFallbackChange: (answering) => {
      if (answering)
        logger.warn(
          { redis, failureMode: settings.failureMode, source: 'failure_mode' },
          'redis failed: answers come from the failure mode, not from the store',
        );
      else logger.info({ redis, source: 'store' }, 'redis answers again: answers come from the store');
    },
    ...(events.onStoreError === undefined ? {} : { onStoreError: events.onStoreError }),
  });
}
