/** The Express contenders (bench/express-server.ts builds them): rateguard and its peers, memory and Redis. */
export const EXPRESS_VARIANTS = {
  none: { label: 'no limiter', redis: false },
  'rateguard-memory': { label: 'rateguard MemoryStore', redis: false },
  'rateguard-redis': { label: 'rateguard RedisStore', redis: true },
  'erl-memory': { label: 'express-rate-limit (memory)', redis: false },
  'erl-redis': { label: 'express-rate-limit + rate-limit-redis', redis: true },
  'rlf-memory': { label: 'rate-limiter-flexible RateLimiterMemory', redis: false },
  'rlf-redis': { label: 'rate-limiter-flexible RateLimiterRedis', redis: true },
} as const;

export type ExpressVariant = keyof typeof EXPRESS_VARIANTS;
