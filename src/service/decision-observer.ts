/**
 * What the service tells observers (metrics, stats, top-K) about each decided request: one call
 * per ShouldRateLimit, from one place, so adapters never count anything themselves.
 */
import type { DescriptorEntry } from '../rls/codec.js';

/** How one limit of one descriptor came out. */
export interface LimitOutcome {
  readonly domain: string;
  /** `domain.key_value...` plus the limit's suffix: the metric label (bounded cardinality). */
  readonly metricKey: string;
  /** The descriptor's entries as the request sent them (for top-K of limited identities). */
  readonly entries: readonly DescriptorEntry[];
  /** Tokens the request asked of this limit. */
  readonly hits: number;
  /** The limit's capacity. */
  readonly limit: number;
  /** Whole tokens left after the decision. */
  readonly remaining: number;
  /** This limit's own verdict. */
  readonly allowed: boolean;
  /** Shadow mode: a denial here denied nothing. */
  readonly shadow: boolean;
}

/** Where the decision came from. */
export type DecisionSource = 'store' | 'local_cache' | 'failure_mode';

export interface RequestOutcome {
  readonly domain: string;
  readonly overLimit: boolean;
  /** The config has no such domain (answered OK without limits; the reference's `domain_not_found`). */
  readonly domainNotFound?: boolean;
  /** Answered OK only because of global shadow mode: a status is OVER_LIMIT. */
  readonly globalShadowOverLimit?: boolean;
  readonly source: DecisionSource;
  readonly limits: readonly LimitOutcome[];
  /** Time the service took, in seconds. */
  readonly durationSeconds: number;
}

/**
 * Why a call was shed without a decision: too many decisions already waiting on the store, or the
 * caller's deadline had passed before the store was asked (docs/redis.md#overload).
 */
export type ShedReason = 'in_flight' | 'deadline';

export interface DecisionObserver {
  observe(outcome: RequestOutcome): void;
  /** A call shed without a decision. */
  shed?(reason: ShedReason): void;
  /** A call the service answered with a failure (shed ones included), after `durationSeconds`. */
  undecided?(durationSeconds: number): void;
}
