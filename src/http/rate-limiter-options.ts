/**
 * The Express middleware's public options and their normalised form. Everything a request needs
 * that does not depend on the request is computed here, once: the limit, the store stack, the key
 * prefix, the header policy strings. express-rate-limit's names are accepted where they mean the
 * same (README.md, "From express-rate-limit").
 */
import type { NextFunction, Request, Response } from 'express';
import { bucketKey, checkKeyPrefix, encodeIdentity } from '../engine/keys.js';
import { fixedWindow, type Limit, tokenBucket } from '../engine/limit.js';
import type { Logger } from '../observe/logger.js';
import type { DecisionObserver } from '../service/decision-observer.js';
import { type QuotaPolicy, quotaPolicy } from '../service/rate-limit-headers.js';
import type { FailureMode } from '../stores/failure-mode-store.js';
import type { RedisStoreOptions } from '../stores/redis/redis-store.js';
import type { BucketStore } from '../stores/store.js';
import { OptionError, rejectUnknownOptions, requireFunction, requireOneOf, requirePositiveNumber } from '../validation/option-error.js';
import type { RateLimitInfo, Reporting, StandardHeaders } from './request-decisions.js';
import type { ValidateOption } from './validations.js';

export type { StandardHeaders } from './request-decisions.js';

type Awaitable<T> = T | Promise<T>;

/** The body of a denied response: a string is sent as is, an object as JSON. */
export type Message = string | Readonly<Record<string, unknown>>;

/** Answers a denied request (express-rate-limit's `handler`); `info` is this limiter's decision. */
export type DeniedHandler = (req: Request, res: Response, next: NextFunction, info: RateLimitInfo) => Awaitable<void>;

export interface BreakerOptions {
  /** Consecutive store failures that open the breaker. Default 5. */
  readonly threshold?: number;
  /** While open, the store is probed this often (ms). Default 500. */
  readonly probeIntervalMs?: number;
}

export interface RateLimiterOptions {
  /** Token bucket: tokens added per minute. Default 60. */
  requestsPerMinute?: number;
  /** Token bucket: the burst, most tokens the bucket holds. Default `requestsPerMinute`. */
  capacity?: number;
  /** Fixed window, express-rate-limit's meaning: requests per `windowMs`. Not with `requestsPerMinute`/`capacity`. */
  limit?: number;
  /** Fixed window length (ms) for `limit`. Default 60000. */
  windowMs?: number;
  /** Where buckets live. Default: a MemoryStore of this limiter's own. Not with `redis`. */
  store?: BucketStore;
  /** A Redis the limiter connects to itself (a URL, or RedisStore options), and closes with `close()`. */
  redis?: string | RedisStoreOptions;
  /**
   * When the store cannot decide (Redis down, silent, breaker open): `allow` (default), `deny` (429
   * with `Retry-After: 1`), `local` (an in-process bucket of each limit divided by `localShare`),
   * or `error` (503). A MemoryStore never fails.
   */
  failureMode?: FailureMode;
  /** express-rate-limit's name: true is `failureMode: 'allow'`, false is `'error'`. */
  passOnStoreError?: boolean;
  /** The earlier name: true is `failureMode: 'allow'`, false is `'error'`. */
  failOpen?: boolean;
  /** `local` failure mode: how many processes share each limit. Default 1. */
  localShare?: number;
  /** The circuit breaker in front of the store: after `threshold` failures in a row, answers come at once. */
  breaker?: BreakerOptions;
  /** Denials remembered in process, answered without a store round trip. Default 0 (off). */
  localCacheSize?: number;
  /** The client's identity. Default: the client IP (`req.ip`, IPv4-mapped IPv6 as IPv4, IPv6 masked to `ipv6Subnet`). */
  identifier?: (req: Request) => Awaitable<string | undefined>;
  /** express-rate-limit's name for `identifier`. */
  keyGenerator?: (req: Request, res: Response) => Awaitable<string | undefined>;
  /** Requests for which this returns true are not limited. Default: none. */
  skip?: (req: Request, res: Response) => Awaitable<boolean>;
  /** Give the token back when the response succeeded (`requestWasSuccessful`). Default false. */
  skipSuccessfulRequests?: boolean;
  /** Give the token back when the response failed, errored or the client went away. Default false. */
  skipFailedRequests?: boolean;
  /** Whether a response counts as successful. Default: status < 400. */
  requestWasSuccessful?: (req: Request, res: Response) => Awaitable<boolean>;
  /** Answers a denied request instead of the default 429 (headers and `Retry-After` are already set). */
  handler?: DeniedHandler;
  /** Body of a denied response: a string (sent as is), an object (JSON), or a function of (req, res). */
  message?: Message | ((req: Request, res: Response) => Awaitable<Message>);
  /** Status of a denied request. Default 429. */
  statusCode?: number;
  /** Tokens one request takes. Default 1. */
  cost?: number | ((req: Request) => number);
  /**
   * The limiter's name: its item in the `RateLimit` headers, its key in `req.rateLimit.limiters`,
   * and its buckets' namespace (set it when several processes must share buckets). Default: the
   * headers say `<limit>-in-<window>` (`10-in-1min`), and the buckets are the limiter's own.
   */
  name?: string;
  /** IETF RateLimit headers: 'draft-10' (default), 'draft-6' (or true, as express-rate-limit), or false. */
  standardHeaders?: StandardHeaders | true;
  /** Also send `X-RateLimit-Limit/Remaining/Reset` (of the tightest limiter). Default false. */
  legacyHeaders?: boolean;
  /** Where `req` carries the decision. Default `rateLimit`. */
  requestPropertyName?: string;
  /** Prefix of every store key. Default `rg:`. */
  keyPrefix?: string;
  /** IPv6 prefix length the default identifier keeps. Default 56. */
  ipv6Subnet?: number;
  /** Where warnings go. Default: a pino logger. */
  logger?: Logger;
  /** Told about every decision: `registerRateLimitMetrics(registry)` for Prometheus counters. */
  metrics?: DecisionObserver;
  /** The validations (README.md, "Validation warnings"): false turns all off, `{ trustProxy: false }` one. */
  validate?: ValidateOption;
}

