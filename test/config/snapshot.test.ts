import { describe, expect, it } from 'vitest';
import { diffSnapshots } from '../../src/config/snapshot.js';
import { entries, snapshotOf } from './helpers.js';

const TEXT = `
domain: shop
descriptors:
  - key: remote_address
    rate_limit: {unit: minute, requests_per_unit: 10}
  - key: remote_address
    value: 10.0.0.1
    shadow_mode: true
    rate_limit: {unit: second, requests_per_unit: 0, algorithm: fixed_window}
  - key: internal
    rate_limit: {unlimited: true, name: free}
  - key: user
    rate_limits:
      - {unit: second, requests_per_unit: 5, capacity: 20}
      - {unit: week, requests_per_unit: 500}
`;

describe('ConfigSnapshot', () => {
  it('dumps one reference-style line per limit, in config order, plus what rateguard enforces', () => {
    expect(snapshotOf(TEXT).dump()).toBe(
      [
        'shop.remote_address: unit=MINUTE requests_per_unit=10, shadow_mode: false, quota_mode: false, algorithm: token_bucket, capacity: 10',
        'shop.remote_address_10.0.0.1: unit=SECOND requests_per_unit=0, shadow_mode: true, quota_mode: false, algorithm: fixed_window',
        'shop.internal: unit=UNKNOWN requests_per_unit=0, shadow_mode: false, quota_mode: false, unlimited: true',
        'shop.user.5_per_second: unit=SECOND requests_per_unit=5, shadow_mode: false, quota_mode: false, algorithm: token_bucket, capacity: 20',
        'shop.user.500_per_week: unit=WEEK requests_per_unit=500, shadow_mode: false, quota_mode: false, algorithm: token_bucket, capacity: 500',
        '',
      ].join('\n'),
    );
  });

  it('serialises to JSON for GET /rlconfig', () => {
    const json = JSON.parse(JSON.stringify(snapshotOf(TEXT)));
    expect(json.files).toEqual(['test.yaml']);
    expect(json.defaultAlgorithm).toBe('token_bucket');
    expect(json.domains[0].domain).toBe('shop');
    expect(json.domains[0].rules[2]).toEqual({
      key: 'shop.internal',
      line: 10,
      shadowMode: false,
      detailedMetric: false,
      quotaMode: false,
      limits: [{ name: 'free', unit: 'UNKNOWN', requestsPerUnit: 0, unlimited: true, replaces: [], fingerprint: 'shop.internal[0]@unlimited' }],
    });
  });

  it('is frozen', () => {
    const s = snapshotOf(TEXT);
    expect(Object.isFrozen(s)).toBe(true);
    expect(s.hasDomain('shop')).toBe(true);
    expect(s.hasDomain('other')).toBe(false);
  });

  it('fingerprints let a reload tell kept, added and removed limits apart', () => {
    const before = snapshotOf(TEXT);
    const after = snapshotOf(TEXT.replace('requests_per_unit: 10}', 'requests_per_unit: 11}').replace(/ {2}- key: internal\n.*\n/, ''));
    const diff = diffSnapshots(before, after);
    expect(diff.added).toEqual(['shop.remote_address[0]@tb:11:11:60000000']);
    expect(diff.removed).toEqual(['shop.remote_address[0]@tb:10:10:60000000', 'shop.internal[0]@unlimited']);
    expect(diff.kept).toEqual(['shop.remote_address_10.0.0.1[0]@fw:0:1000000', 'shop.user[0]@tb:20:5:1000000', 'shop.user[1]@tb:500:500:604800000000']);
    expect(diffSnapshots(undefined, before).added).toHaveLength(5);
    expect(snapshotOf(TEXT).digest).toBe(before.digest);
    expect(after.digest).not.toBe(before.digest);
  });

  describe('request limit overrides', () => {
    const s = snapshotOf(TEXT);

    it('apply for a known domain, with the reference metric key of all entries', () => {
      const m = s.matchOverride('shop', entries('a', 'x', 'b', '', 'c', 'y'), { requestsPerUnit: 42, unit: 3 });
      expect(m?.rule).toBeUndefined();
      expect(m?.metricKey).toBe('shop.a_x.b.c_y');
      expect(m?.limits[0]?.rateLimit).toEqual({ name: '', requestsPerUnit: 42, unit: 'HOUR' });
      expect(m?.limits[0]?.limit?.id).toBe('tb:42:42:3600000000');
      expect(m?.limits[0]?.shadowMode).toBe(false);
      // Memoised: the same frozen limits for the same numbers.
      expect(s.matchOverride('shop', entries('z', '1'), { requestsPerUnit: 42, unit: 'hour' })?.limits).toBe(m?.limits);
    });

    it('do not apply for an unknown domain or unit', () => {
      expect(s.matchOverride('nope', entries('a', 'x'), { requestsPerUnit: 1, unit: 1 })).toBeUndefined();
      expect(s.matchOverride('shop', entries('a', 'x'), { requestsPerUnit: 1, unit: 0 })).toBeUndefined();
      expect(s.matchOverride('shop', entries('a', 'x'), { requestsPerUnit: -1, unit: 1 })).toBeUndefined();
    });

    it('week is enum 7 and follows the default algorithm', () => {
      const fw = snapshotOf('domain: shop\n', { defaultAlgorithm: 'fixed_window' });
      expect(fw.matchOverride('shop', entries('a', 'x'), { requestsPerUnit: 3, unit: 7 })?.limits[0]?.limit?.id).toBe('fw:3:604800000000');
    });
  });
});
