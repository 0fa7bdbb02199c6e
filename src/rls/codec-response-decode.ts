/** RateLimitResponse decoding (clients, tests, benchmarks). Never throws (docs/wire.md, "Decoding"). */
import type { CurrentLimit, DescriptorStatus, Duration, HeaderValue, JsonObject, Quota, RateLimitResponse, ResponseDecodeResult } from './codec-types.js';
import { decodeStruct } from './codec-struct.js';
import { type FieldTable, decodeKeyValue, decodeWith, int64FromParts, nested, rd, readBytes, readString, readVarint, skipField } from './codec-wire-reader.js';

const RESPONSE_FIELDS: FieldTable = {
  names: [undefined, 'overall_code', 'statuses', 'response_headers_to_add', 'request_headers_to_add', 'raw_body', 'dynamic_metadata', 'quota'],
  wireTypes: [0, 0, 2, 2, 2, 2, 2, 2],
};
const STATUS_FIELDS: FieldTable = {
  names: [undefined, 'code', 'current_limit', 'limit_remaining', 'duration_until_reset', 'quota'],
  wireTypes: [0, 0, 2, 0, 2, 2],
};
const RATE_LIMIT_FIELDS: FieldTable = { names: [undefined, 'requests_per_unit', 'unit', 'name'], wireTypes: [0, 0, 0, 2] };
const DURATION_FIELDS: FieldTable = { names: [undefined, 'seconds', 'nanos'], wireTypes: [0, 0, 0] };
const QUOTA_FIELDS: FieldTable = { names: [undefined, 'requests', 'valid_until', 'id'], wireTypes: [0, 0, 2, 2] };

function decodeDuration(end: number, into: Duration | undefined): Duration {
  const d: Duration = into ?? { seconds: 0, nanos: 0 };
  while (rd.pos < end) {
    const tag = readVarint(end);
    if (tag === 0x08 && rd.hi === 0) d.seconds = int64FromParts(readVarint(end));
    else if (tag === 0x10 && rd.hi === 0) d.nanos = readVarint(end) | 0;
    else skipField(tag, end, DURATION_FIELDS);
  }
  return d;
}

function decodeQuota(end: number, into: Quota | undefined): Quota {
  const q: Quota = into ?? { requests: 0, id: '' };
  while (rd.pos < end) {
    const tag = readVarint(end);
    if (tag === 0x08 && rd.hi === 0) q.requests = readVarint(end);
    else if (tag === 0x12 && rd.hi === 0) q.validUntil = nested(end, 'valid_until', -1, (e) => decodeDuration(e, q.validUntil));
    else if (tag === 0x1a && rd.hi === 0) q.id = readString(end, 'id');
    else skipField(tag, end, QUOTA_FIELDS);
  }
  return q;
}

function decodeCurrentLimit(end: number, into: CurrentLimit | undefined): CurrentLimit {
  const l: CurrentLimit = into ?? { requestsPerUnit: 0, unit: 0, name: '' };
  while (rd.pos < end) {
    const tag = readVarint(end);
    if (tag === 0x08 && rd.hi === 0) l.requestsPerUnit = readVarint(end);
    else if (tag === 0x10 && rd.hi === 0) l.unit = readVarint(end) | 0;
    else if (tag === 0x1a && rd.hi === 0) l.name = readString(end, 'name');
    else skipField(tag, end, RATE_LIMIT_FIELDS);
  }
  return l;
}

function decodeStatus(end: number): DescriptorStatus {
  let code = 0;
  let currentLimit: CurrentLimit | undefined;
  let limitRemaining = 0;
  let durationUntilReset: Duration | undefined;
  let quota: Quota | undefined;
  while (rd.pos < end) {
    const tag = readVarint(end);
    if (rd.hi !== 0) skipField(tag, end, STATUS_FIELDS);
    else if (tag === 0x08) code = readVarint(end) | 0;
    else if (tag === 0x12) currentLimit = nested(end, 'current_limit', -1, (e) => decodeCurrentLimit(e, currentLimit));
    else if (tag === 0x18) limitRemaining = readVarint(end);
    else if (tag === 0x22) durationUntilReset = nested(end, 'duration_until_reset', -1, (e) => decodeDuration(e, durationUntilReset));
    else if (tag === 0x2a) quota = nested(end, 'quota', -1, (e) => decodeQuota(e, quota));
    else skipField(tag, end, STATUS_FIELDS);
  }
  const s: DescriptorStatus = { code, limitRemaining };
  if (currentLimit !== undefined) s.currentLimit = currentLimit;
  if (durationUntilReset !== undefined) s.durationUntilReset = durationUntilReset;
  if (quota !== undefined) s.quota = quota;
  return s;
}

function decodeResponseBody(end: number): ResponseDecodeResult {
  let overallCode = 0;
  const statuses: DescriptorStatus[] = [];
  const responseHeadersToAdd: HeaderValue[] = [];
  const requestHeadersToAdd: HeaderValue[] = [];
  let rawBody: Buffer | undefined;
  let dynamicMetadata: JsonObject | undefined;
  let quota: Quota | undefined;
  while (rd.pos < end) {
    const tag = readVarint(end);
    if (rd.hi !== 0) skipField(tag, end, RESPONSE_FIELDS);
    else if (tag === 0x08) overallCode = readVarint(end) | 0;
    else if (tag === 0x12) statuses.push(nested(end, 'statuses', statuses.length, decodeStatus));
    else if (tag === 0x1a) responseHeadersToAdd.push(nested(end, 'response_headers_to_add', responseHeadersToAdd.length, decodeKeyValue));
    else if (tag === 0x22) requestHeadersToAdd.push(nested(end, 'request_headers_to_add', requestHeadersToAdd.length, decodeKeyValue));
    else if (tag === 0x2a) rawBody = readBytes(end, 'raw_body');
    else if (tag === 0x32) dynamicMetadata = nested(end, 'dynamic_metadata', -1, (e) => decodeStruct(e, dynamicMetadata, 0));
    else if (tag === 0x3a) quota = nested(end, 'quota', -1, (e) => decodeQuota(e, quota));
    else skipField(tag, end, RESPONSE_FIELDS);
  }
  const r: RateLimitResponse = { overallCode, statuses, responseHeadersToAdd, requestHeadersToAdd };
  if (rawBody !== undefined && rawBody.length > 0) r.rawBody = rawBody;
  if (dynamicMetadata !== undefined) r.dynamicMetadata = dynamicMetadata;
  if (quota !== undefined) r.quota = quota;
  return { ok: true, response: r };
}

/** Decodes a serialized envoy.service.ratelimit.v3.RateLimitResponse. Never throws. */
export function decodeRateLimitResponse(input: Buffer | Uint8Array): ResponseDecodeResult {
  return decodeWith(input, 'RateLimitResponse', decodeResponseBody);
}