const KNOWN_OPTIONS = [
  'requestsPerMinute',
  'capacity',
  'limit',
  'windowMs',
  'store',
  'redis',
  'failureMode',
  'passOnStoreError',
  'failOpen',
  'localShare',
  'breaker',
  'localCacheSize',
  'identifier',
  'keyGenerator',
  'skip',
  'skipSuccessfulRequests',
  'skipFailedRequests',
  'requestWasSuccessful',
  'handler',
  'message',
  'statusCode',
  'cost',
  'name',
  'standardHeaders',
  'legacyHeaders',
  'requestPropertyName',
  'keyPrefix',
  'ipv6Subnet',
  'logger',
  'metrics',
  'validate',
] as const;

export const DEFAULT_MESSAGE = 'Too many requests, please try again later.';

/** What happened to a response, for the refund options. */
export type ResponseEnd = 'finish' | 'close' | 'error';

/** The normalised configuration one limiter runs with. */
export interface LimiterConfig {
  /** The public name: headers, `req.rateLimit.limiters`, metrics. */
  readonly name: string;
  /** The buckets' namespace: `name` when given, else this limiter's own. */
  readonly namespace: string;
  readonly limit: Limit;
  readonly policy: QuotaPolicy;
  /** The store given; undefined with `redis`, or when the limiter has a MemoryStore of its own. */
  readonly store: BucketStore | undefined;
  readonly redis: RedisStoreOptions | undefined;
  readonly failureMode: FailureMode;
  readonly localShare: number | undefined;
  readonly breaker: BreakerOptions;
  readonly localCacheSize: number;
  /** Undefined: the default identifier (the client address). */
  readonly identifier: ((req: Request, res: Response) => Awaitable<string | undefined>) | undefined;
  readonly ipv6Subnet: number;
  readonly skip: ((req: Request, res: Response) => Awaitable<boolean>) | undefined;
  /** Whether a response that ended this way gives its token back; undefined: no refunds. */
  readonly refundsWhen: ((req: Request, res: Response, end: ResponseEnd) => Awaitable<boolean>) | undefined;
  readonly handler: DeniedHandler | undefined;
  readonly message: RateLimiterOptions['message'];
  readonly cost: (req: Request) => number;
  readonly statusCode: number;
  readonly reporting: Reporting;
  /** `keyPrefix` + limit id + namespace, so a request only appends its identity. */
  readonly keyFor: (identity: string) => string;
  /** What makes two limiters count into the same buckets of a store. */
  readonly bucketNamespace: string;
  readonly logger: Logger | undefined;
  readonly metrics: DecisionObserver | undefined;
  readonly validate: ValidateOption | undefined;
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

function optionalFunction<F>(option: string, value: F | undefined): F | undefined {
  return value === undefined ? undefined : requireFunction<F>(option, value);
}

function observerOption(metrics: DecisionObserver): DecisionObserver {
  requireFunction('metrics.observe', (metrics as Partial<DecisionObserver>).observe);
  return metrics;
}

function bucketLimit(options: RateLimiterOptions): Limit {
  const fixed = options.limit !== undefined || options.windowMs !== undefined;
  if (fixed && (options.requestsPerMinute !== undefined || options.capacity !== undefined)) {
    throw new OptionError('RG_OPTION_WRONG_TYPE', 'limit', 'a fixed window (limit, windowMs) or a token bucket (requestsPerMinute, capacity), not both');
  }
  if (fixed) {
    const windowMs = wholeNumber('windowMs', options.windowMs ?? 60_000, 1, Number.MAX_SAFE_INTEGER / 1000);
    return fixedWindow(wholeNumber('limit', options.limit ?? 60, 0, Number.MAX_SAFE_INTEGER), windowMs * 1000);
  }
  const perMinute = requirePositiveNumber('requestsPerMinute', options.requestsPerMinute ?? 60);
  const capacity = options.capacity === undefined ? perMinute : requirePositiveNumber('capacity', options.capacity);
  return tokenBucket({ capacity, refillTokens: perMinute, periodUs: 60_000_000 });
}

/** The name express-rate-limit gives a policy: `<limit>-in-<window>`, e.g. `10-in-1min`. */
function quotaName(limit: Limit): string {
  const seconds = quotaPolicy('_', limit).windowSeconds;
  const [amount, unit] =
    seconds < 60 ? [seconds, 'sec'] : seconds < 3600 ? [seconds / 60, 'min'] : seconds < 86_400 ? [seconds / 3600, 'hr'] : [seconds / 86_400, 'day'];
  return `${limit.capacity}-in-${Number(amount.toFixed(2))}${unit}`;
}

function failureModeOf(options: RateLimiterOptions): FailureMode {
  const fromBoolean = (option: 'passOnStoreError' | 'failOpen'): FailureMode | undefined => {
    const value = options[option];
    return value === undefined ? undefined : requireOneOf(option, value, [true, false]) ? 'allow' : 'error';
  };
  const named =
    options.failureMode === undefined ? undefined : requireOneOf<FailureMode>('failureMode', options.failureMode, ['allow', 'deny', 'local', 'error']);
  const given = [named, fromBoolean('passOnStoreError'), fromBoolean('failOpen')].filter((mode) => mode !== undefined);
  if (new Set(given).size > 1)
    throw new OptionError('RG_OPTION_WRONG_TYPE', 'failureMode', `failureMode, passOnStoreError and failOpen disagree (${given.join(' vs ')})`);
  return given[0] ?? 'allow';
}

function storeOptions(options: RateLimiterOptions): Pick<LimiterConfig, 'store' | 'redis'> {
  if (options.store !== undefined && options.redis !== undefined) throw new OptionError('RG_OPTION_WRONG_TYPE', 'redis', 'give store or redis, not both');
  if (options.store !== undefined) requireFunction('store.decide', (options.store as Partial<BucketStore>).decide);
  const redis = typeof options.redis === 'string' ? { url: options.redis } : options.redis;
  return { store: options.store, redis };
}

function breakerOption(breaker: BreakerOptions | undefined): BreakerOptions {
  if (breaker === undefined) return {};
  rejectUnknownOptions(breaker, ['threshold', 'probeIntervalMs']);
  return {
    ...(breaker.threshold === undefined ? {} : { threshold: wholeNumber('breaker.threshold', breaker.threshold, 1, 1_000_000) }),
    ...(breaker.probeIntervalMs === undefined ? {} : { probeIntervalMs: requirePositiveNumber('breaker.probeIntervalMs', breaker.probeIntervalMs) }),
  };
}

function refundRule(options: RateLimiterOptions): LimiterConfig['refundsWhen'] {
  const onSuccess = requireOneOf('skipSuccessfulRequests', options.skipSuccessfulRequests ?? false, [true, false]);
  const onFailure = requireOneOf('skipFailedRequests', options.skipFailedRequests ?? false, [true, false]);
  const wasSuccessful = optionalFunction('requestWasSuccessful', options.requestWasSuccessful) ?? ((_req, res) => res.statusCode < 400);
  if (!onSuccess && !onFailure) return undefined;
  return async (req, res, end) => {
    // A response that never finished (an error, the client gone) failed.
    if (end !== 'finish') return onFailure && !res.writableFinished;
    return (await wasSuccessful(req, res)) ? onSuccess : onFailure;
  };
}

function identifierOption(options: RateLimiterOptions): LimiterConfig['identifier'] {
  if (options.identifier !== undefined && options.keyGenerator !== undefined) {
    throw new OptionError('RG_OPTION_WRONG_TYPE', 'keyGenerator', 'give identifier or keyGenerator (the same option), not both');
  }
  if (typeof options.identifier === 'string') {
    // express-rate-limit's `identifier` is the policy's name; here it names the client.
    throw new OptionError(
      'RG_OPTION_WRONG_TYPE',
      'identifier',
      "is the function naming the client (express-rate-limit's keyGenerator); the policy's name is `name`",
    );
  }
  return optionalFunction('identifier', options.identifier) ?? optionalFunction('keyGenerator', options.keyGenerator);
}

function standardHeadersOption(value: RateLimiterOptions['standardHeaders']): StandardHeaders {
  const style = requireOneOf<StandardHeaders | true>('standardHeaders', value ?? 'draft-10', ['draft-10', 'draft-6', true, false]);
  return style === true ? 'draft-6' : style;
}

export function normaliseOptions(options: RateLimiterOptions): LimiterConfig {
  rejectUnknownOptions(options, KNOWN_OPTIONS);
  limiterCount += 1;
  const limit = bucketLimit(options);
  if (options.name !== undefined && !NAME_PATTERN.test(options.name)) {
    throw new OptionError('RG_OPTION_BAD_NAME', 'name', `must match ${NAME_PATTERN}, got ${JSON.stringify(options.name)}`);
  }
  const name = options.name ?? quotaName(limit);
  const namespace = options.name ?? `rateguard-${limiterCount}`;
  const keyPrefix = options.keyPrefix ?? 'rg:';
  const prefixProblem = checkKeyPrefix(keyPrefix);
  if (prefixProblem !== undefined) throw new OptionError('RG_OPTION_WRONG_TYPE', 'keyPrefix', prefixProblem);
  const message = options.message;
  if (message !== undefined && !['string', 'object', 'function'].includes(typeof message)) {
    throw new OptionError('RG_OPTION_WRONG_TYPE', 'message', `must be a string, an object or a function, got ${typeof message}`);
  }
  return {
    name,
    namespace,
    limit,
    policy: quotaPolicy(name, limit),
    ...storeOptions(options),
    failureMode: failureModeOf(options),
    localShare: options.localShare === undefined ? undefined : requirePositiveNumber('localShare', options.localShare),
    breaker: breakerOption(options.breaker),
    localCacheSize: wholeNumber('localCacheSize', options.localCacheSize ?? 0, 0, 10_000_000),
    identifier: identifierOption(options),
    ipv6Subnet: wholeNumber('ipv6Subnet', options.ipv6Subnet ?? 56, 1, 128),
    skip: optionalFunction('skip', options.skip),
    refundsWhen: refundRule(options),
    handler: optionalFunction('handler', options.handler),
    message,
    cost: costFunction(options.cost),
    statusCode: wholeNumber('statusCode', options.statusCode ?? 429, 400, 599),
    reporting: {
      standardHeaders: standardHeadersOption(options.standardHeaders),
      legacyHeaders: requireOneOf('legacyHeaders', options.legacyHeaders ?? false, [true, false]),
      requestPropertyName: options.requestPropertyName ?? 'rateLimit',
    },
    keyFor: (identity) => bucketKey(keyPrefix, limit.id, encodeIdentity(namespace, [{ key: 'id', value: identity }])),
    bucketNamespace: `${keyPrefix}${limit.id}:${namespace}`,
    logger: options.logger,
    metrics: options.metrics === undefined ? undefined : observerOption(options.metrics),
    validate: options.validate,
  };
}
