/** The interpreter's route matching on dynamic metadata, and the filter chains it accepts. */
import { describe, expect, it } from 'vitest';
import { readEnvoyFront } from './deploy-files.js';
import { clearsRouteCache, RATE_LIMIT_NAMESPACE } from './envoy-filter-chain.js';
import { routeRequest } from './envoy-rate-limits.js';

const edge = { useRemoteAddress: true, xffNumTrustedHops: 0 };
const onBackend = (value: Record<string, unknown>, invert?: boolean) => ({
  filter: RATE_LIMIT_NAMESPACE,
  path: [{ key: 'metadata' }, { key: 'backend' }],
  value,
  ...(invert === undefined ? {} : { invert }),
});

describe('routes matching dynamic_metadata (MetadataMatcher)', () => {
  const routes = [
    { name: 'a', match: { prefix: '/', dynamic_metadata: [onBackend({ string_match: { exact: 'a' } })] }, route: { cluster: 'A' } },
    { name: 'not-b', match: { prefix: '/x', dynamic_metadata: [onBackend({ string_match: { exact: 'b' } }, true)] }, route: { cluster: 'NB' } },
    { name: 'any', match: { prefix: '/', dynamic_metadata: [onBackend({ present_match: true })] }, route: { cluster: 'ANY' } },
    { name: 'rest', match: { prefix: '/' }, route: { cluster: 'REST' } },
  ];
  const go = (path: string, metadata?: Record<string, unknown>) =>
    routeRequest(
      routes,
      { path, peer: '192.0.2.1', ...(metadata === undefined ? {} : { dynamicMetadata: { [RATE_LIMIT_NAMESPACE]: metadata as never } }) },
      edge,
    );
  const cluster = (outcome: ReturnType<typeof go>) => (outcome.kind === 'cluster' ? outcome.cluster : outcome.kind);

  it('the value at the path, in the filter namespace, matches the string matcher', () => {
    expect(cluster(go('/', { metadata: { backend: 'a' } }))).toBe('A');
    expect(cluster(go('/', { metadata: { backend: 'c' } }))).toBe('ANY');
  });

  it('a path leading nowhere, a non-string value or another namespace does not match; invert negates', () => {
    expect(cluster(go('/'))).toBe('REST');
    expect(cluster(go('/', { metadata: {} }))).toBe('REST');
    expect(cluster(go('/', { metadata: { backend: 7 } }))).toBe('ANY'); // present, but not a string
    expect(cluster(routeRequest(routes, { path: '/', peer: '192.0.2.1', dynamicMetadata: { other: { metadata: { backend: 'a' } } } }, edge))).toBe('REST');
    expect(cluster(go('/x', { metadata: { backend: 'c' } }))).toBe('NB');
    expect(cluster(go('/x', { metadata: { backend: 'b' } }))).toBe('ANY');
  });

  it('a matcher field it does not know fails loudly', () => {
    const odd = [{ name: 'odd', match: { prefix: '/', dynamic_metadata: [{ ...onBackend({ bool_match: true }) }] }, route: { cluster: 'X' } }];
    expect(() => routeRequest(odd, { path: '/', peer: '192.0.2.1', dynamicMetadata: { [RATE_LIMIT_NAMESPACE]: {} } }, edge)).toThrow(/bool_match/);
  });
});

describe('clearsRouteCache (the filter chains understood)', () => {
  const ratelimit = { name: 'envoy.filters.http.ratelimit' };
  const router = { name: 'envoy.filters.http.router' };
  const lua = (code: string) => ({ name: 'envoy.filters.http.lua', typed_config: { default_source_code: { inline_string: code } } });

  it('the quota-routing config clears the route cache after the rate limit filter; the demo config does not', () => {
    expect(clearsRouteCache(readEnvoyFront('test/deploy/quota-routing/envoy.yaml').httpFilters)).toBe(true);
    expect(clearsRouteCache(readEnvoyFront().httpFilters)).toBe(false);
  });

  it('other Lua code, or another filter, is refused', () => {
    expect(() => clearsRouteCache([ratelimit, lua('function envoy_on_request(handle)\n  handle:headers():add("x", "y")\nend\n'), router])).toThrow(
      /only code that clears the route cache/,
    );
    expect(() => clearsRouteCache([ratelimit, { name: 'envoy.filters.http.ext_authz' }, router])).toThrow(/ext_authz/);
  });
});
