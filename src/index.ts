/** rateguard's public API: the Express middleware, the stores, and the engine's building blocks. */
export { rateLimiter, type RateLimiter, type RateLimitInfo } from './http/rate-limiter.js';
export type { RateLimiterOptions, StandardHeaders } from './http/rate-limiter-options.js';
export { rlsRateLimiter, type RlsRateLimiter, type RlsRateLimiterOptions } from './http/rls-rate-limiter.js';
export type { RedisMode, RedisConnectionOptions } from './stores/redis/connection.js';
export { rateLimitHeaders, quotaPolicy, type HeaderStyle } from './service/rate-limit-headers.js';
export { MemoryStore, type MemoryStoreOptions } from './stores/memory-store.js';
export { RedisStore, type RedisStoreOptions } from './stores/redis/redis-store.js';
export { LIMITER_CLIENT_OPTIONS, limiterClusterOptions } from './stores/redis/connection.js';
export { StoreError, isStoreError, type BucketStore, type StoreErrorKind } from './stores/store.js';
export { tokenBucket, fixedWindow, type Limit, type Algorithm, type Unit } from './engine/limit.js';
export { bucketKey, encodeIdentity } from './engine/keys.js';
export { decidePlan } from './engine/bucket-math.js';
export type { Plan, Decision, BucketResult, BucketRequest, ChargeMode, DenyReason } from './engine/plan.js';
export { OptionError, type OptionErrorCode } from './validation/option-error.js';
export { registerRateLimitMetrics, type RateLimitMetricsOptions } from './observe/middleware-metrics.js';
export type { DecisionMetrics } from './observe/decision-metrics.js';
export type { DecisionObserver, RequestOutcome, LimitOutcome, DecisionSource } from './service/decision-observer.js';
