/**
 * A small interpreter of the Envoy configuration the deploy files rely on, so tests can tell which
 * descriptors Envoy would send without an Envoy binary: route matching (prefix, path, safe_regex,
 * case_sensitive, dynamic_metadata, direct_response), the connection manager's client address (use_remote_address,
 * xff_num_trusted_hops) and the rate_limits action types remote_address, request_headers
 * (skip_if_absent), generic_key and header_value_match. Semantics follow Envoy's docs and
 * source/common/router/router_ratelimit.cc. Anything else found in the config throws: a field this
 * interpreter does not understand must fail a test, never be ignored.
 */
import { isIP } from 'node:net';
import type { DescriptorEntry, JsonObject } from '../../src/rls/codec.js';

export interface SampleRequest {
  readonly path: string;
  /** The TCP peer Envoy sees. */
  readonly peer: string;
  /** Lower-case names. */
  readonly headers?: Readonly<Record<string, string>>;
  /** What filters wrote so far, by namespace (the rate limit filter's under envoy.filters.http.ratelimit). */
  readonly dynamicMetadata?: Readonly<Record<string, JsonObject>>;
}

export interface AddressRules {
  readonly useRemoteAddress: boolean;
  readonly xffNumTrustedHops: number;
}

export type RouteOutcome =
  | { readonly kind: 'no-route' }
  | { readonly kind: 'direct'; readonly route: string; readonly status: number }
  | { readonly kind: 'cluster'; readonly route: string; readonly cluster: string; readonly descriptors: DescriptorEntry[][] };

type Json = Record<string, unknown>;

