/**
 * The shared test vectors of docs/token-bucket-spec.md: stored state, time and parameters in,
 * decision and writes out. Expected values are worked out by hand from the spec (the 1/3-rate
 * cases with Python's IEEE doubles, an independent implementation). Run against the TypeScript
 * math, MemoryStore and the Lua script in Redis; all three must agree exactly.
 */
import type { BucketState } from '../../src/engine/bucket-math.js';
import { fixedWindow, type Limit, tokenBucket } from '../../src/engine/limit.js';
import type { ChargeMode, DenyReason, Plan } from '../../src/engine/plan.js';

export const NOW = 1_700_000_000_000_000; // µs
/** Start of the 60 s window containing NOW: floor(NOW / 60e6) * 60e6. */
export const WINDOW_START = 1_699_999_980_000_000;

const tb10 = tokenBucket({ capacity: 10, refillTokens: 10, periodUs: 1_000_000 });
const tb5 = tokenBucket({ capacity: 5, refillTokens: 5, periodUs: 1_000_000 });
const tbThird = tokenBucket({ capacity: 5, refillTokens: 1, periodUs: 3_000_000 });
const tbBlocked = tokenBucket({ capacity: 0, refillTokens: 1, periodUs: 1_000_000 });
const fw3 = fixedWindow(3, 60_000_000);
/** Overdraft (spec, "Overdraft"): 10 tokens, one back every 100 ms; every charge is applied. */
const tbDebt = tokenBucket({ capacity: 10, refillTokens: 10, periodUs: 1_000_000, overdraft: true });
const fwDebt = fixedWindow(3, 60_000_000, true);

export interface VectorBucket {
  limit: Limit;
  cost: number;
  /** The stored state; for a repeated key, given on its first bucket only. */
  state?: BucketState;
  shadow?: boolean;
  /** Buckets with the same `key` share one store key (a repeated key); default: a key of its own. */
  key?: string;
}

export interface ExpectedBucket {
  allowed: boolean;
  reason?: DenyReason;
  level: number;
  remaining: number;
  resetUs: number;
  retryUs: number;
  /** The state written, or absent when this bucket is not written (a repeated key: on its first bucket). */
  write?: { state: BucketState; ttlUs: number };
}

/** The BucketResult a vector expects for bucket `i`. */
export function expectedResult(vector: Vector, i: number) {
  const want = vector.expect[i]!;
  return {
    allowed: want.allowed,
    reason: want.reason,
    limit: vector.buckets[i]!.limit.capacity,
    level: want.level,
    remaining: want.remaining,
    resetUs: want.resetUs,
    retryUs: want.retryUs,
  };
}

export interface Vector {
  name: string;
  mode: ChargeMode;
  buckets: VectorBucket[];
  allowed: boolean;
  expect: ExpectedBucket[];
}

