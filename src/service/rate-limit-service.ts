/**
 * ShouldRateLimit, transport-free: request descriptors → config matches → one plan → one store
 * decision → statuses and headers. gRPC and `POST /json` are thin shells over `shouldRateLimit`.
 */
import type { ConfigSnapshot, ConfiguredLimit, DescriptorMatch } from '../config/index.js';
import { bucketKey } from '../engine/keys.js';
import type { Algorithm } from '../engine/limit.js';
import type { BucketRequest, BucketResult, ChargeMode, Decision } from '../engine/plan.js';
import { descriptorLimitHeaders, type HeaderStyle, type LimitHeaderNames, rateLimitHeaders, type QuotaState } from './rate-limit-headers.js';
import { Code, type DescriptorStatus, type HeaderValue, type RateLimitRequest, type RateLimitResponse } from '../rls/codec.js';
import { isStoreError, type BucketStore } from '../stores/store.js';
import type { DecisionObserver, LimitOutcome } from './decision-observer.js';
import { dynamicMetadata } from './dynamic-metadata.js';
import { limitView } from './limit-view.js';
import { checkRequest, type RequestLimits } from './request-limits.js';

/** The answer to every call before a config is loaded, in the reference's words. */
export const NO_CONFIG_MESSAGE = 'no rate limit configuration loaded';

export type ResponseHeaders = 'off' | Extract<HeaderStyle, 'draft-10' | 'draft-03'>;

export interface RateLimitServiceOptions {
  readonly store: BucketStore;
  /**
   * The current config; read once per request, so a reload never splits one request. Undefined
   * until a first config is loaded (a forced start): calls are then `unavailable`.
   */
  readonly config: () => ConfigSnapshot | undefined;
  /** Prefix of every bucket key. */
  readonly keyPrefix: string;
  /**
   * Global shadow mode: every limit is evaluated and counted; the overall code is always OK, each
   * status keeps its real code (as the reference service).
   */
  readonly shadowMode: boolean;
  /** `all_or_nothing` (a denied request charges nothing) or `independent` (the reference's charging). */
  readonly chargeMode: ChargeMode;
  /** Global quota mode (`QUOTA_MODE`): every descriptor is in quota mode. Default false. */
  readonly quotaMode?: boolean;
  /** `RESPONSE_DYNAMIC_METADATA`: answer with the reference's `dynamic_metadata`. Default false. */
  readonly responseDynamicMetadata?: boolean;
  readonly responseHeaders: ResponseHeaders;
  /**
   * The reference's LIMIT_RESPONSE_HEADERS_ENABLED: its three headers, named so, for the descriptor
   * closest to its limit, after those of `responseHeaders`. Undefined: off.
   */
  readonly limitHeaders?: LimitHeaderNames | undefined;
  readonly requestLimits: RequestLimits;
  /** Epoch ms, for header values that are absolute times. */
  readonly now?: () => number;
  /** Told about every decided request (metrics, stats). */
  readonly observer?: DecisionObserver;
}

/**
 * Why a call could not be decided: the adapters map these to gRPC status codes / HTTP statuses.
 * `unavailable`: the store failed (Redis) and the failure mode is `error`, or no config is loaded yet. `overloaded`: this
 * process shed the call. `deadline_exceeded`: the caller's deadline passed before the store was asked.
 */
export type ServiceFailure = {
  readonly kind: 'invalid_argument' | 'unavailable' | 'overloaded' | 'deadline_exceeded';
  readonly message: string;
};

/** What the transport knows about a call beyond its message. */
export interface CallContext {
  /** Epoch ms after which the caller no longer waits for the answer (gRPC `grpc-timeout`). */
  readonly deadlineMs?: number;
}

export type ServiceResult = { readonly ok: true; readonly response: RateLimitResponse } | ({ readonly ok: false } & ServiceFailure);

const UINT32_MAX = 4_294_967_295;
const OK_STATUS: DescriptorStatus = Object.freeze({ code: Code.OK, limitRemaining: 0 });
const UNLIMITED_STATUS: DescriptorStatus = Object.freeze({ code: Code.OK, limitRemaining: UINT32_MAX });

/** Where each bucket of the plan came from. */
interface PlannedBucket {
  readonly descriptor: number;
  readonly limit: ConfiguredLimit;
}

function durationOf(us: number): { seconds: number; nanos: number } {
  const seconds = Math.floor(us / 1_000_000);
  return { seconds, nanos: (us - seconds * 1_000_000) * 1000 };
}

/**
 * duration_until_reset as Envoy uses it (x-ratelimit-reset, Retry-After): a denied bucket reports
 * when a request of the same cost can pass (its retry time; the time until full when it never can),
 * an allowed one when it is full again; a fixed window reports its end in whole seconds, rounded up,
 * as the reference service does (docs/config.md).
 */
