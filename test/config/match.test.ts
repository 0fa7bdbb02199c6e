import { describe, expect, it } from 'vitest';
import { encodeIdentity } from '../../src/engine/keys.js';
import { applyReplaces } from '../../src/config/match.js';
import { entries, limitsOf, snapshotOf } from './helpers.js';

/** The configuration examples of envoyproxy/ratelimit's README, with the README's own requests. */
describe('envoyproxy/ratelimit README examples', () => {
  it('example 1: two values of one key, 500/second each', () => {
    const s = snapshotOf(`
domain: mongo_cps
descriptors:
  - key: database
    value: users
    rate_limit:
      unit: second
      requests_per_unit: 500

  - key: database
    value: default
    rate_limit:
      unit: second
      requests_per_unit: 500
`);
    expect(limitsOf(s, 'mongo_cps', 'database', 'users')).toEqual(['500/SECOND']);
    expect(limitsOf(s, 'mongo_cps', 'database', 'default')).toEqual(['500/SECOND']);
    expect(limitsOf(s, 'mongo_cps', 'database', 'other')).toBeUndefined();
  });

  it('example 2: nested marketing limit per number, and an overall limit per number', () => {
    const s = snapshotOf(`
domain: messaging
descriptors:
  # Only allow 5 marketing messages a day
  - key: message_type
    value: marketing
    descriptors:
      - key: to_number
        rate_limit:
          unit: day
          requests_per_unit: 5

  # Only allow 100 messages a day to any unique phone number
  - key: to_number
    rate_limit:
      unit: day
      requests_per_unit: 100
`);
    const marketing1 = s.match('messaging', entries('message_type', 'marketing', 'to_number', '2061111111'));
    const marketing2 = s.match('messaging', entries('message_type', 'marketing', 'to_number', '2062222222'));
    expect(marketing1?.limits.map((l) => l.rateLimit)).toEqual([{ name: '', requestsPerUnit: 5, unit: 'DAY' }]);
    // One counter per number: same limit, different identities.
    expect(marketing2?.limits).toBe(marketing1?.limits);
    expect(marketing1?.identity).not.toBe(marketing2?.identity);
    expect(marketing1?.metricKey).toBe('messaging.message_type_marketing.to_number');
    expect(limitsOf(s, 'messaging', 'to_number', '2061111111')).toEqual(['100/DAY']);
    expect(limitsOf(s, 'messaging', 'to_number', '2062222222')).toEqual(['100/DAY']);
    // The placeholder level alone has no limit.
    expect(limitsOf(s, 'messaging', 'message_type', 'marketing')).toBeUndefined();
  });

  it('example 3: a key/value is matched before the key-only default (blocked IP)', () => {
    const s = snapshotOf(`
domain: edge_proxy_per_ip
descriptors:
  - key: remote_address
    rate_limit:
      unit: second
      requests_per_unit: 10

  # Black list IP
  - key: remote_address
    value: 50.0.0.5
    rate_limit:
      unit: second
      requests_per_unit: 0
`);
    expect(limitsOf(s, 'edge_proxy_per_ip', 'remote_address', '50.0.0.1')).toEqual(['10/SECOND']);
    const blocked = s.match('edge_proxy_per_ip', entries('remote_address', '50.0.0.5'));
    expect(blocked?.limits[0]?.rateLimit.requestsPerUnit).toBe(0);
    expect(blocked?.limits[0]?.limit?.capacity).toBe(0);
    // `value: 50.0.0.5` is kept as its source text.
    expect(blocked?.metricKey).toBe('edge_proxy_per_ip.remote_address_50.0.0.5');
  });

  it('example 4: the request must have as many entries as the matched node is deep', () => {
    const flat = snapshotOf(`
domain: example4
descriptors:
  - key: key
    value: value
    rate_limit:
      requests_per_unit: 300
      unit: second
`);
    expect(limitsOf(flat, 'example4', 'key', 'value', 'subkey', 'subvalue')).toBeUndefined();
    const nested = snapshotOf(`
domain: example4
descriptors:
  - key: key
    value: value
    descriptors:
      - key: subkey
        rate_limit:
          requests_per_unit: 300
          unit: second
`);
    expect(limitsOf(nested, 'example4', 'key', 'value', 'subkey', 'subvalue')).toEqual(['300/SECOND']);
  });

  it('example 5: unlimited descriptors', () => {
    const s = snapshotOf(`
domain: internal
descriptors:
  - key: ldap
    rate_limit:
      unlimited: true

  - key: azure
    rate_limit:
      unit: minute
      requests_per_unit: 100
`);
    const ldap = s.match('internal', entries('ldap', 'x'));
    expect(ldap?.limits[0]).toMatchObject({ unlimited: true, limit: undefined, algorithm: undefined });
    expect(ldap?.limits[0]?.rateLimit).toEqual({ name: '', requestsPerUnit: 0, unit: 'UNKNOWN' });
    expect(limitsOf(s, 'internal', 'azure', 'x')).toEqual(['100/MINUTE']);
  });

  it('example 6: shadow_mode on one user, enforced on the other', () => {
    const s = snapshotOf(`
domain: example6
descriptors:
  - key: service
    descriptors:
      - key: user
        value: user-a
        rate_limit:
          requests_per_unit: 10
          unit: second
        shadow_mode: true
      - key: user
        value: user-b
        rate_limit:
          requests_per_unit: 20
          unit: second
`);
    const a = s.match('example6', entries('service', 'auth-service', 'user', 'user-a'));
    const b = s.match('example6', entries('service', 'auth-service', 'user', 'user-b'));
    expect(a?.limits.map((l) => [l.rateLimit.requestsPerUnit, l.shadowMode])).toEqual([[10, true]]);
    expect(b?.limits.map((l) => [l.rateLimit.requestsPerUnit, l.shadowMode])).toEqual([[20, false]]);
    expect(a?.rule?.shadowMode).toBe(true);
  });

  it('example 7: replaces', () => {
    const s = snapshotOf(`
domain: example7
descriptors:
  - key: key_1
    value: value_1
    descriptors:
      - key: user
        value: bkthomps
        rate_limit:
          name: specific_limit
          requests_per_unit: 5
          unit: second
  - key: key_2
    value: value_2
    descriptors:
      - key: user
        value: bkthomps
        rate_limit:
          replaces:
            - name: specific_limit
          requests_per_unit: 10
          unit: second
`);
    const one = s.match('example7', entries('key_1', 'value_1', 'user', 'bkthomps'));
    const two = s.match('example7', entries('key_2', 'value_2', 'user', 'bkthomps'));
    // Alone, each applies.
    expect(s.applyReplaces([one])[0]?.limits.map((l) => l.rateLimit.requestsPerUnit)).toEqual([5]);
    expect(s.applyReplaces([two])[0]?.limits.map((l) => l.rateLimit.requestsPerUnit)).toEqual([10]);
    // Together, the 10/s replaces the 5/s, which is not evaluated (so not charged).
    const both = s.applyReplaces([one, two]);
    expect(both[0]).toBeUndefined();
    expect(both[1]?.limits.map((l) => l.rateLimit.requestsPerUnit)).toEqual([10]);
  });

  it('example 8: detailed_metric puts the request value in the metric key of a key-only default', () => {
    const s = snapshotOf(`
domain: example8
descriptors:
  - key: key1
    detailed_metric: true
    rate_limit:
      unit: minute
      requests_per_unit: 10
  - key: key1
    value: value1
    rate_limit:
      unit: minute
      requests_per_unit: 20
`);
    const a = s.match('example8', entries('key1', 'unspecified_value'));
    const b = s.match('example8', entries('key1', 'unspecified_value2'));
    const c = s.match('example8', entries('key1', 'value1'));
    expect([a?.metricKey, b?.metricKey, c?.metricKey]).toEqual(['example8.key1_unspecified_value', 'example8.key1_unspecified_value2', 'example8.key1_value1']);
    expect([a, b, c].map((m) => m?.limits[0]?.rateLimit.requestsPerUnit)).toEqual([10, 10, 20]);
  });

  it('example 9: a wildcard value', () => {
    const s = snapshotOf(`
domain: example9
descriptors:
  - key: key1
    value: value*
    rate_limit:
      unit: minute
      requests_per_unit: 20
`);
    const one = s.match('example9', entries('key1', 'value_1'));
    const two = s.match('example9', entries('key1', 'value_2'));
    expect(one?.limits[0]?.rateLimit).toEqual({ name: '', requestsPerUnit: 20, unit: 'MINUTE' });
    expect(two?.limits).toBe(one?.limits);
    // Each matching value has its own bucket, as in the reference (the request's value is the identity).
    expect(one?.identity).toBe(encodeIdentity('example9', entries('key1', 'value_1')));
    expect(two?.identity).toBe(encodeIdentity('example9', entries('key1', 'value_2')));
    expect(one?.metricKey).toBe('example9.key1_value*');
    expect(limitsOf(s, 'example9', 'key1', 'other')).toBeUndefined();
  });
});