/** Each bucket's store key, under `prefix`: its `key` when it has one, else one of its own. */
export function vectorKeys(buckets: readonly VectorBucket[], prefix: string): string[] {
  return buckets.map((bucket, i) => `${prefix}${bucket.key ?? `#${i}`}`);
}

/** The vector as a plan, its keys under `prefix`. */
export function vectorPlan(vector: Vector, prefix: string): Plan {
  const keys = vectorKeys(vector.buckets, prefix);
  return {
    mode: vector.mode,
    buckets: vector.buckets.map((b, i) => ({ key: keys[i]!, limit: b.limit, cost: b.cost, shadow: b.shadow === true })),
  };
}

/** The state a store reads for each bucket: a repeated key's buckets all read the one of its first. */
export function storedStates(buckets: readonly VectorBucket[]): (BucketState | undefined)[] {
  return buckets.map((bucket) => (bucket.key === undefined ? bucket : buckets.find((b) => b.key === bucket.key)!).state);
}

const INTO_DEBT: Vector = {
  name: 'overdraft: a charge of 8 with 3 left goes into debt: denied, charged, retry when the debt is repaid',
  mode: 'all_or_nothing',
  buckets: [{ limit: tbDebt, cost: 8, state: { level: 3, stamp: NOW } }],
  allowed: false,
  expect: [
    { allowed: false, reason: 'insufficient_tokens', level: -5, remaining: 0, resetUs: 1_500_000, retryUs: 500_000, write: { state: { level: -5, stamp: NOW }, ttlUs: 1_500_000 } },
  ],
};

export const VECTORS: Vector[] = [
  {
    name: 'token bucket: a new bucket starts full and is charged',
    mode: 'all_or_nothing',
    buckets: [{ limit: tb10, cost: 1 }],
    allowed: true,
    expect: [{ allowed: true, level: 9, remaining: 9, resetUs: 100_000, retryUs: 0, write: { state: { level: 9, stamp: NOW }, ttlUs: 100_000 } }],
  },
  {
    name: 'token bucket: partial refill is not enough, retry when the shortfall has refilled',
    mode: 'all_or_nothing',
    buckets: [{ limit: tb10, cost: 3, state: { level: 0, stamp: NOW - 250_000 } }],
    allowed: false,
    expect: [{ allowed: false, reason: 'insufficient_tokens', level: 2.5, remaining: 2, resetUs: 750_000, retryUs: 50_000 }],
  },
  {
    name: 'token bucket: fractional tokens are kept after a charge',
    mode: 'all_or_nothing',
    buckets: [{ limit: tb10, cost: 2, state: { level: 0, stamp: NOW - 250_000 } }],
    allowed: true,
    expect: [{ allowed: true, level: 0.5, remaining: 0, resetUs: 950_000, retryUs: 0, write: { state: { level: 0.5, stamp: NOW }, ttlUs: 950_000 } }],
  },
  {
    name: 'token bucket: a cost above the capacity is denied for good, never waited on',
    mode: 'all_or_nothing',
    buckets: [{ limit: tb10, cost: 11 }],
    allowed: false,
    expect: [{ allowed: false, reason: 'cost_exceeds_capacity', level: 10, remaining: 10, resetUs: 0, retryUs: -1 }],
  },
  {
    name: 'token bucket: cost 0 looks without consuming or writing',
    mode: 'all_or_nothing',
    buckets: [{ limit: tb10, cost: 0, state: { level: 4, stamp: NOW - 100_000 } }],
    allowed: true,
    expect: [{ allowed: true, level: 5, remaining: 5, resetUs: 500_000, retryUs: 0 }],
  },
  {
    name: 'token bucket: a stamp in the future (clock went back) refills nothing',
    mode: 'all_or_nothing',
    buckets: [{ limit: tb10, cost: 1, state: { level: 3, stamp: NOW + 5_000_000 } }],
    allowed: true,
    expect: [{ allowed: true, level: 2, remaining: 2, resetUs: 800_000, retryUs: 0, write: { state: { level: 2, stamp: NOW }, ttlUs: 800_000 } }],
  },
  {
    name: 'token bucket: refill stops at the capacity',
    mode: 'all_or_nothing',
    buckets: [{ limit: tb10, cost: 10, state: { level: 9, stamp: NOW - 10_000_000 } }],
    allowed: true,
    expect: [{ allowed: true, level: 0, remaining: 0, resetUs: 1_000_000, retryUs: 0, write: { state: { level: 0, stamp: NOW }, ttlUs: 1_000_000 } }],
  },
  {
    name: 'token bucket: a rate of 1/3 token per second rounds the same way in both implementations',
    mode: 'all_or_nothing',
    buckets: [{ limit: tbThird, cost: 1, state: { level: 0, stamp: NOW - 1_000_000 } }],
    allowed: false,
    expect: [{ allowed: false, reason: 'insufficient_tokens', level: 0.3333333333333333, remaining: 0, resetUs: 14_000_000, retryUs: 2_000_001 }],
  },
  {
    name: 'token bucket: a fraction that needs 17 digits survives the round trip',
    mode: 'all_or_nothing',
    buckets: [{ limit: tbThird, cost: 1, state: { level: 0.9, stamp: NOW - 1_000_000 } }],
    allowed: true,
    expect: [
      {
        allowed: true,
        level: 0.2333333333333334,
        remaining: 0,
        resetUs: 14_300_000,
        retryUs: 0,
        write: { state: { level: 0.2333333333333334, stamp: NOW }, ttlUs: 14_300_000 },
      },
    ],
  },
  {
    name: 'token bucket: capacity 0 (requests_per_unit: 0) blocks every charge',
    mode: 'all_or_nothing',
    buckets: [{ limit: tbBlocked, cost: 1 }],
    allowed: false,
    expect: [{ allowed: false, reason: 'cost_exceeds_capacity', level: 0, remaining: 0, resetUs: 0, retryUs: -1 }],
  },
  {
    name: 'token bucket: the largest safe cost does not overflow',
    mode: 'all_or_nothing',
    buckets: [{ limit: tb10, cost: Number.MAX_SAFE_INTEGER }],
    allowed: false,
    expect: [{ allowed: false, reason: 'cost_exceeds_capacity', level: 10, remaining: 10, resetUs: 0, retryUs: -1 }],
  },
  {
    name: 'fixed window: a new window counts from zero, aligned to the epoch',
    mode: 'all_or_nothing',
    buckets: [{ limit: fw3, cost: 1 }],
    allowed: true,
    expect: [{ allowed: true, level: 2, remaining: 2, resetUs: 40_000_000, retryUs: 0, write: { state: { level: 1, stamp: WINDOW_START }, ttlUs: 40_000_000 } }],
  },
  {
    name: 'fixed window: a full window denies until it ends',
    mode: 'all_or_nothing',
    buckets: [{ limit: fw3, cost: 1, state: { level: 3, stamp: WINDOW_START } }],
    allowed: false,
    expect: [{ allowed: false, reason: 'insufficient_tokens', level: 0, remaining: 0, resetUs: 40_000_000, retryUs: 40_000_000 }],
  },
  {
    name: 'fixed window: the count of a past window is ignored',
    mode: 'all_or_nothing',
    buckets: [{ limit: fw3, cost: 1, state: { level: 3, stamp: WINDOW_START - 60_000_000 } }],
    allowed: true,
    expect: [{ allowed: true, level: 2, remaining: 2, resetUs: 40_000_000, retryUs: 0, write: { state: { level: 1, stamp: WINDOW_START }, ttlUs: 40_000_000 } }],
  },
  {
    name: 'fixed window: a cost above the limit is denied for good',
    mode: 'all_or_nothing',
    buckets: [{ limit: fw3, cost: 4 }],
    allowed: false,
    expect: [{ allowed: false, reason: 'cost_exceeds_capacity', level: 3, remaining: 3, resetUs: 40_000_000, retryUs: -1 }],
  },
  {
    name: 'independent mode: a denied fixed window still counts the hit (the reference service)',
    mode: 'independent',
    buckets: [{ limit: fw3, cost: 1, state: { level: 3, stamp: WINDOW_START } }],
    allowed: false,
    expect: [
      { allowed: false, reason: 'insufficient_tokens', level: 0, remaining: 0, resetUs: 40_000_000, retryUs: 40_000_000, write: { state: { level: 4, stamp: WINDOW_START }, ttlUs: 40_000_000 } },
    ],
  },
  {
    name: 'all-or-nothing: one denying bucket leaves the others uncharged',
    mode: 'all_or_nothing',
    buckets: [
      { limit: tb10, cost: 1 },
      { limit: fw3, cost: 1, state: { level: 3, stamp: WINDOW_START } },
    ],
    allowed: false,
    expect: [
      { allowed: true, level: 10, remaining: 10, resetUs: 0, retryUs: 0 },
      { allowed: false, reason: 'insufficient_tokens', level: 0, remaining: 0, resetUs: 40_000_000, retryUs: 40_000_000 },
    ],
  },
  {
    name: 'independent: the same request charges the allowing bucket and counts the denied window',
    mode: 'independent',
    buckets: [
      { limit: tb10, cost: 1 },
      { limit: fw3, cost: 1, state: { level: 3, stamp: WINDOW_START } },
    ],
    allowed: false,
    expect: [
      { allowed: true, level: 9, remaining: 9, resetUs: 100_000, retryUs: 0, write: { state: { level: 9, stamp: NOW }, ttlUs: 100_000 } },
      { allowed: false, reason: 'insufficient_tokens', level: 0, remaining: 0, resetUs: 40_000_000, retryUs: 40_000_000, write: { state: { level: 4, stamp: WINDOW_START }, ttlUs: 40_000_000 } },
    ],
  },
  {
    name: 'all-or-nothing: every bucket allows, every bucket is charged',
    mode: 'all_or_nothing',
    buckets: [
      { limit: tb10, cost: 2 },
      { limit: fw3, cost: 2 },
    ],
    allowed: true,
    expect: [
      { allowed: true, level: 8, remaining: 8, resetUs: 200_000, retryUs: 0, write: { state: { level: 8, stamp: NOW }, ttlUs: 200_000 } },
      { allowed: true, level: 1, remaining: 1, resetUs: 40_000_000, retryUs: 0, write: { state: { level: 2, stamp: WINDOW_START }, ttlUs: 40_000_000 } },
    ],
  },
  {
    name: 'shadow: a denying shadow bucket denies nothing and stops no charge',
    mode: 'all_or_nothing',
    buckets: [
      { limit: tb10, cost: 1 },
      { limit: fw3, cost: 1, state: { level: 3, stamp: WINDOW_START }, shadow: true },
    ],
    allowed: true,
    expect: [
      { allowed: true, level: 9, remaining: 9, resetUs: 100_000, retryUs: 0, write: { state: { level: 9, stamp: NOW }, ttlUs: 100_000 } },
      { allowed: false, reason: 'insufficient_tokens', level: 0, remaining: 0, resetUs: 40_000_000, retryUs: 40_000_000 },
    ],
  },
  {
    name: 'shadow: an allowing shadow bucket is not charged when the request is denied',
    mode: 'all_or_nothing',
    buckets: [
      { limit: tb10, cost: 1, shadow: true },
      { limit: fw3, cost: 1, state: { level: 3, stamp: WINDOW_START } },
    ],
    allowed: false,
    expect: [
      { allowed: true, level: 10, remaining: 10, resetUs: 0, retryUs: 0 },
      { allowed: false, reason: 'insufficient_tokens', level: 0, remaining: 0, resetUs: 40_000_000, retryUs: 40_000_000 },
    ],
  },
  {
    name: 'shadow: an allowing shadow bucket is charged with an allowed request',
    mode: 'all_or_nothing',
    buckets: [
      { limit: tb10, cost: 2, shadow: true },
      { limit: fw3, cost: 1 },
    ],
    allowed: true,
    expect: [
      { allowed: true, level: 8, remaining: 8, resetUs: 200_000, retryUs: 0, write: { state: { level: 8, stamp: NOW }, ttlUs: 200_000 } },
      { allowed: true, level: 2, remaining: 2, resetUs: 40_000_000, retryUs: 0, write: { state: { level: 1, stamp: WINDOW_START }, ttlUs: 40_000_000 } },
    ],
  },
  INTO_DEBT,
  { ...INTO_DEBT, name: 'overdraft, independent mode: the charge into debt is applied the same way', mode: 'independent' },
  {
    name: 'overdraft: a look (cost 0) in debt is denied until the debt has refilled, and writes nothing',
    mode: 'all_or_nothing',
    buckets: [{ limit: tbDebt, cost: 0, state: { level: -5, stamp: NOW - 200_000 } }],
    allowed: false,
    expect: [{ allowed: false, reason: 'insufficient_tokens', level: -3, remaining: 0, resetUs: 1_300_000, retryUs: 300_000 }],
  },
  {
    name: 'overdraft: once the debt has refilled exactly, a look passes',
    mode: 'all_or_nothing',
    buckets: [{ limit: tbDebt, cost: 0, state: { level: -5, stamp: NOW - 500_000 } }],
    allowed: true,
    expect: [{ allowed: true, level: 0, remaining: 0, resetUs: 1_000_000, retryUs: 0 }],
  },
  {
    name: 'overdraft: past the debt, a charge that fits is allowed as without overdraft',
    mode: 'all_or_nothing',
    buckets: [{ limit: tbDebt, cost: 1, state: { level: -5, stamp: NOW - 700_000 } }],
    allowed: true,
    expect: [{ allowed: true, level: 1, remaining: 1, resetUs: 900_000, retryUs: 0, write: { state: { level: 1, stamp: NOW }, ttlUs: 900_000 } }],
  },
  {
    name: 'overdraft: a cost above the capacity is charged into debt, with a finite retry',
    mode: 'all_or_nothing',
    buckets: [{ limit: tbDebt, cost: 25 }],
    allowed: false,
    expect: [
      { allowed: false, reason: 'insufficient_tokens', level: -15, remaining: 0, resetUs: 2_500_000, retryUs: 1_500_000, write: { state: { level: -15, stamp: NOW }, ttlUs: 2_500_000 } },
    ],
  },
  {
    // Uncapped, 10 − (2^53 − 1) would take 28 million years to repay, past what PEXPIRE and a Duration hold.
    name: 'overdraft: the largest safe cost leaves a debt of one year of refill, no deeper',
    mode: 'all_or_nothing',
    buckets: [{ limit: tbDebt, cost: Number.MAX_SAFE_INTEGER }],
    allowed: false,
    expect: [
      {
        allowed: false,
        reason: 'insufficient_tokens',
        level: -315_360_000,
        remaining: 0,
        resetUs: 31_536_001_000_000,
        retryUs: 31_536_000_000_000,
        write: { state: { level: -315_360_000, stamp: NOW }, ttlUs: 31_536_001_000_000 },
      },
    ],
  },
  {
    name: 'overdraft, all-or-nothing: another bucket denies: the overdraft bucket is charged, the allowing other is not',
    mode: 'all_or_nothing',
    buckets: [
      { limit: tbDebt, cost: 2 },
      { limit: tb10, cost: 1, state: { level: 0, stamp: NOW } },
      { limit: fw3, cost: 1 },
    ],
    allowed: false,
    expect: [
      { allowed: true, level: 8, remaining: 8, resetUs: 200_000, retryUs: 0, write: { state: { level: 8, stamp: NOW }, ttlUs: 200_000 } },
      { allowed: false, reason: 'insufficient_tokens', level: 0, remaining: 0, resetUs: 1_000_000, retryUs: 100_000 },
      { allowed: true, level: 3, remaining: 3, resetUs: 40_000_000, retryUs: 0 },
    ],
  },
  {
    name: 'overdraft, all-or-nothing: its own charge into debt denies the request, the other bucket is not charged',
    mode: 'all_or_nothing',
    buckets: [
      { limit: tbDebt, cost: 4, state: { level: 1, stamp: NOW } },
      { limit: fw3, cost: 1 },
    ],
    allowed: false,
    expect: [
      { allowed: false, reason: 'insufficient_tokens', level: -3, remaining: 0, resetUs: 1_300_000, retryUs: 300_000, write: { state: { level: -3, stamp: NOW }, ttlUs: 1_300_000 } },
      { allowed: true, level: 3, remaining: 3, resetUs: 40_000_000, retryUs: 0 },
    ],
  },
  {
    name: 'overdraft, shadow: an overdraft shadow bucket is charged with a denied request',
    mode: 'all_or_nothing',
    buckets: [
      { limit: tbDebt, cost: 1, shadow: true },
      { limit: fw3, cost: 1, state: { level: 3, stamp: WINDOW_START } },
    ],
    allowed: false,
    expect: [
      { allowed: true, level: 9, remaining: 9, resetUs: 100_000, retryUs: 0, write: { state: { level: 9, stamp: NOW }, ttlUs: 100_000 } },
      { allowed: false, reason: 'insufficient_tokens', level: 0, remaining: 0, resetUs: 40_000_000, retryUs: 40_000_000 },
    ],
  },
  {
    name: 'overdraft, fixed window: a charge past the limit is counted and denied until the window ends',
    mode: 'all_or_nothing',
    buckets: [{ limit: fwDebt, cost: 2, state: { level: 2, stamp: WINDOW_START } }],
    allowed: false,
    expect: [
      { allowed: false, reason: 'insufficient_tokens', level: 0, remaining: 0, resetUs: 40_000_000, retryUs: 40_000_000, write: { state: { level: 4, stamp: WINDOW_START }, ttlUs: 40_000_000 } },
    ],
  },
  {
    name: 'overdraft, fixed window: a look past the limit is denied, a cost above the limit is counted',
    mode: 'all_or_nothing',
    buckets: [
      { limit: fwDebt, cost: 0, state: { level: 4, stamp: WINDOW_START } },
      { limit: fwDebt, cost: 5 },
    ],
    allowed: false,
    expect: [
      { allowed: false, reason: 'insufficient_tokens', level: 0, remaining: 0, resetUs: 40_000_000, retryUs: 40_000_000 },
      { allowed: false, reason: 'insufficient_tokens', level: 0, remaining: 0, resetUs: 40_000_000, retryUs: 40_000_000, write: { state: { level: 5, stamp: WINDOW_START }, ttlUs: 40_000_000 } },
    ],
  },
];

/**
 * Plans that name one key more than once (spec, "Deciding a plan", step 1): one bucket, decided
 * once for the summed cost, charged once, every entry reporting its result. Decided entry by entry,
 * each would report or write something else.
 */
export const REPEATED_KEY_VECTORS: Vector[] = [
  {
    name: 'repeated key: hits 5 + hits 1 on capacity 5 is a cost of 6: both denied for good, nothing charged',
    mode: 'all_or_nothing',
    buckets: [
      { key: 'a', limit: tb5, cost: 5 },
      { key: 'a', limit: tb5, cost: 1 },
    ],
    allowed: false,
    expect: [
      { allowed: false, reason: 'cost_exceeds_capacity', level: 5, remaining: 5, resetUs: 0, retryUs: -1 },
      { allowed: false, reason: 'cost_exceeds_capacity', level: 5, remaining: 5, resetUs: 0, retryUs: -1 },
    ],
  },
  {
    name: 'repeated key: hits 2 + hits 3 on capacity 5 are both allowed and leave level 0, written once',
    mode: 'all_or_nothing',
    buckets: [
      { key: 'a', limit: tb5, cost: 2 },
      { key: 'a', limit: tb5, cost: 3 },
    ],
    allowed: true,
    expect: [
      { allowed: true, level: 0, remaining: 0, resetUs: 1_000_000, retryUs: 0, write: { state: { level: 0, stamp: NOW }, ttlUs: 1_000_000 } },
      { allowed: true, level: 0, remaining: 0, resetUs: 1_000_000, retryUs: 0 },
    ],
  },
  {
    name: 'repeated key: the retry time is for the summed cost',
    mode: 'all_or_nothing',
    buckets: [
      { key: 'a', limit: tb5, cost: 2, state: { level: 2, stamp: NOW } },
      { key: 'a', limit: tb5, cost: 1 },
    ],
    allowed: false,
    expect: [
      { allowed: false, reason: 'insufficient_tokens', level: 2, remaining: 2, resetUs: 600_000, retryUs: 200_000 },
      { allowed: false, reason: 'insufficient_tokens', level: 2, remaining: 2, resetUs: 600_000, retryUs: 200_000 },
    ],
  },
  {
    name: 'repeated key: a look (cost 0) reports the charge of its duplicate',
    mode: 'all_or_nothing',
    buckets: [
      { key: 'a', limit: tb10, cost: 0, state: { level: 4, stamp: NOW - 100_000 } },
      { key: 'a', limit: tb10, cost: 1 },
    ],
    allowed: true,
    expect: [
      { allowed: true, level: 4, remaining: 4, resetUs: 600_000, retryUs: 0, write: { state: { level: 4, stamp: NOW }, ttlUs: 600_000 } },
      { allowed: true, level: 4, remaining: 4, resetUs: 600_000, retryUs: 0 },
    ],
  },
  {
    name: 'repeated key, fixed window: 2 counted + 1 + 1 is over 3, both denied, nothing counted',
    mode: 'all_or_nothing',
    buckets: [
      { key: 'w', limit: fw3, cost: 1, state: { level: 2, stamp: WINDOW_START } },
      { key: 'w', limit: fw3, cost: 1 },
    ],
    allowed: false,
    expect: [
      { allowed: false, reason: 'insufficient_tokens', level: 1, remaining: 1, resetUs: 40_000_000, retryUs: 40_000_000 },
      { allowed: false, reason: 'insufficient_tokens', level: 1, remaining: 1, resetUs: 40_000_000, retryUs: 40_000_000 },
    ],
  },
  {
    name: 'repeated key, independent: the denied fixed window counts both hits, once',
    mode: 'independent',
    buckets: [
      { key: 'w', limit: fw3, cost: 1, state: { level: 2, stamp: WINDOW_START } },
      { key: 'w', limit: fw3, cost: 1 },
    ],
    allowed: false,
    expect: [
      { allowed: false, reason: 'insufficient_tokens', level: 0, remaining: 0, resetUs: 40_000_000, retryUs: 40_000_000, write: { state: { level: 4, stamp: WINDOW_START }, ttlUs: 40_000_000 } },
      { allowed: false, reason: 'insufficient_tokens', level: 0, remaining: 0, resetUs: 40_000_000, retryUs: 40_000_000 },
    ],
  },
  {
    name: 'repeated key, independent: the summed cost denies the token bucket, the other key is still charged',
    mode: 'independent',
    buckets: [
      { key: 'a', limit: tb5, cost: 2, state: { level: 4, stamp: NOW } },
      { key: 'b', limit: tb10, cost: 1 },
      { key: 'a', limit: tb5, cost: 3 },
    ],
    allowed: false,
    expect: [
      { allowed: false, reason: 'insufficient_tokens', level: 4, remaining: 4, resetUs: 200_000, retryUs: 200_000 },
      { allowed: true, level: 9, remaining: 9, resetUs: 100_000, retryUs: 0, write: { state: { level: 9, stamp: NOW }, ttlUs: 100_000 } },
      { allowed: false, reason: 'insufficient_tokens', level: 4, remaining: 4, resetUs: 200_000, retryUs: 200_000 },
    ],
  },
  {
    name: 'repeated key among others, all-or-nothing: every key allows, each is charged once',
    mode: 'all_or_nothing',
    buckets: [
      { key: 'a', limit: tb5, cost: 2 },
      { key: 'w', limit: fw3, cost: 1 },
      { key: 'a', limit: tb5, cost: 2 },
    ],
    allowed: true,
    expect: [
      { allowed: true, level: 1, remaining: 1, resetUs: 800_000, retryUs: 0, write: { state: { level: 1, stamp: NOW }, ttlUs: 800_000 } },
      { allowed: true, level: 2, remaining: 2, resetUs: 40_000_000, retryUs: 0, write: { state: { level: 1, stamp: WINDOW_START }, ttlUs: 40_000_000 } },
      { allowed: true, level: 1, remaining: 1, resetUs: 800_000, retryUs: 0 },
    ],
  },
  {
    name: 'repeated key among others, all-or-nothing: the summed cost denies, and the other key is not charged',
    mode: 'all_or_nothing',
    buckets: [
      { key: 'a', limit: tb5, cost: 3 },
      { key: 'b', limit: tb10, cost: 1 },
      { key: 'a', limit: tb5, cost: 3 },
    ],
    allowed: false,
    expect: [
      { allowed: false, reason: 'cost_exceeds_capacity', level: 5, remaining: 5, resetUs: 0, retryUs: -1 },
      { allowed: true, level: 10, remaining: 10, resetUs: 0, retryUs: 0 },
      { allowed: false, reason: 'cost_exceeds_capacity', level: 5, remaining: 5, resetUs: 0, retryUs: -1 },
    ],
  },
  {
    name: 'repeated key, shadow on one entry only: not a shadow bucket, its denial denies',
    mode: 'all_or_nothing',
    buckets: [
      { key: 'a', limit: tb5, cost: 3, shadow: true },
      { key: 'a', limit: tb5, cost: 3 },
    ],
    allowed: false,
    expect: [
      { allowed: false, reason: 'cost_exceeds_capacity', level: 5, remaining: 5, resetUs: 0, retryUs: -1 },
      { allowed: false, reason: 'cost_exceeds_capacity', level: 5, remaining: 5, resetUs: 0, retryUs: -1 },
    ],
  },
  {
    name: 'repeated key, shadow on every entry: a shadow bucket, its denial stops no charge',
    mode: 'all_or_nothing',
    buckets: [
      { key: 'a', limit: tb5, cost: 3, shadow: true },
      { key: 'b', limit: tb10, cost: 1 },
      { key: 'a', limit: tb5, cost: 3, shadow: true },
    ],
    allowed: true,
    expect: [
      { allowed: false, reason: 'cost_exceeds_capacity', level: 5, remaining: 5, resetUs: 0, retryUs: -1 },
      { allowed: true, level: 9, remaining: 9, resetUs: 100_000, retryUs: 0, write: { state: { level: 9, stamp: NOW }, ttlUs: 100_000 } },
      { allowed: false, reason: 'cost_exceeds_capacity', level: 5, remaining: 5, resetUs: 0, retryUs: -1 },
    ],
  },
  {
    name: 'repeated key, overdraft: a look and a charge of 8 on 3 left: one bucket charged 8 into debt, once',
    mode: 'all_or_nothing',
    buckets: [
      { key: 'a', limit: tbDebt, cost: 0, state: { level: 3, stamp: NOW } },
      { key: 'a', limit: tbDebt, cost: 8 },
    ],
    allowed: false,
    expect: [
      { allowed: false, reason: 'insufficient_tokens', level: -5, remaining: 0, resetUs: 1_500_000, retryUs: 500_000, write: { state: { level: -5, stamp: NOW }, ttlUs: 1_500_000 } },
      { allowed: false, reason: 'insufficient_tokens', level: -5, remaining: 0, resetUs: 1_500_000, retryUs: 500_000 },
    ],
  },
  {
    name: 'repeated key, overdraft: hits 6 + hits 6 on capacity 10: the summed cost goes into debt, not denied for good',
    mode: 'all_or_nothing',
    buckets: [
      { key: 'a', limit: tbDebt, cost: 6 },
      { key: 'b', limit: tb10, cost: 1 },
      { key: 'a', limit: tbDebt, cost: 6 },
    ],
    allowed: false,
    expect: [
      { allowed: false, reason: 'insufficient_tokens', level: -2, remaining: 0, resetUs: 1_200_000, retryUs: 200_000, write: { state: { level: -2, stamp: NOW }, ttlUs: 1_200_000 } },
      { allowed: true, level: 10, remaining: 10, resetUs: 0, retryUs: 0 },
      { allowed: false, reason: 'insufficient_tokens', level: -2, remaining: 0, resetUs: 1_200_000, retryUs: 200_000 },
    ],
  },
];

export interface RefundVector {
  name: string;
  /** The charges given back (script mode `r`), with the stored state on each key's first bucket. */
  buckets: VectorBucket[];
  /** The state each key holds afterwards, by `key`; absent: the key holds none. */
  after: Record<string, BucketState | undefined>;
}

/**
 * Refunds of a repeated key give back the sum of its costs, once (spec, "Refunds"). For the Lua
 * script: the TypeScript side of a refund (src/stores/redis/cross-slot.ts) only reports it.
 */
export const REFUND_VECTORS: RefundVector[] = [
  {
    // Given back one cost at a time, the level would be (0.0033 + 2) + 3 = 5.003299999999999.
    name: 'refund, token bucket: the summed cost is added once, to a fractional level',
    buckets: [
      { key: 'a', limit: tb10, cost: 2, state: { level: 0.0033, stamp: NOW - 1_000 } },
      { key: 'a', limit: tb10, cost: 3 },
    ],
    after: { a: { level: 5.0033, stamp: NOW - 1_000 } },
  },
  {
    name: 'refund, token bucket: the summed cost stops at the capacity',
    buckets: [
      { key: 'a', limit: tb5, cost: 2, state: { level: 2, stamp: NOW } },
      { key: 'a', limit: tb5, cost: 2 },
    ],
    after: { a: { level: 5, stamp: NOW } },
  },
  {
    name: 'refund, fixed window: the summed cost is uncounted in the same window, never below 0',
    buckets: [
      { key: 'w', limit: fw3, cost: 1, state: { level: 4, stamp: WINDOW_START } },
      { key: 'w', limit: fw3, cost: 2 },
      { key: 'v', limit: fw3, cost: 2, state: { level: 3, stamp: WINDOW_START } },
      { key: 'v', limit: fw3, cost: 2 },
    ],
    after: { w: { level: 1, stamp: WINDOW_START }, v: { level: 0, stamp: WINDOW_START } },
  },
  {
    name: 'refund: a key without state stays without',
    buckets: [
      { key: 'a', limit: tb5, cost: 1 },
      { key: 'a', limit: tb5, cost: 1 },
    ],
    after: { a: undefined },
  },
];
