import { describe, expect, it } from 'vitest';
import { fixedWindow, tokenBucket } from '../../src/engine/limit.js';
import type { BucketResult } from '../../src/engine/plan.js';
import { quotaPolicy, rateLimitHeaders } from '../../src/service/rate-limit-headers.js';

const result = (over: Partial<BucketResult>): BucketResult => ({
  allowed: true,
  reason: undefined,
  limit: 10,
  remaining: 5,
  level: 5,
  resetUs: 2_500_000,
  retryUs: 0,
  ...over,
});
const perSecond = quotaPolicy('per-ip', tokenBucket({ capacity: 10, refillTokens: 10, periodUs: 1_000_000 }));
const daily = quotaPolicy('daily', fixedWindow(1000, 86_400_000_000));

describe('rateLimitHeaders', () => {
  it('writes draft-10 lists, one item per limit', () => {
    const headers = rateLimitHeaders(
      'draft-10',
      [
        { policy: perSecond, result: result({}) },
        { policy: daily, result: result({ limit: 1000, remaining: 998, resetUs: 3_600_000_000 }) },
      ],
      0,
    );
    expect(headers).toEqual([
      ['RateLimit-Policy', '"per-ip";q=10;w=1, "daily";q=1000;w=86400'],
      ['RateLimit', '"per-ip";r=5;t=3, "daily";r=998;t=3600'],
    ]);
  });

  it('reports the limit that denied (else the fewest remaining) in single-value formats, with the retry time', () => {
    const states = [
      { policy: daily, result: result({ limit: 1000, remaining: 2, resetUs: 3_600_000_000 }) },
      { policy: perSecond, result: result({ allowed: false, remaining: 0, retryUs: 100_001, resetUs: 1_000_000 }) },
    ];
    expect(rateLimitHeaders('draft-03', states, 0)).toEqual([
      ['x-ratelimit-limit', '10, 1000;w=86400;name="daily", 10;w=1;name="per-ip"'],
      ['x-ratelimit-remaining', '0'],
      ['x-ratelimit-reset', '1'],
    ]);
    expect(rateLimitHeaders('legacy', states, 1_700_000_000_500)).toEqual([
      ['X-RateLimit-Limit', '10'],
      ['X-RateLimit-Remaining', '0'],
      ['X-RateLimit-Reset', '1700000002'],
    ]);
  });

  it('escapes names into valid structured-field strings', () => {
    expect(quotaPolicy('a"b\\c\u00e9', fixedWindow(1, 1_000_000)).draft10).toBe('"a\\"b\\\\c";q=1;w=1');
  });
});