describe('matching rules', () => {
  const s = snapshotOf(`
domain: d
descriptors:
  - key: path
    value: /api/v1/users
    rate_limit: {unit: second, requests_per_unit: 1}
  - key: path
    value: /api/*/users
    rate_limit: {unit: second, requests_per_unit: 2}
  - key: path
    value: /api/*
    rate_limit: {unit: second, requests_per_unit: 3}
  - key: path
    value: "*.json"
    rate_limit: {unit: second, requests_per_unit: 4}
  - key: path
    value: "/a*b*c"
    rate_limit: {unit: second, requests_per_unit: 5}
  - key: path
    rate_limit: {unit: second, requests_per_unit: 6}
  - key: host
    value: "*"
    rate_limit: {unit: second, requests_per_unit: 7}
`);

  it('tries exact, then wildcards in config order, then the default', () => {
    expect(limitsOf(s, 'd', 'path', '/api/v1/users')).toEqual(['1/SECOND']);
    expect(limitsOf(s, 'd', 'path', '/api/v2/users')).toEqual(['2/SECOND']); // middle
    expect(limitsOf(s, 'd', 'path', '/api//users')).toEqual(['2/SECOND']); // * matches zero chars
    expect(limitsOf(s, 'd', 'path', '/api/v2/orders')).toEqual(['3/SECOND']); // prefix
    expect(limitsOf(s, 'd', 'path', '/api/x.json')).toEqual(['3/SECOND']); // earlier wildcard wins
    expect(limitsOf(s, 'd', 'path', '/x/y.json')).toEqual(['4/SECOND']); // suffix
    expect(limitsOf(s, 'd', 'path', '/abc')).toEqual(['5/SECOND']); // several stars, all empty
    expect(limitsOf(s, 'd', 'path', '/a-b-b-c')).toEqual(['5/SECOND']);
    expect(limitsOf(s, 'd', 'path', '/a-c-b')).toEqual(['6/SECOND']); // order matters: falls to default
    expect(limitsOf(s, 'd', 'path', '/other')).toEqual(['6/SECOND']);
    expect(limitsOf(s, 'd', 'host', '')).toEqual(['7/SECOND']); // a lone star matches the empty value
  });

  it('keeps one bucket per value for a default and metric keys per config node', () => {
    const a = s.match('d', entries('path', '/one'));
    const b = s.match('d', entries('path', '/two'));
    expect(a?.identity).not.toBe(b?.identity);
    expect(a?.metricKey).toBe('d.path');
    expect(s.match('d', entries('path', '/api/v1/users'))?.metricKey).toBe('d.path_/api/v1/users');
    expect(s.match('d', entries('path', '/api/v2/users'))?.metricKey).toBe('d.path_/api/*/users');
  });

  it('matches nothing for an unknown domain, an empty descriptor, or an unknown key', () => {
    expect(s.match('nope', entries('path', '/one'))).toBeUndefined();
    expect(s.match('d', [])).toBeUndefined();
    expect(s.match('d', entries('other', 'x'))).toBeUndefined();
  });

  it('does not backtrack: an exact node without children hides the default node that has them', () => {
    const t = snapshotOf(`
domain: t
descriptors:
  - key: a
    value: x
    rate_limit: {unit: second, requests_per_unit: 1}
  - key: a
    descriptors:
      - key: b
        rate_limit: {unit: second, requests_per_unit: 2}
`);
    expect(limitsOf(t, 't', 'a', 'y', 'b', 'z')).toEqual(['2/SECOND']);
    expect(limitsOf(t, 't', 'a', 'x', 'b', 'z')).toBeUndefined();
    expect(limitsOf(t, 't', 'a', 'x')).toEqual(['1/SECOND']);
    // Fewer entries than the node is deep: the placeholder `a` has no limit of its own.
    expect(limitsOf(t, 't', 'a', 'y')).toBeUndefined();
  });

  it('returns the shared frozen rule objects, not copies', () => {
    const a = s.match('d', entries('path', '/one'));
    const b = s.match('d', entries('path', '/two'));
    expect(a?.rule).toBe(b?.rule);
    expect(Object.isFrozen(a?.rule)).toBe(true);
    expect(Object.isFrozen(a?.limits)).toBe(true);
    expect(Object.isFrozen(a?.limits[0])).toBe(true);
    expect(Object.isFrozen(a?.limits[0]?.limit)).toBe(true);
  });

  it('uses the request entries for the identity: the key, not just the value, distinguishes buckets', () => {
    const m = s.match('d', entries('path', '/one'));
    expect(m?.identity).toBe('1:d4:path4:/one');
  });
});

