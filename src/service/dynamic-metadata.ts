/**
 * The response's `dynamic_metadata` with `RESPONSE_DYNAMIC_METADATA` on, in the reference's shape
 * (Envoy stores it under the filter namespace `envoy.filters.http.ratelimit`, where routes and
 * access logs read it; the reference's example routes a request to a backend that still has quota):
 *
 *   { domain, descriptors: [{ entries: ["k=v", ...], limit?: "requests_per_unit:N unit:UNIT",
 *     hitsAddend? }], hitsAddend?, metadata? }
 *
 * `metadata` merges the config `metadata` of every descriptor that was not over its limit, in
 * request order: the first value written for a key wins, nested mappings are merged.
 */
import type { DescriptorMatch } from '../config/index.js';
import { Code, type DescriptorStatus, type JsonObject, type JsonValue, type RateLimitRequest, RateLimitUnit } from '../rls/codec.js';

const UNIT_NAMES = new Map<number, string>(Object.entries(RateLimitUnit).map(([name, value]) => [value, name]));

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Merges `from` into `into`: keys already there keep their value, unless both are mappings. */
function mergeInto(into: JsonObject, from: JsonObject): void {
  for (const [key, value] of Object.entries(from)) {
    const existing = into[key];
    if (existing === undefined) into[key] = isObject(value) ? structuredClone(value) : value;
    else if (isObject(existing) && isObject(value)) mergeInto(existing, value);
  }
}

export function dynamicMetadata(
  request: RateLimitRequest,
  matches: readonly (DescriptorMatch | undefined)[],
  statuses: readonly DescriptorStatus[],
): JsonObject {
  const descriptors = request.descriptors.map((descriptor): JsonObject => {
    const out: JsonObject = { entries: descriptor.entries.map(({ key, value }) => `${key}=${value}`) };
    if (descriptor.limit !== undefined) {
      out.limit = `requests_per_unit:${descriptor.limit.requestsPerUnit} unit:${UNIT_NAMES.get(descriptor.limit.unit) ?? descriptor.limit.unit}`;
    }
    if (descriptor.hitsAddend !== undefined) out.hitsAddend = descriptor.hitsAddend;
    return out;
  });
  const result: JsonObject = { domain: request.domain, descriptors };
  if (request.hitsAddend !== 0) result.hitsAddend = request.hitsAddend;
  let metadata: JsonObject | undefined;
  matches.forEach((match, i) => {
    const own = match?.rule?.metadata;
    if (own === undefined || statuses[i]?.code === Code.OVER_LIMIT) return;
    metadata ??= {};
    mergeInto(metadata, own as JsonObject);
  });
  if (metadata !== undefined) result.metadata = metadata;
  return result;
}
