/**
 * Stacked limiters on one request compose: each limiter's decision is kept on the request, so the
 * headers list every limiter's quota (`RateLimit`, `RateLimit-Policy`), the single-value headers
 * (draft-6, legacy `X-RateLimit-*`) and `req.rateLimit` report the tightest one — the limiter that
 * denied, else the one with the fewest tokens left — and `req.rateLimit.limiters` holds each by name.
 */
import type { Request, Response } from 'express';
import { type QuotaState, rateLimitHeaders, tightest } from '../service/rate-limit-headers.js';

/** One limiter's decision, in the shape express-rate-limit users know, plus the limiter's name. */
export interface RateLimitInfo {
  /** The limiter's public name (its `RateLimit` item). */
  readonly name: string;
  readonly limit: number;
  readonly used: number;
  readonly remaining: number;
  /** When the bucket is full again (allowed) or the request may be retried (denied). */
  readonly resetTime: Date;
  /** The client's identity, as `identifier` named it. */
  readonly key: string;
}

/** `req.rateLimit`: the deciding (tightest) limiter's decision, and every limiter's by name. */
export interface RequestRateLimit extends RateLimitInfo {
  readonly limiters: Readonly<Record<string, RateLimitInfo>>;
}

export type StandardHeaders = 'draft-10' | 'draft-6' | false;

/** How one limiter reports: which headers, on which request property. */
export interface Reporting {
  readonly standardHeaders: StandardHeaders;
  readonly legacyHeaders: boolean;
  readonly requestPropertyName: string;
}

interface LimiterDecision {
  /** The limiter (its identity: one limiter decides a request once). */
  readonly limiter: object;
  readonly reporting: Reporting;
  readonly state: QuotaState;
  readonly info: RateLimitInfo;
}

const decisionsOf = new WeakMap<Request, LimiterDecision[]>();

/** Whether this limiter already decided this request. */
export function alreadyDecided(req: Request, limiter: object): boolean {
  return decisionsOf.get(req)?.some((decision) => decision.limiter === limiter) === true;
}

function setAll(res: Response, headers: readonly [string, string][]): void {
  for (const [name, value] of headers) res.setHeader(name, value);
}

/**
 * Adds a limiter's decision to the request's, then writes the headers and `req[property]` from all
 * of them. A limiter that sends no headers of a kind leaves that kind as the others set it.
 */
export function recordDecision(req: Request, res: Response, decision: LimiterDecision, nowMs: number): RequestRateLimit {
  let decisions = decisionsOf.get(req);
  if (decisions === undefined) {
    decisions = [];
    decisionsOf.set(req, decisions);
  }
  decisions.push(decision);
  const { standardHeaders, legacyHeaders, requestPropertyName } = decision.reporting;
  if (!res.headersSent) {
    if (standardHeaders !== false) {
      const states = decisions.filter((d) => d.reporting.standardHeaders !== false).map((d) => d.state);
      setAll(res, rateLimitHeaders(standardHeaders, states, nowMs));
    }
    if (legacyHeaders)
      setAll(
        res,
        rateLimitHeaders(
          'legacy',
          decisions.filter((d) => d.reporting.legacyHeaders).map((d) => d.state),
          nowMs,
        ),
      );
  }
  const deciding = tightest(decisions.map((d) => d.state));
  const limiters = Object.fromEntries(decisions.map((d) => [d.info.name, d.info]));
  const view: RequestRateLimit = { ...decisions.find((d) => d.state === deciding)!.info, limiters };
  (req as unknown as Record<string, unknown>)[requestPropertyName] = view;
  return view;
}
