/**
 * What to answer when the store cannot decide (timeout, Redis down, breaker open):
 * - `error`: reject (the sidecar answers gRPC UNAVAILABLE, so Envoy's own failure_mode_deny decides);
 * - `allow` / `deny`: answer every bucket allowed / denied;
 * - `local`: decide with an in-process token bucket holding each limit divided by `localShare`
 *   (the number of sidecars sharing the limit), so a fleet stays roughly within its limits; a
 *   share never holds less than one request (see `localLimit`).
 * A circuit breaker stops waiting on a store that keeps failing. Decisions made here carry
 * `source: 'failure_mode'`.
 */
import { fixedWindow, type Limit, tokenBucket } from '../engine/limit.js';
import type { BucketResult, Decision, Plan } from '../engine/plan.js';
import { type BreakerState, CircuitBreaker } from './circuit-breaker.js';
import { MemoryStore } from './memory-store.js';
import { type BucketStore, isStoreError, StoreError, type StoreErrorKind } from './store.js';

export type FailureMode = 'error' | 'allow' | 'deny' | 'local';

export interface FailureModeOptions {
  readonly mode: FailureMode;
  /** `local` mode: each limit is divided by this (how many sidecars share it). Default 1. */
  readonly localShare?: number;
  readonly breakerThreshold?: number;
  readonly breakerProbeIntervalMs?: number;
  /** Breaker changes (for logs and metrics: one line per change, never per request). */
  readonly onBreakerChange?: (state: BreakerState) => void;
  /** Every store failure, before the failure mode answers (for error/timeout counters). */
  readonly onStoreError?: (kind: StoreErrorKind) => void;
  /**
   * The failure mode started answering instead of the store (true), or the store answered again
   * (false): once per change, so logs can say which answers were invented without a line per request.
   */
  readonly onFallbackChange?: (answering: boolean) => void;
}

/** Scaled limits kept at most; request-supplied limit overrides must not grow the map without end. */
const MAX_SCALED_LIMITS = 4096;

/** How long a client is told to wait when the store is away and the answer is `deny`. */
const UNKNOWN_RETRY_US = 1_000_000;

/** A limit of 0 (`requests_per_unit: 0`) blocks everything and stays 0; any other keeps one token. */
const atLeastOne = (tokens: number) => (tokens === 0 ? 0 : Math.max(1, tokens));

function synthetic(plan: Plan, allow: boolean): Decision {
  const buckets = plan.buckets.map(({ limit, shadow }): BucketResult => {
    const allowed = allow || shadow === true;
    return {
      allowed,
      reason: allowed ? undefined : 'insufficient_tokens',
      limit: limit.capacity,
      remaining: allowed ? Math.floor(limit.capacity) : 0,
      level: allowed ? limit.capacity : 0,
      resetUs: 0,
      retryUs: allowed ? 0 : UNKNOWN_RETRY_US,
    };
  });
  return { allowed: allow, buckets, source: 'failure_mode' };
}

export class FailureModeStore implements BucketStore {
  readonly breaker: CircuitBreaker;
  private readonly local: MemoryStore | undefined;
  private readonly shareOf = new Map<string, Limit>();
  private fallingBack = false;

  constructor(
    private readonly inner: BucketStore,
    private readonly options: FailureModeOptions,
  ) {
    this.breaker = new CircuitBreaker({
      threshold: options.breakerThreshold ?? 5,
      probeIntervalMs: options.breakerProbeIntervalMs ?? 500,
      probe: () => inner.probe(),
      ...(options.onBreakerChange === undefined ? {} : { onChange: options.onBreakerChange }),
    });
    this.local = options.mode === 'local' ? new MemoryStore() : undefined;
  }

  decide(plan: Plan): Promise<Decision> {
    if (this.breaker.isOpen) return this.fallback(plan, new StoreError('unavailable', 'redis: circuit breaker open'));
    // Plain promises, not async/await: one promise per decision fewer, and the success path shares one bound callback.
    return this.inner.decide(plan).then(this.decided, (error: unknown) => this.failed(plan, error));
  }

  private readonly decided = (decision: Decision): Decision => {
    this.breaker.success();
    this.setFallingBack(false);
    return decision;
  };

  private failed(plan: Plan, error: unknown): Promise<Decision> {
    // Only Redis faults count towards the breaker; a shed call is not one.
    if (!isStoreError(error) || error.kind === 'overloaded') return Promise.reject(error);
    this.options.onStoreError?.(error.kind);
    this.breaker.failure();
    return this.fallback(plan, error);
  }

  reset(keys: readonly string[]): Promise<number> {
    void this.local?.reset(keys);
    return this.inner.reset(keys);
  }

  probe(): Promise<void> {
    return this.inner.probe();
  }

  async close(): Promise<void> {
    this.breaker.stop();
    await Promise.all([this.inner.close(), this.local?.close()]);
  }

  private setFallingBack(answering: boolean): void {
    if (this.fallingBack === answering) return;
    this.fallingBack = answering;
    this.options.onFallbackChange?.(answering);
  }

  private fallback(plan: Plan, error: StoreError): Promise<Decision> {
    if (this.options.mode === 'error') return Promise.reject(error);
    this.setFallingBack(true);
    switch (this.options.mode) {
      case 'allow':
        return Promise.resolve(synthetic(plan, true));
      case 'deny':
        return Promise.resolve(synthetic(plan, false));
      case 'local': {
        const scaled: Plan = { mode: plan.mode, buckets: plan.buckets.map((b) => ({ ...b, limit: this.localLimit(b.limit) })) };
        return this.local!.decide(scaled).then((decision) => ({ ...decision, source: 'failure_mode' as const }));
      }
    }
  }

  /**
   * The limit divided by the local share, built once per limit. The rate is divided exactly, but
   * the capacity (the burst; a fixed window's count) is at least one token: 5/min shared by 10
   * would otherwise hold 0.5 tokens, and a bucket that can never hold one whole request denies
   * everything for the whole outage. With at least one token each sidecar admits a request, then
   * one per 1/rate (here every 2 minutes), with a Retry-After.
   */
  private localLimit(limit: Limit): Limit {
    const share = this.options.localShare ?? 1;
    if (share === 1) return limit;
    let scaled = this.shareOf.get(limit.id);
    if (scaled === undefined) {
      scaled =
        limit.algorithm === 'token_bucket'
          ? tokenBucket({
              capacity: atLeastOne(limit.capacity / share),
              refillTokens: limit.refillTokens / share,
              periodUs: limit.periodUs,
              overdraft: limit.overdraft,
            })
          : fixedWindow(atLeastOne(limit.capacity / share), limit.periodUs, limit.overdraft);
      if (this.shareOf.size >= MAX_SCALED_LIMITS) this.shareOf.clear();
      this.shareOf.set(limit.id, scaled);
    }
    return scaled;
  }
}
