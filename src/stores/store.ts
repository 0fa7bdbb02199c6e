import type { BucketRequest, Decision, Plan } from '../engine/plan.js';

/**
 * Where buckets live. One small interface for memory and Redis; the failure modes and caches of
 * later layers wrap a store rather than living inside one.
 */
export interface BucketStore {
  /**
   * Decides a plan atomically (see `ChargeMode`). Resolves with the decision, denied or not;
   * rejects only with a `StoreError`, when the store could not decide in time.
   */
  decide(plan: Plan): Promise<Decision>;
  /** Deletes buckets; resolves with how many existed. */
  reset(keys: readonly string[]): Promise<number>;
  /** Resolves when the store can decide again (a cheap round trip); rejects with a StoreError otherwise. */
  probe(): Promise<void>;
  /** Releases timers and connections. */
  close(): Promise<void>;
}

/**
 * A store that can give a charge back, atomically with concurrent decisions (the Express
 * middleware's `skipSuccessfulRequests` / `skipFailedRequests`).
 */
export interface RefundableStore extends BucketStore {
  /** Gives back each bucket's `cost` (a repeated key: the sum, once): docs/token-bucket-spec.md, "Refunds". */
  refund(buckets: readonly BucketRequest[]): Promise<void>;
}

export function canRefund(store: BucketStore): store is RefundableStore {
  return typeof (store as Partial<RefundableStore>).refund === 'function';
}

/**
 * Why the store could not decide. Redis faults: `timeout` (Redis silent), `unavailable` (no
 * connection: refused, lost, not yet made), `auth` (wrong or missing credentials), `failed` (an
 * error reply). `overloaded` is not a Redis fault: this process shed the call (docs/redis.md).
 */
export type StoreErrorKind = 'timeout' | 'unavailable' | 'auth' | 'failed' | 'overloaded';

/** The store could not decide: tell it apart from "limited" and pick a failure mode. */
export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    readonly kind: StoreErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isStoreError(error: unknown): error is StoreError {
  return error instanceof StoreError;
}
