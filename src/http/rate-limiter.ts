/**
 * The Express middleware: identify the client, ask the decision stack (the sidecar's: breaker,
 * failure modes, over-limit cache) for tokens, answer. `app.use(rateLimiter({ requestsPerMinute: 60 }))`.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { BucketResult, Decision, Plan } from '../engine/plan.js';
import { createLogger, type Logger } from '../observe/logger.js';
import { limiterOutcome } from '../observe/middleware-metrics.js';
import type { DecisionSource } from '../service/decision-observer.js';
import { secondsUntilReset } from '../service/rate-limit-headers.js';
import { buildDecisionStack, type DecisionStack } from '../stores/decision-stack.js';
import { MemoryStore } from '../stores/memory-store.js';
import { canRefund, isStoreError } from '../stores/store.js';
import { addressIdentity } from './client-address.js';
import { DEFAULT_MESSAGE, type LimiterConfig, normaliseOptions, type RateLimiterOptions } from './rate-limiter-options.js';
import { armRefund, type PendingRefunds, pendingRefunds } from './refund-on-response.js';
import { alreadyDecided, type RateLimitInfo, recordDecision } from './request-decisions.js';
import { Validations } from './validations.js';

export type { RateLimitInfo, RequestRateLimit } from './request-decisions.js';

export interface RateLimiter extends RequestHandler {
  readonly config: LimiterConfig;
  /** The store stack this limiter decides with. */
  readonly stack: DecisionStack;
  /** Clears one client's bucket (as `identifier` names it). Resolves with whether one existed. */
  resetKey(identity: string): Promise<boolean>;
  /** Resolves once every refund started so far (skipSuccessfulRequests / skipFailedRequests) has reached the store. */
  refunded(): Promise<void>;
  /** Waits for refunds in flight, then closes the store stack (the store itself only when the limiter created it). */
  close(): Promise<void>;
}

const UNAVAILABLE_BODY = { error: 'Rate limiter unavailable, please try again later.' };

function buildStack(config: LimiterConfig, logger: () => Logger): DecisionStack {
  const log = (level: 'warn' | 'info', fields: object, message: string) => logger()[level]({ limiter: config.name, ...fields }, message);
  return buildDecisionStack({
    ...(config.redis === undefined ? { store: config.store ?? new MemoryStore() } : { redis: config.redis }),
    failureMode: config.failureMode,
    ...(config.localShare === undefined ? {} : { localShare: config.localShare }),
    ...(config.breaker.threshold === undefined ? {} : { breakerThreshold: config.breaker.threshold }),
    ...(config.breaker.probeIntervalMs === undefined ? {} : { breakerProbeIntervalMs: config.breaker.probeIntervalMs }),
    localCacheSize: config.localCacheSize,
    onBreakerChange: (state) =>
      state === 'open'
        ? log('warn', { failureMode: config.failureMode }, 'rate limit store failing: circuit breaker open, answers come from the failure mode at once')
        : log('info', {}, 'rate limit store answers again: circuit breaker closed'),
  });
}

/** Sends the denied response: `handler`, else the status with `message` (default: a JSON body). */
async function answerDenied(config: LimiterConfig, req: Request, res: Response, next: NextFunction, info: RateLimitInfo, retryAfter: number | undefined) {
  if (config.handler !== undefined) {
    await config.handler(req, res, next, info);
    return;
  }
  res.status(config.statusCode);
  const message = typeof config.message === 'function' ? await config.message(req, res) : config.message;
  if (res.writableEnded) return;
  if (message === undefined) res.json({ error: DEFAULT_MESSAGE, retryAfter: retryAfter ?? null });
  else if (typeof message === 'string') res.send(message);
  else res.json(message);
}

