/**
 * The Express middleware's public options and their normalised form. Everything a request needs
 * that does not depend on the request is computed here, once: the limit, the key prefix, the
 * header policy strings.
 */
import type { Request } from 'express';
import { bucketKey, checkKeyPrefix, encodeIdentity } from '../engine/keys.js';
import { type Limit, tokenBucket } from '../engine/limit.js';
import type { Logger } from '../observe/logger.js';
import type { DecisionObserver } from '../service/decision-observer.js';
import { MemoryStore } from '../stores/memory-store.js';
import type { BucketStore } from '../stores/store.js';
import {
  OptionError,
  rejectUnknownOptions,
  requireFunction,
  requireOneOf,
  requirePositiveNumber,
} from '../validation/option-error.js';
import { addressIdentity } from './client-address.js';
import { type QuotaPolicy, quotaPolicy } from '../service/rate-limit-headers.js';

export type StandardHeaders = 'draft-10' | 'draft-6' | false;

export interface RateLimiterOptions {
  /** Tokens added per minute. Default 60. */
  requestsPerMinute?: number;
  /** The burst: most tokens the bucket holds. Default `requestsPerMinute`. */
  capacity?: number;
  /** Where buckets live. Default: a MemoryStore of this limiter's own. */
  store?: BucketStore;
  /** The client's identity. Default: the client IP (`req.ip`, IPv6 masked to `ipv6Subnet`). */
  identifier?: (req: Request) => string | undefined;
  /** Requests for which this returns true are not limited. Default: none. */
  skip?: (req: Request) => boolean;
  /** Body message of a 429. */
  message?: string;
  /** Status of a denied request. Default 429. */
  statusCode?: number;
  /** Tokens one request takes. Default 1. */
  cost?: number | ((req: Request) => number);
  /**
   * The limiter's namespace: its buckets never meet another limiter's. Default `rateguard-N`, N
   * counting limiters in creation order; set it when several processes must share buckets.
   */
  name?: string;
  /** IETF RateLimit headers: 'draft-10' (default), 'draft-6', or false. */
  standardHeaders?: StandardHeaders;
  /** Also send `X-RateLimit-Limit/Remaining/Reset`. Default false. */
  legacyHeaders?: boolean;
  /** When the store fails: true (default) lets requests through, false answers 503. */
  failOpen?: boolean;
  /** Where `req` carries the decision. Default `rateLimit`. */
  requestPropertyName?: string;
  /** Prefix of every store key. Default `rg:`. */
  keyPrefix?: string;
  /** IPv6 prefix length the default identifier keeps. Default 56. */
  ipv6Subnet?: number;
  /** Where the store-outage warning goes. Default: a pino logger. */
  logger?: Logger;
  /** Told about every decision: `registerRateLimitMetrics(registry)` for Prometheus counters. */
  metrics?: DecisionObserver;
}

const KNOWN_OPTIONS = [
  'requestsPerMinute', 'capacity', 'store', 'identifier', 'skip', 'message', 'statusCode', 'cost', 'name',
  'standardHeaders', 'legacyHeaders', 'failOpen', 'requestPropertyName', 'keyPrefix', 'ipv6Subnet', 'logger', 'metrics',
] as const;

export const DEFAULT_MESSAGE = 'Too many requests, please try again later.';

/** The normalised configuration one limiter runs with. */
export interface LimiterConfig {
  readonly name: string;
  readonly limit: Limit;
  readonly policy: QuotaPolicy;
  readonly store: BucketStore;
  readonly ownsStore: boolean;
  readonly identifier: (req: Request) => string | undefined;
  readonly skip: ((req: Request) => boolean) | undefined;
  readonly cost: (req: Request) => number;
  readonly message: string;
  readonly statusCode: number;
  readonly standardHeaders: StandardHeaders;
  readonly legacyHeaders: boolean;
  readonly failOpen: boolean;
  readonly requestPropertyName: string;
  /** `keyPrefix` + limit id, so a request only appends its identity. */
  readonly keyFor: (identity: string) => string;
  readonly logger: Logger | undefined;
  readonly metrics: DecisionObserver | undefined;
}

let limiterCount = 0;
const NAME_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

function wholeNumber(option: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new OptionError('RG_OPTION_NOT_INTEGER', option, `must be a whole number from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

function costFunction(cost: RateLimiterOptions['cost']): (req: Request) => number {
  if (cost === undefined) return () => 1;
  if (typeof cost === 'function') return cost;
  const fixed = wholeNumber('cost', cost, 0, Number.MAX_SAFE_INTEGER);
  return () => fixed;
}

function observerOption(metrics: DecisionObserver): DecisionObserver {
  requireFunction('metrics.observe', (metrics as Partial<DecisionObserver>).observe);
  return metrics;
}

export function normaliseOptions(options: RateLimiterOptions): LimiterConfig {
  rejectUnknownOptions(options, KNOWN_OPTIONS);
  limiterCount += 1;
  const perMinute = requirePositiveNumber('requestsPerMinute', options.requestsPerMinute ?? 60);
  const capacity = options.capacity === undefined ? perMinute : requirePositiveNumber('capacity', options.capacity);
  const name = options.name ?? `rateguard-${limiterCount}`;
  if (!NAME_PATTERN.test(name)) throw new OptionError('RG_OPTION_BAD_NAME', 'name', `must match ${NAME_PATTERN}, got ${JSON.stringify(name)}`);
  const keyPrefix = options.keyPrefix ?? 'rg:';
  const prefixProblem = checkKeyPrefix(keyPrefix);
  if (prefixProblem !== undefined) throw new OptionError('RG_OPTION_WRONG_TYPE', 'keyPrefix', prefixProblem);
  const ipv6Subnet = wholeNumber('ipv6Subnet', options.ipv6Subnet ?? 56, 1, 128);
  const limit = tokenBucket({ capacity, refillTokens: perMinute, periodUs: 60_000_000 });
  return {
    name,
    limit,
    policy: quotaPolicy(name, limit),
    store: options.store ?? new MemoryStore(),
    ownsStore: options.store === undefined,
    identifier:
      options.identifier === undefined
        ? (req) => addressIdentity(req.ip ?? req.socket.remoteAddress, ipv6Subnet)
        : requireFunction('identifier', options.identifier),
    skip: options.skip === undefined ? undefined : requireFunction('skip', options.skip),
    cost: costFunction(options.cost),
    message: options.message ?? DEFAULT_MESSAGE,
    statusCode: wholeNumber('statusCode', options.statusCode ?? 429, 400, 599),
    standardHeaders: requireOneOf<StandardHeaders>('standardHeaders', options.standardHeaders ?? 'draft-10', ['draft-10', 'draft-6', false]),
    legacyHeaders: requireOneOf('legacyHeaders', options.legacyHeaders ?? false, [true, false]),
    failOpen: requireOneOf('failOpen', options.failOpen ?? true, [true, false]),
    requestPropertyName: options.requestPropertyName ?? 'rateLimit',
    keyFor: (identity) => bucketKey(keyPrefix, limit.id, encodeIdentity(name, [{ key: 'id', value: identity }])),
    logger: options.logger,
    metrics: options.metrics === undefined ? undefined : observerOption(options.metrics),
  };
}
