/**
 * The descriptor keys the current reference service accepts beside the classic ones: quota_mode,
 * metadata, value_to_metric, share_threshold. Its own example file loads; what it refuses is refused
 * with file:line.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfigSources } from '../../src/config/load.js';
import { entries, snapshotOf } from './helpers.js';

const SHARED = `
domain: d
descriptors:
  - key: path
    value: /api/*
    share_threshold: true
    value_to_metric: true
    metadata:
      tier: gold
      routing: { backend: blue, weight: 3 }
    rate_limit: { unit: minute, requests_per_unit: 5 }
  - key: user
    value: u*
    rate_limit: { unit: minute, requests_per_unit: 5 }
`;

describe('reference descriptor keys', () => {
  it("loads the reference's own quota example (quota_mode) and dumps quota_mode as it does", () => {
    const text = readFileSync('test/fixtures/reference/quota.yaml', 'utf8');
    const snapshot = snapshotOf(text, {}, 'quota.yaml');
    expect(snapshot.match('quota', entries('service', 'service_1'))?.rule?.quotaMode).toBe(true);
    expect(snapshot.dump().split('\n')[0]).toBe(
      'quota.service_service_1: unit=MINUTE requests_per_unit=1, shadow_mode: false, quota_mode: true, algorithm: token_bucket, capacity: 1',
    );
  });

  it('keeps metadata as written, nested maps included', () => {
    const rule = snapshotOf(SHARED).match('d', entries('path', '/api/a'))?.rule;
    expect(rule?.metadata).toEqual({ tier: 'gold', routing: { backend: 'blue', weight: 3 } });
  });

  it('share_threshold: every value matching the pattern shares one bucket; without it, one bucket per value', () => {
    const snapshot = snapshotOf(SHARED);
    const [a, b] = [snapshot.match('d', entries('path', '/api/a')), snapshot.match('d', entries('path', '/api/b'))];
    expect(a?.identity).toBe(b?.identity);
    const [u1, u2] = [snapshot.match('d', entries('user', 'u1')), snapshot.match('d', entries('user', 'u2'))];
    expect(u1?.identity).not.toBe(u2?.identity);
  });

  it('refuses share_threshold on a value without a wildcard, at its line', () => {
    const text = 'domain: d\ndescriptors:\n  - key: k\n    value: plain\n    share_threshold: true\n    rate_limit: { unit: minute, requests_per_unit: 5 }\n';
    const result = loadConfigSources([{ file: 'bad.yaml', text }], {});
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.errors.map((e) => [e.code, e.line, e.message])).toEqual([
        ['RG_CONFIG_SHARE_THRESHOLD_NOT_WILDCARD', 5, 'share_threshold applies only to a wildcard value (one containing *)'],
      ]);
    }
  });

  it('refuses metadata that is not a mapping', () => {
    const text = 'domain: d\ndescriptors:\n  - key: k\n    metadata: [1, 2]\n    rate_limit: { unit: minute, requests_per_unit: 5 }\n';
    const result = loadConfigSources([{ file: 'bad.yaml', text }], {});
    expect(result.ok ? [] : result.errors.map((e) => [e.code, e.line])).toEqual([['RG_CONFIG_WRONG_TYPE', 4]]);
  });
});
