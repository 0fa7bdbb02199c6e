/**
 * Express middleware for direct gRPC users: ask a rateguard sidecar (or any RLS v3 server) whether
 * a request may pass, the way Envoy's rate limit filter does. Domain + a function from request to
 * descriptors; OVER_LIMIT → 429 with the service's headers; errors → fail open (default) or 503.
 * The channel is connected at creation (rls-channel.ts): `ready` settles before the first request
 * needs it, and while the service is unreachable requests take the failure policy at once.
 */
import * as grpc from '@grpc/grpc-js';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { createLogger, type Logger } from '../observe/logger.js';
import { Code, type DescriptorEntry, type RateLimitResponse, shouldRateLimit } from '../rls/codec.js';
import { OptionError, rejectUnknownOptions, requireFunction, requirePositiveNumber } from '../validation/option-error.js';
import { RlsChannel, type RlsTlsOptions, TLS_OPTIONS } from './rls-channel.js';
import { DEFAULT_MESSAGE } from './rate-limiter-options.js';

export type { RlsTlsOptions } from './rls-channel.js';

export interface RlsRateLimiterOptions {
  /** The service's gRPC address. Default `localhost:8081`. */
  address?: string;
  domain: string;
  /** The descriptors of a request, each a list of entries; none → the request is not limited. */
  descriptors: (req: Request) => DescriptorEntry[][];
  /** Deadline of each call in ms. Default 20 (Envoy's). */
  timeoutMs?: number;
  /** How long the connection made at creation may take before the service counts as unreachable. Default 1000. */
  connectTimeoutMs?: number;
  /** TLS to the service (`{}`: system roots); `cert` + `key` for mTLS. Default: plaintext. */
  tls?: RlsTlsOptions;
  /** When the service cannot answer: true (default) lets requests through, false answers 503. */
  failOpen?: boolean;
  message?: string;
  logger?: Logger;
}

export interface RlsRateLimiter extends RequestHandler {
  /** True once connected to the service, false when it could not be reached within `connectTimeoutMs`. */
  readonly ready: Promise<boolean>;
  close(): void;
}

const KNOWN_OPTIONS = ['address', 'domain', 'descriptors', 'timeoutMs', 'connectTimeoutMs', 'tls', 'failOpen', 'message', 'logger'] as const;

function checkTls(tls: unknown): RlsTlsOptions | undefined {
  if (tls === undefined) return undefined;
  if (typeof tls !== 'object' || tls === null) throw new OptionError('RG_OPTION_WRONG_TYPE', 'tls', `must be an object, got ${JSON.stringify(tls)}`);
  rejectUnknownOptions(tls, TLS_OPTIONS);
  const given = tls as RlsTlsOptions;
  if ((given.cert === undefined) !== (given.key === undefined)) {
    throw new OptionError('RG_OPTION_WRONG_TYPE', given.cert === undefined ? 'tls.key' : 'tls.cert', 'mTLS needs both tls.cert and tls.key');
  }
  return given;
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
  rejectUnknownOptions(options, KNOWN_OPTIONS);
  if (typeof options.domain !== 'string' || options.domain === '') {
    throw new OptionError('RG_OPTION_WRONG_TYPE', 'domain', `must be a non-empty string, got ${JSON.stringify(options.domain)}`);
  }
  const descriptorsOf = requireFunction<RlsRateLimiterOptions['descriptors']>('descriptors', options.descriptors);
  const timeoutMs = requirePositiveNumber('timeoutMs', options.timeoutMs ?? 20);
  const connectTimeoutMs = requirePositiveNumber('connectTimeoutMs', options.connectTimeoutMs ?? 1000);
  const address = options.address ?? 'localhost:8081';
  const failOpen = options.failOpen ?? true;
  const message = options.message ?? DEFAULT_MESSAGE;
  let logger = options.logger;
  // One warning when the service stops answering (unreachable, or calls failing), one info when it answers again.
  let serviceDown = false;
  const markDown = (fields: Record<string, unknown>) => {
    if (serviceDown) return;
    serviceDown = true;
    logger ??= createLogger();
    logger.warn({ address, failOpen, ...fields }, 'rate limit service unavailable');
  };
  const markUp = () => {
    if (!serviceDown) return;
    serviceDown = false;
    logger?.info({ address }, 'rate limit service available again');
  };

  const channel = new RlsChannel({
    address,
    tls: checkTls(options.tls),
    connectTimeoutMs,
    onReachable: (reachable, why) => (reachable ? markUp() : markDown({ reason: why })),
  });

  const applyFailurePolicy = (res: Response, next: NextFunction) => {
    if (failOpen) next();
    else res.status(503).json({ error: 'Rate limiter unavailable, please try again later.' });
  };

  const onResponse = (response: RateLimitResponse, res: Response, next: NextFunction) => {
    markUp();
    for (const header of response.responseHeadersToAdd) res.setHeader(header.key, header.value);
    if (response.overallCode !== Code.OVER_LIMIT) {
      next();
      return;
    }
    const retryAfter = retryAfterSeconds(response);
    res.setHeader('Retry-After', String(retryAfter));
    res.status(429).json({ error: message, retryAfter });
  };

  const decide = (descriptors: DescriptorEntry[][], res: Response, next: NextFunction) => {
    if (channel.isUnreachable) {
      applyFailurePolicy(res, next);
      return;
    }
    const request = { domain: options.domain, descriptors: descriptors.map((entries) => ({ entries })), hitsAddend: 1 };
    shouldRateLimit(channel.client, request, { deadline: Date.now() + timeoutMs }).then(
      (response) => onResponse(response, res, next),
      (error: grpc.ServiceError) => {
        markDown({ code: grpc.status[error.code], details: error.details });
        applyFailurePolicy(res, next);
      },
    );
  };

  let firstConnectSettled = false;
  void channel.ready.then(() => {
    firstConnectSettled = true;
  });
  const handler = (req: Request, res: Response, next: NextFunction): void => {
    const descriptors = descriptorsOf(req);
    if (descriptors.length === 0) next();
    // Requests that arrive while the first connection is being made wait for it, at most connectTimeoutMs.
    else if (firstConnectSettled) decide(descriptors, res, next);
    else void channel.ready.then(() => decide(descriptors, res, next));
  };
  return Object.assign(handler, { ready: channel.ready, close: () => channel.close() });
}
