import type { Limit } from './limit.js';

/**
 * How a multi-bucket decision charges:
 * - `all_or_nothing` (default): every bucket must allow; if any denies, none is charged.
 * - `independent`: envoyproxy/ratelimit's behaviour, for migration: each bucket is decided on its
 *   own; allowed token buckets are charged, and fixed windows count every hit, denied ones too.
 */
export type ChargeMode = 'all_or_nothing' | 'independent';

export interface BucketRequest {
  /**
   * The store key, from `bucketKey()`. Buckets of one plan with the same key are one bucket,
   * decided once for the sum of their costs (docs/token-bucket-spec.md, "Deciding a plan", step 1):
   * two descriptors of a request that resolve to one key are charged for both.
   */
  readonly key: string;
  readonly limit: Limit;
  /** Tokens to take; 0 looks without consuming. A whole number >= 0. */
  readonly cost: number;
  /**
   * Shadow mode: decided and charged like any bucket, but its denial never denies the request
   * (nor stops the other buckets from being charged). Default false. A repeated key is shadow
   * only if every one of its buckets is.
   */
  readonly shadow?: boolean;
}

export interface Plan {
  readonly buckets: readonly BucketRequest[];
  readonly mode: ChargeMode;
}

/** Why a bucket denied. */
export type DenyReason = 'insufficient_tokens' | 'cost_exceeds_capacity';

export interface BucketResult {
  readonly allowed: boolean;
  /** Set when the bucket denied. */
  readonly reason: DenyReason | undefined;
  /** The limit's capacity. */
  readonly limit: number;
  /** Whole tokens (or hits) left after this decision. */
  readonly remaining: number;
  /**
   * Exact tokens left (fractional for a token bucket; below 0 for an overdraft bucket in debt); for
   * a fixed window the same as `remaining`.
   */
  readonly level: number;
  /** Token bucket: µs until the bucket is full again. Fixed window: µs until the window ends. */
  readonly resetUs: number;
  /**
   * 0 when allowed; µs until `cost` tokens (a repeated key: the summed cost) are available when
   * denied; -1 when they never will be.
   */
  readonly retryUs: number;
}

export interface Decision {
  /** True when every non-shadow bucket allowed (in `independent` mode, too: the request as a whole). */
  readonly allowed: boolean;
  /** One result per bucket of the plan, in plan order; the buckets of a repeated key share one result. */
  readonly buckets: readonly BucketResult[];
  /**
   * Who decided when it was not the store itself: the local over-limit cache, or a failure mode
   * while the store was unavailable. Absent for a store decision.
   */
  readonly source?: 'local_cache' | 'failure_mode';
}
