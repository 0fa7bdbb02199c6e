/**
 * The Express middleware: identify the client, ask the engine's store for one token, answer.
 * `app.use(rateLimiter({ requestsPerMinute: 60 }))`.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { BucketResult, Plan } from '../engine/plan.js';
import { createLogger } from '../observe/logger.js';
import { limiterOutcome } from '../observe/middleware-metrics.js';
import type { DecisionSource } from '../service/decision-observer.js';
import { isStoreError } from '../stores/store.js';
import { rateLimitHeaders, secondsUntilReset } from '../service/rate-limit-headers.js';
import { type LimiterConfig, normaliseOptions, type RateLimiterOptions } from './rate-limiter-options.js';

/** What `req.rateLimit` carries (the shape express-rate-limit users know). */
export interface RateLimitInfo {
  limit: number;
  used: number;
  remaining: number;
  /** When the bucket is full again (allowed) or the request may be retried (denied). */
  resetTime: Date;
  key: string;
}

export interface RateLimiter extends RequestHandler {
  readonly config: LimiterConfig;
  /** Clears one client's bucket (as `identifier` names it). Resolves with whether one existed. */
  resetKey(identity: string): Promise<boolean>;
  /** Closes the store when the limiter created it. */
  close(): Promise<void>;
}

function setHeaders(res: Response, config: LimiterConfig, result: BucketResult, nowMs: number): void {
  const states = [{ policy: config.policy, result }];
  if (config.standardHeaders !== false) {
    for (const [name, value] of rateLimitHeaders(config.standardHeaders, states, nowMs)) res.setHeader(name, value);
  }
  if (config.legacyHeaders) {
    for (const [name, value] of rateLimitHeaders('legacy', states, nowMs)) res.setHeader(name, value);
  }
}

export function rateLimiter(options: RateLimiterOptions = {}): RateLimiter {
  const config = normaliseOptions(options);
  let logger = config.logger;
  let storeDown = false;

  const onStoreError = (error: unknown, res: Response, next: NextFunction): void => {
    if (!isStoreError(error)) {
      next(error);
      return;
    }
    if (!storeDown) {
      storeDown = true;
      logger ??= createLogger();
      logger.warn({ limiter: config.name, kind: error.kind, err: error.message, failOpen: config.failOpen }, 'rate limit store unavailable');
    }
    if (config.failOpen) next();
    else res.status(503).json({ error: 'Rate limiter unavailable, please try again later.' });
  };

  const onDecision = (req: Request, res: Response, next: NextFunction, identity: string, result: BucketResult): void => {
    if (storeDown) {
      storeDown = false;
      logger?.info({ limiter: config.name }, 'rate limit store available again');
    }
    const nowMs = Date.now();
    const resetSeconds = secondsUntilReset(result);
    const info: RateLimitInfo = {
      limit: result.limit,
      used: result.limit - result.remaining,
      remaining: result.remaining,
      resetTime: new Date(nowMs + resetSeconds * 1000),
      key: identity,
    };
    (req as unknown as Record<string, unknown>)[config.requestPropertyName] = info;
    setHeaders(res, config, result, nowMs);
    if (result.allowed) {
      next();
      return;
    }
    const retryAfter = result.retryUs >= 0 ? resetSeconds : undefined;
    if (retryAfter !== undefined) res.setHeader('Retry-After', String(retryAfter));
    res.status(config.statusCode).json({ error: config.message, retryAfter: retryAfter ?? null });
  };

  const handler = (req: Request, res: Response, next: NextFunction): void => {
    if (config.skip?.(req) === true) {
      next();
      return;
    }
    const identity = config.identifier(req) ?? '';
    const cost = config.cost(req);
    if (!Number.isSafeInteger(cost) || cost < 0) {
      next(new RangeError(`rateguard: cost(req) must return a whole number >= 0, got ${cost}`));
      return;
    }
    const plan: Plan = { mode: 'all_or_nothing', buckets: [{ key: config.keyFor(identity), limit: config.limit, cost }] };
    const started = performance.now();
    const observe = (source: DecisionSource, result: BucketResult | undefined, overLimit: boolean) =>
      config.metrics?.observe(limiterOutcome(config.name, identity, cost, { source, result, overLimit }, started));
    config.store.decide(plan).then(
      (decision) => {
        observe(decision.source ?? 'store', decision.buckets[0], !decision.allowed);
        onDecision(req, res, next, identity, decision.buckets[0]!);
      },
      (error: unknown) => {
        if (isStoreError(error)) observe('failure_mode', undefined, !config.failOpen);
        onStoreError(error, res, next);
      },
    );
  };

  return Object.assign(handler, {
    config,
    resetKey: (identity: string) => config.store.reset([config.keyFor(identity)]).then((n) => n > 0),
    close: () => (config.ownsStore ? config.store.close() : Promise.resolve()),
  });
}