function record(value: unknown, where: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${where}: expected a mapping`);
  return value as Json;
}

function list(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`${where}: expected a list`);
  return value;
}

function onlyKeys(value: Json, allowed: readonly string[], where: string): void {
  const unknown = Object.keys(value).filter((key) => !allowed.includes(key));
  if (unknown.length > 0) throw new Error(`${where}: not understood by this interpreter: ${unknown.join(', ')}`);
}

function text(value: unknown, where: string): string {
  if (typeof value !== 'string') throw new Error(`${where}: expected a string`);
  return value;
}

/** RE2 as Envoy uses it (a full match); only the leading (?i) flag is translated. */
export function re2FullMatch(regex: string): RegExp {
  const insensitive = regex.startsWith('(?i)');
  const body = insensitive ? regex.slice(4) : regex;
  if (/\(\?(?!:)/.test(body)) throw new Error(`regex ${regex}: only (?i) at the start and (?:...) groups are supported here`);
  return new RegExp(`^(?:${body})$`, insensitive ? 'i' : '');
}

const withoutQuery = (path: string) => path.split('?')[0]!;

/**
 * The "trusted client address" of Envoy's x-forwarded-for rules, which the remote_address action
 * reads: with use_remote_address the peer, or the Nth address from the right of X-Forwarded-For when
 * N trusted hops are configured; without it the (N+1)th from the right. Too few addresses, or a
 * value that is not an IP, falls back to the peer.
 */
export function trustedClientAddress(request: SampleRequest, rules: AddressRules): string {
  const xff = (request.headers?.['x-forwarded-for'] ?? '')
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a !== '');
  const fromRight = rules.useRemoteAddress ? rules.xffNumTrustedHops : rules.xffNumTrustedHops + 1;
  if (fromRight === 0 || xff.length < fromRight) return request.peer;
  const candidate = xff[xff.length - fromRight]!;
  return isIP(candidate) === 0 ? request.peer : candidate;
}

function headerValue(request: SampleRequest, name: string): string | undefined {
  if (name === ':path') return request.path;
  return request.headers?.[name.toLowerCase()];
}

function stringMatches(matcher: Json, value: string, where: string): boolean {
  onlyKeys(matcher, ['exact', 'prefix', 'safe_regex', 'ignore_case'], where);
  const fold = matcher.ignore_case === true ? (s: string) => s.toLowerCase() : (s: string) => s;
  if (matcher.exact !== undefined) return fold(value) === fold(text(matcher.exact, `${where}.exact`));
  if (matcher.prefix !== undefined) return fold(value).startsWith(fold(text(matcher.prefix, `${where}.prefix`)));
  const regex = record(matcher.safe_regex, `${where}.safe_regex`);
  onlyKeys(regex, ['regex'], `${where}.safe_regex`);
  return re2FullMatch(text(regex.regex, `${where}.safe_regex.regex`)).test(value);
}

/** HeaderMatcher: string_match or present_match, optionally inverted; a missing header does not match. */
function headerMatches(matcher: Json, request: SampleRequest, where: string): boolean {
  onlyKeys(matcher, ['name', 'string_match', 'present_match', 'invert_match'], where);
  const value = headerValue(request, text(matcher.name, `${where}.name`));
  let matched: boolean;
  if (matcher.present_match !== undefined) matched = (value !== undefined) === (matcher.present_match === true);
  else matched = value !== undefined && stringMatches(record(matcher.string_match, `${where}.string_match`), value, `${where}.string_match`);
  return matcher.invert_match === true ? !matched : matched;
}

/** One action's entry; undefined = the action contributes none but the descriptor goes on; false = no descriptor. */
function actionEntry(action: Json, request: SampleRequest, rules: AddressRules, where: string): DescriptorEntry | undefined | false {
  const [type, ...more] = Object.keys(action);
  if (type === undefined || more.length > 0) throw new Error(`${where}: an action has exactly one type`);
  const body = record(action[type], `${where}.${type}`);
  switch (type) {
    case 'remote_address':
      onlyKeys(body, [], `${where}.remote_address`);
      return { key: 'remote_address', value: trustedClientAddress(request, rules) };
    case 'generic_key': {
      onlyKeys(body, ['descriptor_value', 'descriptor_key'], `${where}.generic_key`);
      const key = body.descriptor_key === undefined ? 'generic_key' : text(body.descriptor_key, `${where}.generic_key.descriptor_key`);
      return { key, value: text(body.descriptor_value, `${where}.generic_key.descriptor_value`) };
    }
    case 'request_headers': {
      onlyKeys(body, ['header_name', 'descriptor_key', 'skip_if_absent'], `${where}.request_headers`);
      const value = headerValue(request, text(body.header_name, `${where}.request_headers.header_name`));
      if (value === undefined) return body.skip_if_absent === true ? undefined : false;
      return { key: text(body.descriptor_key, `${where}.request_headers.descriptor_key`), value };
    }
    case 'header_value_match': {
      onlyKeys(body, ['descriptor_value', 'descriptor_key', 'expect_match', 'headers'], `${where}.header_value_match`);
      const matchedAll = list(body.headers, `${where}.header_value_match.headers`).every((h, i) =>
        headerMatches(record(h, `${where}.header_value_match.headers[${i}]`), request, `${where}.header_value_match.headers[${i}]`),
      );
      if (matchedAll !== (body.expect_match !== false)) return false;
      const key = body.descriptor_key === undefined ? 'header_match' : text(body.descriptor_key, `${where}.header_value_match.descriptor_key`);
      return { key, value: text(body.descriptor_value, `${where}.header_value_match.descriptor_value`) };
    }
    default:
      throw new Error(`${where}: action type ${type} is not understood by this interpreter`);
  }
}

/**
 * The descriptors of a rate_limits list for one request: one per entry, entries in action order;
 * an entry whose action fails is left out whole. An entry can end up with no entries at all
 * (skip_if_absent on its only action): Envoy still sends it, and a rate limit service rejects it.
 */
export function descriptorsOf(rateLimits: unknown, request: SampleRequest, rules: AddressRules, where = 'rate_limits'): DescriptorEntry[][] {
  const descriptors: DescriptorEntry[][] = [];
  for (const [i, limit] of list(rateLimits, where).entries()) {
    const entry = record(limit, `${where}[${i}]`);
    onlyKeys(entry, ['actions'], `${where}[${i}]`);
    const entries: DescriptorEntry[] = [];
    let produced = true;
    for (const [j, action] of list(entry.actions, `${where}[${i}].actions`).entries()) {
      const result = actionEntry(record(action, `${where}[${i}].actions[${j}]`), request, rules, `${where}[${i}].actions[${j}]`);
      if (result === false) {
        produced = false;
        break;
      }
      if (result !== undefined) entries.push(result);
    }
    if (produced) descriptors.push(entries);
  }
  return descriptors;
}

/**
 * MetadataMatcher on the request's dynamic metadata: the value at `path` (keys into nested structs)
 * of namespace `filter` matches `value` (string_match on a string, or present_match); a path that
 * leads nowhere does not match; `invert` negates.
 */
function metadataMatches(matcher: Json, request: SampleRequest, where: string): boolean {
  onlyKeys(matcher, ['filter', 'path', 'value', 'invert'], where);
  let found: unknown = request.dynamicMetadata?.[text(matcher.filter, `${where}.filter`)];
  for (const [i, segment] of list(matcher.path, `${where}.path`).entries()) {
    const step = record(segment, `${where}.path[${i}]`);
    onlyKeys(step, ['key'], `${where}.path[${i}]`);
    const key = text(step.key, `${where}.path[${i}].key`);
    found = typeof found === 'object' && found !== null && !Array.isArray(found) ? (found as Json)[key] : undefined;
  }
  const value = record(matcher.value, `${where}.value`);
  onlyKeys(value, ['string_match', 'present_match'], `${where}.value`);
  const matched =
    value.present_match !== undefined
      ? (found !== undefined) === (value.present_match === true)
      : typeof found === 'string' && stringMatches(record(value.string_match, `${where}.value.string_match`), found, `${where}.value.string_match`);
  return matcher.invert === true ? !matched : matched;
}

function pathMatches(match: Json, path: string, where: string): boolean {
  const fold = match.case_sensitive === false ? (s: string) => s.toLowerCase() : (s: string) => s;
  if (match.prefix !== undefined) return fold(path).startsWith(fold(text(match.prefix, `${where}.prefix`)));
  if (match.path !== undefined) return fold(withoutQuery(path)) === fold(text(match.path, `${where}.path`));
  const regex = record(match.safe_regex, `${where}.safe_regex`);
  onlyKeys(regex, ['regex'], `${where}.safe_regex`);
  return re2FullMatch(text(regex.regex, `${where}.safe_regex.regex`)).test(withoutQuery(path));
}

/** The path condition (prefix, path or safe_regex) and every dynamic_metadata matcher. */
function routeMatches(match: Json, request: SampleRequest, where: string): boolean {
  onlyKeys(match, ['prefix', 'path', 'safe_regex', 'case_sensitive', 'dynamic_metadata'], where);
  const metadataMatchers = match.dynamic_metadata === undefined ? [] : list(match.dynamic_metadata, `${where}.dynamic_metadata`);
  return (
    pathMatches(match, request.path, where) &&
    metadataMatchers.every((m, i) => metadataMatches(record(m, `${where}.dynamic_metadata[${i}]`), request, `${where}.dynamic_metadata[${i}]`))
  );
}

/** The route a request takes through one virtual host's routes (first match wins) and what it sends. */
export function routeRequest(routes: unknown, request: SampleRequest, rules: AddressRules): RouteOutcome {
  for (const [i, candidate] of list(routes, 'routes').entries()) {
    const route = record(candidate, `routes[${i}]`);
    onlyKeys(route, ['name', 'match', 'route', 'direct_response'], `routes[${i}]`);
    const name = text(route.name, `routes[${i}].name`);
    if (!routeMatches(record(route.match, `${name}.match`), request, `${name}.match`)) continue;
    if (route.direct_response !== undefined) {
      const direct = record(route.direct_response, `${name}.direct_response`);
      onlyKeys(direct, ['status'], `${name}.direct_response`);
      return { kind: 'direct', route: name, status: Number(direct.status) };
    }
    const action = record(route.route, `${name}.route`);
    onlyKeys(action, ['cluster', 'rate_limits'], `${name}.route`);
    const descriptors = action.rate_limits === undefined ? [] : descriptorsOf(action.rate_limits, request, rules, `${name}.rate_limits`);
    return { kind: 'cluster', route: name, cluster: text(action.cluster, `${name}.route.cluster`), descriptors };
  }
  return { kind: 'no-route' };
}
