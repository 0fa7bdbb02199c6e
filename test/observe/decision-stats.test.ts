import { describe, expect, it } from 'vitest';
import { DecisionStats } from '../../src/observe/decision-stats.js';
import type { LimitOutcome, RequestOutcome } from '../../src/service/decision-observer.js';

function limited(domain: string, user: string, metricKey = `${domain}.user`): RequestOutcome {
  const limit: LimitOutcome = {
    domain,
    metricKey,
    entries: [{ key: 'user', value: user }],
    hits: 1,
    limit: 1,
    remaining: 0,
    allowed: false,
    shadow: false,
  };
  return { domain, overLimit: true, source: 'store', limits: [limit, { ...limit, metricKey: `${metricKey}.burst` }], durationSeconds: 0.001 };
}

describe('DecisionStats', () => {
  it('counts a request limited by two limits of one descriptor once in the top-K, and each limit', () => {
    const stats = new DecisionStats({ nearLimitRatio: 0.8, chargeMode: 'all_or_nothing' });
    stats.observe(limited('web', 'alice'));
    stats.observe(limited('web', 'alice'));
    stats.observe(limited('web', 'bob'));
    expect(stats.topLimited(5)).toEqual([
      { domain: 'web', descriptor: [{ key: 'user', value: 'alice' }], limited: 2, error: 0 },
      { domain: 'web', descriptor: [{ key: 'user', value: 'bob' }], limited: 1, error: 0 },
    ]);
    expect([...stats.limitTotals()].map((l) => [l.key, l.counts.over_limit])).toEqual([
      ['user', 3],
      ['user.burst', 3],
    ]);
    expect(stats.domainTotals().get('web')).toEqual({
      requests: 3,
      allowed: 0,
      overLimit: 3,
      shadowOverLimit: 0,
      failureMode: 0,
      localCache: 0,
      domainNotFound: 0,
    });
    stats.forgetIdentity('web', [{ key: 'user', value: 'alice' }]);
    expect(stats.topLimited(5).map((t) => t.descriptor[0]!.value)).toEqual(['bob']);
  });

  it('stays bounded under 50 000 distinct identities, domains and metric keys', () => {
    const folded: string[] = [];
    const stats = new DecisionStats({
      nearLimitRatio: 0.8,
      chargeMode: 'all_or_nothing',
      topCapacity: 32,
      maxSeries: 100,
      onOverflow: (kind) => folded.push(kind),
    });
    for (let i = 0; i < 50_000; i++) stats.observe(limited(`domain-${i}`, `user-${i}`, `domain-${i}.user_${i}`));
    expect(stats.topLimited(1000)).toHaveLength(32);
    expect(stats.domainTotals().size).toBe(101);
    expect(stats.domainTotals().get('_other')!.requests).toBe(49_900);
    expect([...stats.limitTotals()]).toHaveLength(101);
    expect([...stats.limitTotals()].at(-1)).toMatchObject({ domain: '_other', key: '_other' });
    // Two metric keys per request: they fill up first; each kind is reported once.
    expect(folded).toEqual(['metric key', 'domain']);
  });
});
