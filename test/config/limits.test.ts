import { describe, expect, it } from 'vitest';
import { fixedWindow, tokenBucket } from '../../src/engine/limit.js';
import { buildLimit } from '../../src/config/limits.js';
import { entries, snapshotOf } from './helpers.js';

const MINUTE_US = 60_000_000;

describe('engine limits built at load', () => {
  it('defaults to a token bucket holding requests_per_unit, refilling them per unit', () => {
    const s = snapshotOf('domain: d\ndescriptors:\n  - key: k\n    rate_limit: {unit: minute, requests_per_unit: 60}\n');
    expect(s.match('d', entries('k', 'v'))?.limits[0]?.limit).toEqual(tokenBucket({ capacity: 60, refillTokens: 60, periodUs: MINUTE_US }));
  });

  it('takes capacity, or its alias burst, for the bucket size', () => {
    const s = snapshotOf(`
domain: d
descriptors:
  - key: a
    rate_limit: {unit: minute, requests_per_unit: 60, capacity: 10}
  - key: b
    rate_limit: {unit: minute, requests_per_unit: 60, burst: 120, algorithm: token_bucket}
`);
    expect(s.match('d', entries('a', 'v'))?.limits[0]?.limit?.id).toBe(`tb:10:60:${MINUTE_US}`);
    expect(s.match('d', entries('b', 'v'))?.limits[0]?.limit?.id).toBe(`tb:120:60:${MINUTE_US}`);
  });

  it('builds the reference fixed window when asked per limit or by the load option', () => {
    const text = `
domain: d
descriptors:
  - key: a
    rate_limit: {unit: hour, requests_per_unit: 5, algorithm: fixed_window}
  - key: b
    rate_limit: {unit: hour, requests_per_unit: 5}
  - key: c
    rate_limit: {unit: hour, requests_per_unit: 5, algorithm: token_bucket}
`;
    const hourUs = 3_600_000_000;
    const tb = snapshotOf(text);
    expect(tb.match('d', entries('a', 'v'))?.limits[0]?.limit).toEqual(fixedWindow(5, hourUs));
    expect(tb.match('d', entries('b', 'v'))?.limits[0]?.limit?.algorithm).toBe('token_bucket');
    const fw = snapshotOf(text, { defaultAlgorithm: 'fixed_window' });
    expect(fw.match('d', entries('b', 'v'))?.limits[0]?.limit).toEqual(fixedWindow(5, hourUs));
    expect(fw.match('d', entries('b', 'v'))?.limits[0]?.algorithm).toBe('fixed_window');
    expect(fw.match('d', entries('c', 'v'))?.limits[0]?.limit?.algorithm).toBe('token_bucket');
  });

  it('rejects capacity under a fixed_window default, since the limit would silently ignore it', () => {
    const text = 'domain: d\ndescriptors:\n  - key: a\n    rate_limit: {unit: hour, requests_per_unit: 5, capacity: 9}\n';
    expect(() => snapshotOf(text, { defaultAlgorithm: 'fixed_window' })).toThrow(/capacity applies to token_bucket only/);
  });

  it('turns requests_per_unit 0 into a capacity-0 limit of the chosen algorithm', () => {
    expect(buildLimit({ algorithm: 'token_bucket', requestsPerUnit: 0, unit: 'second' })).toEqual(
      tokenBucket({ capacity: 0, refillTokens: 1, periodUs: 1_000_000 }),
    );
    expect(buildLimit({ algorithm: 'fixed_window', requestsPerUnit: 0, unit: 'second' })).toEqual(fixedWindow(0, 1_000_000));
  });

  it('knows week, month and year, in any case', () => {
    const s = snapshotOf(`
domain: d
descriptors:
  - key: w
    rate_limit: {unit: WEEK, requests_per_unit: 7}
  - key: m
    rate_limit: {unit: Month, requests_per_unit: 30}
  - key: y
    rate_limit: {unit: yeAR, requests_per_unit: 365}
`);
    const w = s.match('d', entries('w', 'v'))?.limits[0];
    expect(w?.rateLimit).toEqual({ name: '', requestsPerUnit: 7, unit: 'WEEK' });
    expect(w?.limit?.periodUs).toBe(604_800_000_000);
    expect(s.match('d', entries('m', 'v'))?.limits[0]?.limit?.periodUs).toBe(2_592_000_000_000);
    expect(s.match('d', entries('y', 'v'))?.limits[0]?.rateLimit.unit).toBe('YEAR');
  });

  it('gives several limits on one descriptor, each with its own metric suffix and fingerprint', () => {
    const s = snapshotOf(`
domain: d
descriptors:
  - key: user
    rate_limits:
      - unit: second
        requests_per_unit: 10
      - unit: day
        requests_per_unit: 1000
        name: daily
        algorithm: fixed_window
`);
    const m = s.match('d', entries('user', 'alice'));
    expect(m?.limits.map((l) => [l.rateLimit.requestsPerUnit, l.rateLimit.unit, l.limit?.algorithm, l.metricSuffix])).toEqual([
      [10, 'SECOND', 'token_bucket', '.10_per_second'],
      [1000, 'DAY', 'fixed_window', '.daily'],
    ]);
    expect(m?.limits.map((l) => l.fingerprint)).toEqual(['d.user[0]@tb:10:10:1000000', 'd.user[1]@fw:1000:86400000000']);
  });

  it('shares one Limit object between nodes with the same numbers', () => {
    const s = snapshotOf(`
domain: d
descriptors:
  - key: a
    rate_limit: {unit: second, requests_per_unit: 3}
  - key: b
    rate_limit: {unit: second, requests_per_unit: 3}
`);
    expect(s.match('d', entries('a', 'v'))?.limits[0]?.limit).toBe(s.match('d', entries('b', 'v'))?.limits[0]?.limit);
  });
});
