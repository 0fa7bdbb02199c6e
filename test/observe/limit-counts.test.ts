import { describe, expect, it } from 'vitest';
import { addLimitCounts, type CountingRules, type LimitCounts, nearLimitThreshold, zeroCounts } from '../../src/observe/limit-counts.js';
import type { DecisionSource, LimitOutcome } from '../../src/service/decision-observer.js';

const RULES: CountingRules = { nearLimitRatio: 0.8, chargeMode: 'all_or_nothing' };

function outcome(over: Partial<LimitOutcome>): LimitOutcome {
  return { domain: 'd', metricKey: 'd.k', entries: [], hits: 1, limit: 10, remaining: 9, allowed: true, shadow: false, ...over };
}

function count(list: [Partial<LimitOutcome>, { source?: DecisionSource; overLimit?: boolean }?][], rules = RULES): LimitCounts {
  const counts = zeroCounts();
  for (const [limit, request] of list) {
    const o = outcome(limit);
    addLimitCounts(counts, o, { source: request?.source ?? 'store', overLimit: request?.overLimit ?? !o.allowed }, rules);
  }
  return counts;
}

describe('per-limit counters, as envoyproxy/ratelimit counts them', () => {
  it('near threshold is floor(float32(limit) * ratio)', () => {
    expect([nearLimitThreshold(10, 0.8), nearLimitThreshold(3, 0.8), nearLimitThreshold(1, 0.8), nearLimitThreshold(100, 0.5)]).toEqual([8, 2, 0, 50]);
  });

  it('12 single hits on a limit of 10: 10 within, 2 near (the 9th and 10th), 2 over', () => {
    const list: [Partial<LimitOutcome>][] = [];
    for (let k = 1; k <= 10; k++) list.push([{ remaining: 10 - k }]);
    list.push([{ allowed: false, remaining: 0 }], [{ allowed: false, remaining: 0 }]);
    expect(count(list)).toEqual({ total_hits: 12, within_limit: 10, near_limit: 2, over_limit: 2, shadow_mode: 0, over_limit_with_local_cache: 0 });
  });

  it('splits hits_addend across thresholds: 5 hits at 7 used are 2 over and 2 near', () => {
    expect(count([[{ hits: 5, allowed: false, remaining: 3 }]])).toEqual({ ...zeroCounts(), total_hits: 5, over_limit: 2, near_limit: 2 });
    // Allowed, crossing the near threshold: 6 used + 3 hits = 9 → 1 near.
    expect(count([[{ hits: 3, remaining: 1 }]])).toEqual({ ...zeroCounts(), total_hits: 3, within_limit: 3, near_limit: 1 });
    // Already past it: every hit is near.
    expect(count([[{ hits: 2, remaining: 0 }]])).toEqual({ ...zeroCounts(), total_hits: 2, within_limit: 2, near_limit: 2 });
  });

  it('an allowed limit of a request another limit denied was not charged: remaining is before the hits', () => {
    // all_or_nothing: 8 left, 1 hit, nothing charged → after = 3, not near.
    expect(count([[{ remaining: 8 }, { overLimit: true }]])).toEqual({ ...zeroCounts(), total_hits: 1, within_limit: 1 });
    // independent: the bucket was charged → remaining 1 means after = 9, past the near threshold 8.
    expect(count([[{ remaining: 1 }, { overLimit: true }]], { ...RULES, chargeMode: 'independent' })).toEqual({
      ...zeroCounts(),
      total_hits: 1,
      within_limit: 1,
      near_limit: 1,
    });
  });

  it('shadow limits count their over-limit hits in shadow_mode too', () => {
    expect(count([[{ hits: 5, allowed: false, remaining: 3, shadow: true }, { overLimit: false }]])).toEqual({
      ...zeroCounts(),
      total_hits: 5,
      over_limit: 2,
      near_limit: 2,
      shadow_mode: 2,
    });
  });

  it('local-cache denials count whole as over_limit and over_limit_with_local_cache; failure mode only total_hits', () => {
    expect(count([[{ hits: 3, allowed: false, remaining: 0 }, { source: 'local_cache' }]])).toEqual({
      ...zeroCounts(),
      total_hits: 3,
      over_limit: 3,
      over_limit_with_local_cache: 3,
    });
    expect(count([[{ hits: 3 }, { source: 'local_cache', overLimit: true }]])).toEqual({ ...zeroCounts(), total_hits: 3 });
    expect(count([[{ hits: 4, allowed: false }, { source: 'failure_mode' }]])).toEqual({ ...zeroCounts(), total_hits: 4 });
  });
});