export function rateLimiter(options: RateLimiterOptions = {}): RateLimiter {
  const config = normaliseOptions(options);
  let logger = config.logger;
  const log = () => (logger ??= createLogger());
  const validations = new Validations({ option: config.validate, limiter: config.name, logger: log });
  validations.creationStack();
  if (config.store !== undefined) validations.sharedStore(config.store, config.bucketNamespace);
  // Before anything connects: a limiter that throws must leave nothing open.
  if (config.refundsWhen !== undefined && config.store !== undefined && !canRefund(config.store)) {
    throw new TypeError('rateguard: skipSuccessfulRequests / skipFailedRequests need a store that can refund (MemoryStore, RedisStore, or one with refund())');
  }
  const stack = buildStack(config, log);
  const refunds: PendingRefunds = pendingRefunds();
  const self = {};
  let storeDown = false;

  /** One line when the store stops deciding and one when it decides again, never one per request. */
  const noteStore = (source: DecisionSource, error?: unknown) => {
    const down = source === 'failure_mode';
    if (down === storeDown) return;
    storeDown = down;
    if (down)
      log().warn(
        { limiter: config.name, err: error instanceof Error ? error.message : undefined, failureMode: config.failureMode },
        'rate limit store unavailable',
      );
    else log().info({ limiter: config.name }, 'rate limit store available again');
  };

  const identify = async (req: Request, res: Response): Promise<string> => {
    if (config.identifier !== undefined) return (await config.identifier(req, res)) ?? '';
    // Only the default identifier trusts req.ip to name the client.
    validations.trustProxy(req);
    const address = req.ip ?? req.socket.remoteAddress;
    validations.clientAddress(address);
    return addressIdentity(address, config.ipv6Subnet);
  };

  const decide = async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    if (config.skip !== undefined && (await config.skip(req, res))) return next();
    if (alreadyDecided(req, self)) {
      validations.doubleCount();
      return next();
    }
    const identity = await identify(req, res);
    const cost = config.cost(req);
    if (!Number.isSafeInteger(cost) || cost < 0) throw new RangeError(`rateguard: cost(req) must return a whole number >= 0, got ${cost}`);
    const bucket = { key: config.keyFor(identity), limit: config.limit, cost };
    const plan: Plan = { mode: 'all_or_nothing', buckets: [bucket] };
    const started = performance.now();
    const observe = (source: DecisionSource, result: BucketResult | undefined, overLimit: boolean) =>
      config.metrics?.observe(limiterOutcome(config.name, identity, cost, { source, result, overLimit }, started));

    let decision: Decision;
    try {
      decision = await stack.store.decide(plan);
    } catch (error) {
      if (!isStoreError(error)) throw error;
      // failureMode 'error': the store could not decide, and no answer is made up.
      observe('failure_mode', undefined, true);
      noteStore('failure_mode', error);
      res.status(503).json(UNAVAILABLE_BODY);
      return;
    }
    const source = decision.source ?? 'store';
    const result = decision.buckets[0]!;
    observe(source, result, !decision.allowed);
    if (source !== 'local_cache') noteStore(source);

    const nowMs = Date.now();
    const resetSeconds = secondsUntilReset(result);
    const info: RateLimitInfo = {
      name: config.name,
      limit: result.limit,
      used: result.limit - result.remaining,
      remaining: result.remaining,
      resetTime: new Date(nowMs + resetSeconds * 1000),
      key: identity,
    };
    recordDecision(req, res, { limiter: self, reporting: config.reporting, state: { policy: config.policy, result }, info }, nowMs);
    if (decision.allowed) {
      // Only a charge the store made can be given back; a failure mode's answer charged nothing there.
      if (config.refundsWhen !== undefined && decision.source === undefined && cost > 0) {
        armRefund(req, res, { when: config.refundsWhen, refund: () => stack.refund!([bucket]), pending: refunds, logger: log, limiter: config.name });
      }
      return next();
    }
    const retryAfter = result.retryUs >= 0 ? resetSeconds : undefined;
    if (retryAfter !== undefined && !res.headersSent) res.setHeader('Retry-After', String(retryAfter));
    await answerDenied(config, req, res, next, info, retryAfter);
  };

  const handler = (req: Request, res: Response, next: NextFunction): void => {
    decide(req, res, next).catch(next);
  };

  return Object.assign(handler, {
    config,
    stack,
    resetKey: (identity: string) => stack.store.reset([config.keyFor(identity)]).then((n) => n > 0),
    refunded: () => refunds.settled(),
    close: async () => {
      await refunds.settled();
      // A store given to the limiter is the caller's to close; the breaker's timer is ours.
      if (config.store === undefined) await stack.store.close();
      else stack.failureMode?.breaker.stop();
    },
  });
}
