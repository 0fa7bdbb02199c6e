/**
 * What the store layers (circuit breaker, local over-limit cache) expose for metrics, /stats and
 * the dashboard. They implement it; observability only reads it, at scrape or poll time.
 */
export type BreakerState = 'closed' | 'open' | 'half_open';

export const BREAKER_STATES: readonly BreakerState[] = ['closed', 'open', 'half_open'];

export interface LocalCacheState {
  /** Keys currently held as over their limit. */
  readonly entries: number;
  /** Decisions answered from the cache since start (monotonic). */
  readonly hits: number;
}

export interface StoreHealth {
  breakerState(): BreakerState;
  /** Undefined when the local cache is off. */
  localCache(): LocalCacheState | undefined;
}
