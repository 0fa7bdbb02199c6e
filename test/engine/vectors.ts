/**
 * The shared test vectors of docs/token-bucket-spec.md: stored state, time and parameters in,
 * decision and writes out. Expected values are worked out by hand from the spec (the 1/3-rate
 * cases with Python's IEEE doubles, an independent implementation). Run against the TypeScript
 * math, MemoryStore and the Lua script in Redis; all three must agree exactly.
 */
import type { BucketState } from '../../src/engine/bucket-math.js';
import { fixedWindow, type Limit, tokenBucket } from '../../src/engine/limit.js';
import type { ChargeMode, DenyReason } from '../../src/engine/plan.js';

export const NOW = 1_700_000_000_000_000; // µs
/** Start of the 60 s window containing NOW: floor(NOW / 60e6) * 60e6. */
export const WINDOW_START = 1_699_999_980_000_000;

const tb10 = tokenBucket({ capacity: 10, refillTokens: 10, periodUs: 1_000_000 });
const tbThird = tokenBucket({ capacity: 5, refillTokens: 1, periodUs: 3_000_000 });
const tbBlocked = tokenBucket({ capacity: 0, refillTokens: 1, periodUs: 1_000_000 });
const fw3 = fixedWindow(3, 60_000_000);

export interface VectorBucket {
  limit: Limit;
  cost: number;
  state?: BucketState;
  shadow?: boolean;
}

export interface ExpectedBucket {
  allowed: boolean;
  reason?: DenyReason;
  level: number;
  remaining: number;
  resetUs: number;
  retryUs: number;
  /** The state written, or absent when this bucket is not written. */
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
];