function untilReset(result: BucketResult, denied: boolean, algorithm: Algorithm): { seconds: number; nanos: number } {
  const us = denied && result.retryUs >= 0 ? result.retryUs : result.resetUs;
  return algorithm === 'fixed_window' ? { seconds: Math.ceil(us / 1_000_000), nanos: 0 } : durationOf(us);
}

function hitsFor(request: RateLimitRequest, descriptor: number): number {
  const own = request.descriptors[descriptor]!.hitsAddend;
  if (own !== undefined) return own;
  return request.hitsAddend > 0 ? request.hitsAddend : 1;
}

export class RateLimitService {
  constructor(private readonly options: RateLimitServiceOptions) {}

  async shouldRateLimit(request: RateLimitRequest, context: CallContext = {}): Promise<ServiceResult> {
    const started = performance.now();
    const problem = checkRequest(request, this.options.requestLimits);
    if (problem !== undefined) return this.failure(started, 'invalid_argument', problem);
    const config = this.options.config();
    if (config === undefined) return this.failure(started, 'unavailable', NO_CONFIG_MESSAGE);
    const matches = config.applyReplaces(request.descriptors.map((d) => this.match(config, request.domain, d)));
    const { buckets, planned } = this.plan(request, matches);
    let decision: Decision | undefined;
    if (buckets.length > 0) {
      // A caller that already gave up is not worth a store round trip (nor a charge).
      if (context.deadlineMs !== undefined && Date.now() >= context.deadlineMs) {
        this.options.observer?.shed?.('deadline');
        return this.failure(started, 'deadline_exceeded', "the caller's deadline passed before the store was asked");
      }
      try {
        decision = await this.options.store.decide({ mode: this.options.chargeMode, buckets });
      } catch (error) {
        if (!isStoreError(error)) throw error;
        if (error.kind !== 'overloaded') return this.failure(started, 'unavailable', error.message);
        this.options.observer?.shed?.('in_flight');
        return this.failure(started, 'overloaded', error.message);
      }
    }
    const response = this.respond(matches, planned, decision);
    if (this.options.responseDynamicMetadata === true) response.dynamicMetadata = dynamicMetadata(request, matches, response.statuses);
    this.options.observer?.observe({
      domain: request.domain,
      domainNotFound: !config.hasDomain(request.domain),
      overLimit: response.overallCode === Code.OVER_LIMIT,
      globalShadowOverLimit: this.options.shadowMode && response.statuses.some((status) => status.code === Code.OVER_LIMIT),
      source: decision?.source ?? 'store',
      limits: decision === undefined ? [] : this.outcomes(request, matches, planned, decision),
      durationSeconds: (performance.now() - started) / 1000,
    });
    return { ok: true, response };
  }

  /** A failure, timed for the observers as the reference times every call. */
  private failure(started: number, kind: ServiceFailure['kind'], message: string): ServiceResult {
    this.options.observer?.undecided?.((performance.now() - started) / 1000);
    return { ok: false, kind, message };
  }

  private outcomes(
    request: RateLimitRequest,
    matches: readonly (DescriptorMatch | undefined)[],
    planned: readonly PlannedBucket[],
    decision: Decision,
  ): LimitOutcome[] {
    return planned.map(({ descriptor, limit }, b) => {
      const result = decision.buckets[b]!;
      return {
        domain: request.domain,
        metricKey: matches[descriptor]!.metricKey + limit.metricSuffix,
        entries: request.descriptors[descriptor]!.entries,
        hits: hitsFor(request, descriptor),
        limit: result.limit,
        remaining: result.remaining,
        allowed: result.allowed,
        shadow: this.isShadow(limit),
      };
    });
  }

  private match(config: ConfigSnapshot, domain: string, descriptor: RateLimitRequest['descriptors'][number]): DescriptorMatch | undefined {
    if (descriptor.limit !== undefined) {
      const override = config.matchOverride(domain, descriptor.entries, descriptor.limit);
      if (override !== undefined) return override;
    }
    return config.match(domain, descriptor.entries);
  }

  private plan(request: RateLimitRequest, matches: readonly (DescriptorMatch | undefined)[]) {
    const buckets: BucketRequest[] = [];
    const planned: PlannedBucket[] = [];
    matches.forEach((match, descriptor) => {
      if (match === undefined) return;
      const cost = hitsFor(request, descriptor);
      // A quota-mode denial alone does not deny the request, so it must not stop the others' charge
      // either: to the store it is a shadow bucket; respond() applies the quota rule.
      const quota = this.inQuotaMode(match);
      for (const configured of match.limits) {
        if (configured.limit === undefined) continue; // unlimited
        buckets.push({
          key: bucketKey(this.options.keyPrefix, configured.limit.id, match.identity),
          limit: configured.limit,
          cost,
          shadow: this.options.shadowMode || configured.shadowMode || quota,
        });
        planned.push({ descriptor, limit: configured });
      }
    });
    return { buckets, planned };
  }