describe('detailed_metric', () => {
  it('replaces the last level with <key>_<request value> for explicit, wildcard and nested nodes', () => {
    const s = snapshotOf(`
domain: m
descriptors:
  - key: a
    value: x
    detailed_metric: true
    rate_limit: {unit: second, requests_per_unit: 1}
  - key: w
    value: pre*
    detailed_metric: true
    rate_limit: {unit: second, requests_per_unit: 1}
  - key: p
    value: q
    descriptors:
      - key: user
        detailed_metric: true
        rate_limit: {unit: second, requests_per_unit: 1}
`);
    expect(s.match('m', entries('a', 'x'))?.metricKey).toBe('m.a_x');
    expect(s.match('m', entries('w', 'prefix'))?.metricKey).toBe('m.w_prefix');
    expect(s.match('m', entries('p', 'q', 'user', 'alice'))?.metricKey).toBe('m.p_q.user_alice');
    expect(s.match('m', entries('p', 'q', 'user', ''))?.metricKey).toBe('m.p_q.user');
  });

  it('puts the request values in every level of the key, as the current reference', () => {
    const s = snapshotOf(`
domain: m
descriptors:
  - key: route
    value: /api/*
    descriptors:
      - key: user
        detailed_metric: true
        rate_limit: {unit: second, requests_per_unit: 1}
`);
    expect(s.match('m', entries('route', '/api/v1', 'user', 'alice'))?.metricKey).toBe('m.route_/api/v1.user_alice');
  });
});

