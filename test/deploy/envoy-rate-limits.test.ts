/** The Envoy interpreter itself, against the rules in Envoy's docs, before the tests lean on it. */
import { describe, expect, it } from 'vitest';
import { descriptorsOf, re2FullMatch, routeRequest, trustedClientAddress } from './envoy-rate-limits.js';

const edge = { useRemoteAddress: true, xffNumTrustedHops: 0 };

describe('trustedClientAddress (Envoy x-forwarded-for rules)', () => {
  const request = { path: '/', peer: '192.0.2.5', headers: { 'x-forwarded-for': '203.0.113.128, 203.0.113.10, 203.0.113.1' } };

  it('edge proxy (use_remote_address, 0 hops): the peer, whatever X-Forwarded-For says', () => {
    expect(trustedClientAddress(request, edge)).toBe('192.0.2.5');
  });

  it('use_remote_address with N trusted hops: the Nth address from the right', () => {
    expect(trustedClientAddress(request, { useRemoteAddress: true, xffNumTrustedHops: 1 })).toBe('203.0.113.1');
    expect(trustedClientAddress(request, { useRemoteAddress: true, xffNumTrustedHops: 2 })).toBe('203.0.113.10');
    expect(trustedClientAddress(request, { useRemoteAddress: true, xffNumTrustedHops: 4 })).toBe('192.0.2.5');
  });

  it('without use_remote_address: the (N+1)th from the right, so a client can forge it at 0 hops', () => {
    expect(trustedClientAddress(request, { useRemoteAddress: false, xffNumTrustedHops: 0 })).toBe('203.0.113.1');
    expect(trustedClientAddress(request, { useRemoteAddress: false, xffNumTrustedHops: 1 })).toBe('203.0.113.10');
    expect(trustedClientAddress({ path: '/', peer: '192.0.2.5' }, { useRemoteAddress: false, xffNumTrustedHops: 0 })).toBe('192.0.2.5');
  });

  it('a value that is not an IP falls back to the peer', () => {
    expect(trustedClientAddress({ ...request, headers: { 'x-forwarded-for': 'evil' } }, { useRemoteAddress: true, xffNumTrustedHops: 1 })).toBe('192.0.2.5');
  });
});

describe('descriptorsOf (rate_limits actions)', () => {
  const request = { path: '/api/expensive?x=1', peer: '198.51.100.7', headers: { 'x-api-key': 'k1' } };

  it('one descriptor per entry, entries in action order; generic_key defaults its key', () => {
    const limits = [
      { actions: [{ generic_key: { descriptor_value: 'expensive' } }, { remote_address: {} }] },
      { actions: [{ generic_key: { descriptor_value: 'v', descriptor_key: 'k' } }] },
    ];
    expect(descriptorsOf(limits, request, edge)).toEqual([
      [
        { key: 'generic_key', value: 'expensive' },
        { key: 'remote_address', value: '198.51.100.7' },
      ],
      [{ key: 'k', value: 'v' }],
    ]);
  });

  it('request_headers: absent header drops the descriptor, or with skip_if_absent only the entry — even into an empty descriptor', () => {
    const byHeader = (skip: boolean) => [{ actions: [{ request_headers: { header_name: 'x-tenant', descriptor_key: 'tenant', skip_if_absent: skip } }] }];
    expect(descriptorsOf(byHeader(false), request, edge)).toEqual([]);
    expect(descriptorsOf(byHeader(true), request, edge)).toEqual([[]]);
    expect(descriptorsOf(byHeader(true), { ...request, headers: { 'x-tenant': 't' } }, edge)).toEqual([[{ key: 'tenant', value: 't' }]]);
  });

  it('header_value_match on :path (query included), expect_match both ways, header_match as the default key', () => {
    const matcher = (expect: boolean) => [
      {
        actions: [
          {
            header_value_match: {
              descriptor_value: 'hit',
              expect_match: expect,
              headers: [{ name: ':path', string_match: { safe_regex: { regex: '(?i)/api/expensive/?(\\?.*)?' } } }],
            },
          },
        ],
      },
    ];
    expect(descriptorsOf(matcher(true), request, edge)).toEqual([[{ key: 'header_match', value: 'hit' }]]);
    expect(descriptorsOf(matcher(false), request, edge)).toEqual([]);
    expect(descriptorsOf(matcher(true), { ...request, path: '/api/expensiveX' }, edge)).toEqual([]);
  });

  it('an action type it does not know fails loudly', () => {
    expect(() => descriptorsOf([{ actions: [{ destination_cluster: {} }] }], request, edge)).toThrow(/destination_cluster/);
    expect(() => descriptorsOf([{ actions: [{ remote_address: {} }], stage: 1 }], request, edge)).toThrow(/stage/);
  });
});

describe('routeRequest', () => {
  const routes = [
    { name: 'hidden', match: { prefix: '/api/admin/', case_sensitive: false }, direct_response: { status: 404 } },
    { name: 'exact', match: { path: '/api/one' }, route: { cluster: 'c1' } },
    { name: 'regex', match: { safe_regex: { regex: '(?i)/api/two/?' } }, route: { cluster: 'c2', rate_limits: [{ actions: [{ remote_address: {} }] }] } },
  ];
  const go = (path: string) => routeRequest(routes, { path, peer: '192.0.2.1' }, edge);

  it('first match wins; path and safe_regex ignore the query string; case_sensitive false folds case', () => {
    expect(go('/API/Admin/stats')).toEqual({ kind: 'direct', route: 'hidden', status: 404 });
    expect(go('/api/one?q=1')).toEqual({ kind: 'cluster', route: 'exact', cluster: 'c1', descriptors: [] });
    expect(go('/API/TWO/?q')).toEqual({ kind: 'cluster', route: 'regex', cluster: 'c2', descriptors: [[{ key: 'remote_address', value: '192.0.2.1' }]] });
    expect(go('/api/One')).toEqual({ kind: 'no-route' });
  });

  it('RE2 full match: (?i) becomes a flag, other inline flags are refused', () => {
    expect(re2FullMatch('(?i)/a/?').test('/A/')).toBe(true);
    expect(re2FullMatch('/a').test('/ab')).toBe(false);
    expect(() => re2FullMatch('(?s)/a')).toThrow(/supported/);
  });
});