  private respond(matches: readonly (DescriptorMatch | undefined)[], planned: readonly PlannedBucket[], decision: Decision | undefined): RateLimitResponse {
    // Per descriptor, the bucket that decides what it reports: its first non-shadow denial, else
    // its bucket with the fewest tokens left.
    const deciding = new Array<number | undefined>(matches.length);
    // Lower rank decides: a denial by a limit not in shadow mode (-1), else fewer tokens left; ties keep the first.
    const rank = (b: number) => {
      const result = decision!.buckets[b]!;
      return !result.allowed && !planned[b]!.limit.shadowMode ? -1 : result.remaining;
    };
    planned.forEach(({ descriptor }, b) => {
      const current = deciding[descriptor];
      if (current === undefined || rank(b) < rank(current)) deciding[descriptor] = b;
    });

    // Quota mode (per descriptor or global): a quota-mode descriptor over its limit denies the
    // request only when every quota-mode descriptor of it is over, as the reference decides.
    let otherOver = false;
    let quotaDescriptors = 0;
    let quotaOver = 0;
    let retryUs = -1;
    const statuses = matches.map((match, descriptor): DescriptorStatus => {
      if (match === undefined) return OK_STATUS;
      const b = deciding[descriptor];
      // Only unlimited limits matched: OK with the most remaining and, as the reference answers, no current_limit.
      if (b === undefined) return UNLIMITED_STATUS;
      const result = decision!.buckets[b]!;
      const limit = planned[b]!.limit;
      // A limit's own shadow_mode reports OK; global shadow mode keeps each status's real code (so
      // Envoy's headers still show it) and only turns the overall code OK, as the reference does.
      const denied = !result.allowed && !limit.shadowMode;
      const quota = this.inQuotaMode(match);
      if (quota) quotaDescriptors += 1;
      if (denied) {
        if (quota) quotaOver += 1;
        else otherOver = true;
        retryUs = Math.max(retryUs, result.retryUs);
      }
      return {
        code: denied ? Code.OVER_LIMIT : Code.OK,
        currentLimit: limitView(limit).currentLimit,
        limitRemaining: Math.min(result.remaining, UINT32_MAX),
        // Planned buckets are never unlimited, so they have a limit.
        durationUntilReset: untilReset(result, denied, limit.limit!.algorithm),
      };
    });
    const overLimit = otherOver || (quotaDescriptors > 0 && quotaOver === quotaDescriptors);
    const denies = overLimit && !this.options.shadowMode;
    const responseHeadersToAdd = this.options.responseHeaders === 'off' ? [] : this.headers(planned, decision, denies, retryUs);
    const names = this.options.limitHeaders;
    if (names !== undefined) {
      const reported = statuses.map((status, descriptor) => ({
        status,
        quotaMode: matches[descriptor] !== undefined && this.inQuotaMode(matches[descriptor]),
      }));
      for (const [key, value] of descriptorLimitHeaders(names, reported)) responseHeadersToAdd.push({ key, value });
    }
    return { overallCode: denies ? Code.OVER_LIMIT : Code.OK, statuses, responseHeadersToAdd, requestHeadersToAdd: [] };
  }

  /** Quota mode, per descriptor or global (QUOTA_MODE). */
  private inQuotaMode(match: DescriptorMatch): boolean {
    return this.options.quotaMode === true || match.rule?.quotaMode === true;
  }

  private isShadow(limit: ConfiguredLimit): boolean {
    return this.options.shadowMode || limit.shadowMode;
  }

  private headers(planned: readonly PlannedBucket[], decision: Decision | undefined, overLimit: boolean, retryUs: number): HeaderValue[] {
    const style = this.options.responseHeaders;
    if (style === 'off' || decision === undefined) return [];
    // Planned buckets are never unlimited, so they have a policy.
    const quotas: QuotaState[] = planned.map(({ limit }, b) => ({ policy: limitView(limit).policy!, result: decision.buckets[b]! }));
    const nowMs = (this.options.now ?? Date.now)();
    const headers = rateLimitHeaders(style, quotas, nowMs).map(([key, value]) => ({ key, value }));
    if (overLimit && retryUs >= 0) {
      headers.push({ key: 'Retry-After', value: String(Math.ceil(retryUs / 1_000_000)) });
    }
    return headers;
  }
}