describe('value_to_metric', () => {
  const s = snapshotOf(`
domain: v
descriptors:
  - key: tenant
    value_to_metric: true
    descriptors:
      - key: path
        value: /api/*
        value_to_metric: true
        rate_limit: {unit: second, requests_per_unit: 1}
      - key: route
        value: /r/*
        rate_limit: {unit: second, requests_per_unit: 1}
      - key: shared
        value: /s/*
        share_threshold: true
        value_to_metric: true
        rate_limit: {unit: second, requests_per_unit: 1}
`);

  it('names each level where it is set by the request value; other levels keep the config names', () => {
    expect(s.match('v', entries('tenant', 'acme', 'path', '/api/users'))?.metricKey).toBe('v.tenant_acme.path_/api/users');
    expect(s.match('v', entries('tenant', 'acme', 'route', '/r/1'))?.metricKey).toBe('v.tenant_acme.route_/r/*');
  });

  it('with share_threshold, a level is named by the pattern before its *', () => {
    expect(s.match('v', entries('tenant', 'acme', 'shared', '/s/x'))?.metricKey).toBe('v.tenant_acme.shared_/s/');
  });
});

describe('replaces across several limits', () => {
  const s = snapshotOf(`
domain: r
descriptors:
  - key: user
    rate_limits:
      - {name: per_second, unit: second, requests_per_unit: 10}
      - {name: per_day, unit: day, requests_per_unit: 1000}
  - key: vip
    rate_limit:
      name: vip_day
      unit: day
      requests_per_unit: 100000
      replaces: [{name: per_day}]
  - key: plain
    rate_limit: {unit: second, requests_per_unit: 1}
`);

  it('drops only the replaced entry of a rate_limits list', () => {
    const user = s.match('r', entries('user', 'u1'));
    const vip = s.match('r', entries('vip', 'u1'));
    const out = s.applyReplaces([user, vip, undefined]);
    expect(out[0]?.limits.map((l) => l.name)).toEqual(['per_second']);
    expect(out[0]?.identity).toBe(user?.identity);
    expect(out[1]).toBe(vip);
    expect(out[2]).toBeUndefined();
    // The input is not modified.
    expect(user?.limits.map((l) => l.name)).toEqual(['per_second', 'per_day']);
  });

  it('returns the same array when nothing is replaced', () => {
    const input = [s.match('r', entries('user', 'u1')), s.match('r', entries('plain', 'x'))];
    expect(s.applyReplaces(input)).toBe(input);
    expect(applyReplaces(input)).toBe(input);
  });
});
