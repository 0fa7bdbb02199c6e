/**
 * A limit as the engine sees it: the numbers of one bucket, fixed at config load.
 * Spec: docs/token-bucket-spec.md. Times are integer microseconds everywhere in the engine.
 */

export type Algorithm = 'token_bucket' | 'fixed_window';

export interface Limit {
  readonly algorithm: Algorithm;
  /** Token bucket: the burst size. Fixed window: hits allowed per window. 0 blocks every charge. */
  readonly capacity: number;
  /** Token bucket: tokens added per period. Fixed window: unused (equals capacity). */
  readonly refillTokens: number;
  /** Token bucket: the refill period. Fixed window: the window length, aligned to the Unix epoch. */
  readonly periodUs: number;
  /**
   * Overdraft: every charge is applied, even one larger than what is left, so the level may go
   * below zero (a debt) and every decision denies until the debt has refilled. For charges made
   * after the fact (Envoy's `apply_on_stream_done` cost), which must count whatever the answer.
   */
  readonly overdraft: boolean;
  /**
   * Fingerprint of the numbers above, part of every bucket key: a reload that keeps a limit
   * keeps its buckets, a changed limit starts fresh ones.
   */
  readonly id: string;
}

export const US_PER_SECOND = 1_000_000;

/** Unit lengths in seconds, as envoyproxy/ratelimit defines them (month = 30 days, year = 365 days). */
export const UNIT_SECONDS = {
  second: 1,
  minute: 60,
  hour: 3600,
  day: 86_400,
  week: 604_800,
  month: 2_592_000,
  year: 31_536_000,
} as const;

export type Unit = keyof typeof UNIT_SECONDS;

export interface TokenBucketSpec {
  /** Maximum tokens the bucket holds (burst). */
  capacity: number;
  /** Tokens added per period. */
  refillTokens: number;
  periodUs: number;
  /** Default false: a charge larger than what is left is denied and charges nothing. */
  overdraft?: boolean;
}

/** Numbers the engine's math and the Lua script accept without loss (integers below 2^53 µs, finite rates). */
export function checkLimitNumbers(capacity: number, refillTokens: number, periodUs: number): string | undefined {
  if (!Number.isFinite(capacity) || capacity < 0) return `capacity must be a finite number >= 0, got ${capacity}`;
  if (!Number.isFinite(refillTokens) || refillTokens <= 0) return `refill must be a finite number > 0, got ${refillTokens}`;
  if (!Number.isSafeInteger(periodUs) || periodUs <= 0) return `period must be a whole number of microseconds > 0, got ${periodUs}`;
  return undefined;
}

function assertLimitNumbers(capacity: number, refillTokens: number, periodUs: number): void {
  const problem = checkLimitNumbers(capacity, refillTokens, periodUs);
  if (problem !== undefined) throw new RangeError(problem);
}

/**
 * The id's mark of an overdraft limit, so its buckets never meet those of the same numbers without
 * it (a debt means nothing to a bucket that cannot hold one). None without: ids, and so the buckets
 * stored before overdraft existed, stay as they were.
 */
function overdraftMark(overdraft: boolean): string {
  return overdraft ? ':od' : '';
}

export function tokenBucket(spec: TokenBucketSpec): Limit {
  assertLimitNumbers(spec.capacity, spec.refillTokens, spec.periodUs);
  const overdraft = spec.overdraft ?? false;
  return Object.freeze({
    algorithm: 'token_bucket',
    capacity: spec.capacity,
    refillTokens: spec.refillTokens,
    periodUs: spec.periodUs,
    overdraft,
    id: `tb:${spec.capacity}:${spec.refillTokens}:${spec.periodUs}${overdraftMark(overdraft)}`,
  });
}

export function fixedWindow(hitsPerWindow: number, windowUs: number, overdraft = false): Limit {
  // refillTokens is meaningless for a window; 1 keeps the shared number checks simple.
  assertLimitNumbers(hitsPerWindow, 1, windowUs);
  return Object.freeze({
    algorithm: 'fixed_window',
    capacity: hitsPerWindow,
    refillTokens: hitsPerWindow,
    periodUs: windowUs,
    overdraft,
    id: `fw:${hitsPerWindow}:${windowUs}${overdraftMark(overdraft)}`,
  });
}

export function unitToUs(unit: Unit): number {
  return UNIT_SECONDS[unit] * US_PER_SECOND;
}
