/**
 * A request's way through the HTTP filters of an Envoy config, without Envoy, for the filter chains
 * the deploy files use: the rate limit filter, optionally a Lua filter whose only code clears the
 * route cache, then the router. Semantics follow Envoy's docs:
 * - the rate limit filter sends the descriptors of the route matched so far; OVER_LIMIT answers 429;
 *   the answer's dynamic_metadata is stored under the namespace envoy.filters.http.ratelimit;
 * - `handle:clearRouteCache()` makes the router match the routes again, now with that metadata
 *   (routes can match it with `match.dynamic_metadata`);
 * - the router forwards to the cluster of the route matched last.
 * Any other filter, or other Lua code, throws: what this interpreter does not understand must fail
 * a test, never be ignored.
 */
import type { RateLimitRequest, RateLimitResponse } from '../../src/rls/codec.js';
import { Code } from '../../src/rls/codec.js';
import { at, type EnvoyFront, type Json } from './deploy-files.js';
import { routeRequest, type SampleRequest } from './envoy-rate-limits.js';

export const RATE_LIMIT_NAMESPACE = 'envoy.filters.http.ratelimit';
const LUA = 'envoy.filters.http.lua';
const CLEAR_ROUTE_CACHE = 'function envoy_on_request(handle)\n  handle:clearRouteCache()\nend';

/** A call to the rate limit service (a real one, in the tests). */
export type RateLimitCall = (request: RateLimitRequest) => Promise<RateLimitResponse>;

/** Envoy's own answer (404 without a route, a direct_response, 429) or 200 with the cluster it forwarded to. */
export interface Forwarded {
  readonly status: number;
  readonly route?: string;
  readonly cluster?: string;
}

/** Whether the chain is [ratelimit, router] or [ratelimit, Lua clearing the route cache, router]. */
export function clearsRouteCache(httpFilters: readonly Json[]): boolean {
  const names = httpFilters.map((filter) => String(filter.name));
  const plain = ['envoy.filters.http.ratelimit', 'envoy.filters.http.router'];
  const withLua = ['envoy.filters.http.ratelimit', LUA, 'envoy.filters.http.router'];
  if (names.join() === plain.join()) return false;
  if (names.join() !== withLua.join()) throw new Error(`http_filters ${names.join(', ')}: not a chain this interpreter understands`);
  const code = String(at(httpFilters[1], 'typed_config', 'default_source_code', 'inline_string')).trim();
  if (code !== CLEAR_ROUTE_CACHE) throw new Error(`${LUA}: only code that clears the route cache is understood here, not:\n${code}`);
  return true;
}

/** What Envoy answers, or where it forwards, for one request; `rls` decides the rate limit call. */
export async function throughFilters(front: EnvoyFront, request: SampleRequest, rls: RateLimitCall): Promise<Forwarded> {
  const clears = clearsRouteCache(front.httpFilters);
  const first = routeRequest(front.routes, request, front.addressRules);
  if (first.kind === 'no-route') return { status: 404 };
  if (first.kind === 'direct') return { status: first.status, route: first.route };
  let metadata = request.dynamicMetadata;
  if (first.descriptors.length > 0) {
    const domain = String(at(front.rateLimit, 'domain'));
    const response = await rls({ domain, descriptors: first.descriptors.map((entries) => ({ entries })), hitsAddend: 0 });
    if (response.overallCode === Code.OVER_LIMIT) return { status: 429, route: first.route };
    if (response.dynamicMetadata !== undefined) metadata = { ...metadata, [RATE_LIMIT_NAMESPACE]: response.dynamicMetadata };
  }
  const last = clears
    ? routeRequest(front.routes, { ...request, ...(metadata === undefined ? {} : { dynamicMetadata: metadata }) }, front.addressRules)
    : first;
  if (last.kind === 'no-route') return { status: 404 };
  if (last.kind === 'direct') return { status: last.status, route: last.route };
  return { status: 200, route: last.route, cluster: last.cluster };
}
