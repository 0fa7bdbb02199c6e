/**
 * Rate-limit response headers in the formats clients know (docs: ../shared headers reference):
 * - `draft-10`: IETF httpapi RateLimit fields, `RateLimit-Policy: "name";q=100;w=60` and
 *   `RateLimit: "name";r=50;t=30` (structured-field lists, one item per limit);
 * - `draft-6`: `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset`, `RateLimit-Policy: 100;w=60`;
 * - `draft-03`: Envoy's `x-ratelimit-limit: 100, 100;w=60;name="name"`, `x-ratelimit-remaining`, `x-ratelimit-reset`;
 * - `legacy`: `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset` (epoch seconds).
 * Policy strings are built once per limit (`quotaPolicy`); a request only fills in its numbers.
 * The single-value formats report the limit with the fewest tokens left, as Envoy does.
 * And the reference service's own three headers (`LIMIT_RESPONSE_HEADERS_ENABLED`), read from the
 * response's statuses as it reads them (`descriptorLimitHeaders`).
 */
import type { Limit } from '../engine/limit.js';
import { US_PER_SECOND } from '../engine/limit.js';
import type { BucketResult } from '../engine/plan.js';
import { Code, type DescriptorStatus } from '../rls/codec.js';

export type HeaderStyle = 'draft-10' | 'draft-6' | 'draft-03' | 'legacy';

export interface QuotaPolicy {
  readonly name: string;
  readonly quota: number;
  /** Seconds the quota refers to: a full refill of the bucket, or the window. */
  readonly windowSeconds: number;
  readonly draft10: string;
  readonly draft6: string;
  readonly draft03: string;
  /** `"name"` as a structured-field string, for the `RateLimit` item. */
  readonly quotedName: string;
}

export interface QuotaState {
  readonly policy: QuotaPolicy;
  readonly result: BucketResult;
}

/** A structured-field sf-string: printable ASCII with `"` and `\` escaped; anything else dropped. */
function sfString(text: string): string {
  return `"${text.replace(/[^\x20-\x7e]/g, '').replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function windowSeconds(limit: Limit): number {
  if (limit.algorithm === 'fixed_window' || limit.capacity === 0) return Math.ceil(limit.periodUs / US_PER_SECOND);
  return Math.ceil((limit.capacity * limit.periodUs) / limit.refillTokens / US_PER_SECOND);
}

export function quotaPolicy(name: string, limit: Limit): QuotaPolicy {
  const w = windowSeconds(limit);
  const quotedName = sfString(name);
  return Object.freeze({
    name,
    quota: limit.capacity,
    windowSeconds: w,
    quotedName,
    draft10: `${quotedName};q=${limit.capacity};w=${w}`,
    draft6: `${limit.capacity};w=${w}`,
    draft03: `${limit.capacity};w=${w};name=${quotedName}`,
  });
}

/** Whole seconds until the client may act: the retry time when denied, else until the bucket is full. */
export function secondsUntilReset(result: BucketResult): number {
  const us = !result.allowed && result.retryUs >= 0 ? result.retryUs : result.resetUs;
  return Math.ceil(us / US_PER_SECOND);
}

/** The limit that decides: one that denied, else the one with the fewest tokens left (the first of equals). */
export function tightest(states: readonly QuotaState[]): QuotaState {
  let best = states[0]!;
  for (const state of states) {
    if (!state.result.allowed && best.result.allowed) best = state;
    else if (state.result.allowed === best.result.allowed && state.result.remaining < best.result.remaining) best = state;
  }
  return best;
}

/** The header name/value pairs for the given limits (at least one). */
export function rateLimitHeaders(style: HeaderStyle, states: readonly QuotaState[], nowMs: number): [string, string][] {
  if (style === 'draft-10') {
    return [
      ['RateLimit-Policy', states.map((s) => s.policy.draft10).join(', ')],
      ['RateLimit', states.map((s) => `${s.policy.quotedName};r=${s.result.remaining};t=${secondsUntilReset(s.result)}`).join(', ')],
    ];
  }
  const { policy, result } = tightest(states);
  const reset = secondsUntilReset(result);
  switch (style) {
    case 'draft-6':
      return [
        ['RateLimit-Policy', states.map((s) => s.policy.draft6).join(', ')],
        ['RateLimit-Limit', String(policy.quota)],
        ['RateLimit-Remaining', String(result.remaining)],
        ['RateLimit-Reset', String(reset)],
      ];
    case 'draft-03':
      return [
        ['x-ratelimit-limit', `${policy.quota}, ${states.map((s) => s.policy.draft03).join(', ')}`],
        ['x-ratelimit-remaining', String(result.remaining)],
        ['x-ratelimit-reset', String(reset)],
      ];
    case 'legacy':
      return [
        ['X-RateLimit-Limit', String(policy.quota)],
        ['X-RateLimit-Remaining', String(result.remaining)],
        ['X-RateLimit-Reset', String(Math.ceil(nowMs / 1000) + reset)],
      ];
  }
}

/** The three header names of the reference's LIMIT_RESPONSE_HEADERS_ENABLED (`LIMIT_*_HEADER`). */
export interface LimitHeaderNames {
  readonly limit: string;
  readonly remaining: string;
  readonly reset: string;
}

/** The reference's defaults. */
export const REFERENCE_LIMIT_HEADER_NAMES: LimitHeaderNames = Object.freeze({
  limit: 'RateLimit-Limit',
  remaining: 'RateLimit-Remaining',
  reset: 'RateLimit-Reset',
});

/** What the reference's headers are read from: a response status and whether its descriptor is in quota mode. */
export interface ReportedStatus {
  readonly status: DescriptorStatus;
  readonly quotaMode: boolean;
}

/**
 * The reference's LIMIT_RESPONSE_HEADERS_ENABLED headers, chosen as it chooses: the first status
 * with the fewest requests left among those with a limit, unless a descriptor not in quota mode is
 * over its limit (the last such one then). Limit is the status's requests_per_unit, Remaining its
 * limit_remaining, Reset its duration_until_reset in whole seconds, rounded up (for a fixed window:
 * the seconds to the window's end, the reference's value). None without a status that has a limit.
 */
export function descriptorLimitHeaders(names: LimitHeaderNames, reported: readonly ReportedStatus[]): [string, string][] {
  let chosen: DescriptorStatus | undefined;
  for (const { status, quotaMode } of reported) {
    if (status.currentLimit === undefined) continue;
    if (status.code === Code.OVER_LIMIT && !quotaMode) chosen = status;
    else if (chosen === undefined || (chosen.code !== Code.OVER_LIMIT && status.limitRemaining < chosen.limitRemaining)) chosen = status;
  }
  if (chosen === undefined) return [];
  const reset = chosen.durationUntilReset;
  return [
    [names.limit, String(chosen.currentLimit!.requestsPerUnit)],
    [names.remaining, String(chosen.limitRemaining)],
    [names.reset, String(reset === undefined ? 0 : reset.seconds + (reset.nanos > 0 ? 1 : 0))],
  ];
}
