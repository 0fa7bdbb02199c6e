/**
 * Express middleware for direct gRPC users: ask a rateguard sidecar (or any RLS v3 server) whether
 * a request may pass, the way Envoy's rate limit filter does. Domain + a function from request to
 * descriptors; OVER_LIMIT → 429 with the service's headers; errors → fail open (default) or 503.
 */
import * as grpc from '@grpc/grpc-js';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { createLogger, type Logger } from '../observe/logger.js';
import { Code, type DescriptorEntry, RateLimitServiceClient, type RateLimitResponse, shouldRateLimit } from '../rls/codec.js';
import { DEFAULT_MESSAGE } from './rate-limiter-options.js';

export interface RlsRateLimiterOptions {
  /** The service's gRPC address. Default `localhost:8081`. */
  address?: string;
  domain: string;
  /** The descriptors of a request, each a list of entries; none → the request is not limited. */
  descriptors: (req: Request) => DescriptorEntry[][];
  /** Deadline of each call in ms. Default 20 (Envoy's). */
  timeoutMs?: number;
  /** When the service cannot answer: true (default) lets requests through, false answers 503. */
  failOpen?: boolean;
  message?: string;
  logger?: Logger;
}

export interface RlsRateLimiter extends RequestHandler {
  close(): void;
}

/** Whole seconds until a denied client may retry: the service's Retry-After, else the longest reset of a denying status. */
function retryAfterSeconds(response: RateLimitResponse): number {
  const header = response.responseHeadersToAdd.find((h) => h.key.toLowerCase() === 'retry-after');
  if (header !== undefined) return Number(header.value);
  let seconds = 0;
  for (const status of response.statuses) {
    if (status.code !== Code.OVER_LIMIT || status.durationUntilReset === undefined) continue;
    seconds = Math.max(seconds, Math.ceil(status.durationUntilReset.seconds + status.durationUntilReset.nanos / 1e9));
  }
  return seconds;
}

export function rlsRateLimiter(options: RlsRateLimiterOptions): RlsRateLimiter {
  const client = new RateLimitServiceClient(options.address ?? 'localhost:8081', grpc.credentials.createInsecure());
  const timeoutMs = options.timeoutMs ?? 20;
  const failOpen = options.failOpen ?? true;
  const message = options.message ?? DEFAULT_MESSAGE;
  let logger = options.logger;
  let serviceDown = false;

  const onError = (error: grpc.ServiceError, res: Response, next: NextFunction) => {
    if (!serviceDown) {
      serviceDown = true;
      logger ??= createLogger();
      logger.warn({ code: grpc.status[error.code], details: error.details, failOpen }, 'rate limit service unavailable');
    }
    if (failOpen) next();
    else res.status(503).json({ error: 'Rate limiter unavailable, please try again later.' });
  };

  const onResponse = (response: RateLimitResponse, res: Response, next: NextFunction) => {
    if (serviceDown) {
      serviceDown = false;
      logger?.info('rate limit service available again');
    }
    for (const header of response.responseHeadersToAdd) res.setHeader(header.key, header.value);
    if (response.overallCode !== Code.OVER_LIMIT) {
      next();
      return;
    }
    const retryAfter = retryAfterSeconds(response);
    res.setHeader('Retry-After', String(retryAfter));
    res.status(429).json({ error: message, retryAfter });
  };

  const handler = (req: Request, res: Response, next: NextFunction): void => {
    const descriptors = options.descriptors(req);
    if (descriptors.length === 0) {
      next();
      return;
    }
    const request = { domain: options.domain, descriptors: descriptors.map((entries) => ({ entries })), hitsAddend: 1 };
    shouldRateLimit(client, request, { deadline: Date.now() + timeoutMs }).then(
      (response) => onResponse(response, res, next),
      (error: grpc.ServiceError) => onError(error, res, next),
    );
  };
  return Object.assign(handler, { close: () => client.close() });
}
