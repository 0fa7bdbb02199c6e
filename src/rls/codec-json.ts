/**
 * Proto3 JSON mapping of RateLimitRequest / RateLimitResponse (for `POST /json`, the CLI and tests).
 * https://protobuf.dev/programming-guides/json/ — parsers accept lowerCamel and original field names,
 * null as "default", uint32 as number or string, uint64 as number or string, enums as name or number;
 * printers emit lowerCamel names, omit default values, enums as names, int64/uint64 as strings,
 * Duration as "1.500s", Timestamp as RFC 3339, bytes as base64, wrappers as their bare value.
 */
import {
  Code,
  RateLimitUnit,
  ResponseUnit,
  type DecodeResult,
  type DescriptorEntry,
  type DescriptorStatus,
  type Duration,
  type HeaderValue,
  type JsonObject,
  type JsonValue,
  type LimitOverride,
  type Quota,
  type RateLimitDescriptor,
  type RateLimitRequest,
  type RateLimitResponse,
  type ResponseDecodeResult,
} from './codec-types.js';

class JsonError extends Error {}

function fail(msg: string): never {
  throw new JsonError(msg);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
}

/**
 * Maps the accepted JSON names of a message to canonical names and rejects unknown/duplicate fields.
 * Fields whose value is null are treated as absent (proto3 JSON: null means the default value).
 */
function fields(obj: unknown, path: string, names: Readonly<Record<string, string>>): Map<string, unknown> {
  if (!isPlainObject(obj)) fail(`${path}: expected an object, got ${describe(obj)}`);
  const m = new Map<string, unknown>();
  for (const k of Object.keys(obj)) {
    const canon = names[k];
    if (canon === undefined || !Object.hasOwn(names, k)) fail(`${path}: unknown field ${JSON.stringify(k)}`);
    if (m.has(canon)) fail(`${path}: field ${canon} given twice (as lowerCamel and original name)`);
    m.set(canon, obj[k]);
  }
  for (const [k, v] of m) if (v === null) m.delete(k);
  return m;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return `${typeof v} ${String(v)}`;
  return typeof v;
}

const LONE_SURROGATE = /\p{Cs}/u;

function str(v: unknown, path: string): string {
  if (typeof v !== 'string') fail(`${path}: expected a string, got ${describe(v)}`);
  // Same rule as the wire decoder rejecting invalid UTF-8: a lone surrogate has no UTF-8 encoding.
  if (LONE_SURROGATE.test(v)) fail(`${path}: string contains a lone UTF-16 surrogate`);
  return v;
}

const NUMERIC_STRING = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

function uint32(v: unknown, path: string): number {
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string' && NUMERIC_STRING.test(v)) n = Number(v);
  else fail(`${path}: expected a uint32 (number or numeric string), got ${describe(v)}`);
  if (!Number.isInteger(n) || n < 0 || n > 4294967295) fail(`${path}: ${String(v)} is not a uint32`);
  return n;
}

const UINT64_MAX = 18446744073709551615n;

/** uint64 as number or decimal string; values above Number.MAX_SAFE_INTEGER clamp to it (same as the wire decoder). */
function uint64(v: unknown, path: string): number {
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0 || v > 2 ** 64) fail(`${path}: ${String(v)} is not a uint64`);
    return v > Number.MAX_SAFE_INTEGER ? Number.MAX_SAFE_INTEGER : v;
  }
  if (typeof v === 'string') {
    if (/^(?:0|[1-9]\d*)$/.test(v)) {
      if (v.length <= 15) return Number(v);
      const b = BigInt(v);
      if (b > UINT64_MAX) fail(`${path}: ${v} is out of range for uint64`);
      return b > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(b);
    }
    if (NUMERIC_STRING.test(v)) return uint64(Number(v), path);
  }
  return fail(`${path}: expected a uint64 (number or decimal string), got ${describe(v)}`);
}

function enumValue(v: unknown, path: string, table: Readonly<Record<string, number>>, typeName: string): number {
  if (typeof v === 'string') {
    const n = Object.hasOwn(table, v) ? table[v] : undefined;
    if (n === undefined) fail(`${path}: ${JSON.stringify(v)} is not a ${typeName} value (${Object.keys(table).join(', ')})`);
    return n;
  }
  if (typeof v === 'number' && Number.isInteger(v) && v >= -2147483648 && v <= 2147483647) return v; // open enum
  return fail(`${path}: expected a ${typeName} name or int32, got ${describe(v)}`);
}

function array(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) fail(`${path}: expected an array, got ${describe(v)}`);
  return v;
}

const REQUEST_FIELDS = { domain: 'domain', descriptors: 'descriptors', hitsAddend: 'hitsAddend', hits_addend: 'hitsAddend' };
const DESCRIPTOR_FIELDS = { entries: 'entries', limit: 'limit', hitsAddend: 'hitsAddend', hits_addend: 'hitsAddend' };
const ENTRY_FIELDS = { key: 'key', value: 'value' };
const OVERRIDE_FIELDS = { requestsPerUnit: 'requestsPerUnit', requests_per_unit: 'requestsPerUnit', unit: 'unit' };

function entryFromJson(v: unknown, path: string): DescriptorEntry {
  const f = fields(v, path, ENTRY_FIELDS);
  const key = f.has('key') ? str(f.get('key'), `${path}.key`) : '';
  const value = f.has('value') ? str(f.get('value'), `${path}.value`) : '';
  return { key, value };
}

function descriptorFromJson(v: unknown, path: string): RateLimitDescriptor {
  const f = fields(v, path, DESCRIPTOR_FIELDS);
  const entries = f.has('entries') ? array(f.get('entries'), `${path}.entries`).map((e, i) => entryFromJson(e, `${path}.entries[${i}]`)) : [];
  const d: RateLimitDescriptor = { entries };
  if (f.has('limit')) {
    const lp = `${path}.limit`;
    const lf = fields(f.get('limit'), lp, OVERRIDE_FIELDS);
    const limit: LimitOverride = {
      requestsPerUnit: lf.has('requestsPerUnit') ? uint32(lf.get('requestsPerUnit'), `${lp}.requestsPerUnit`) : 0,
      unit: lf.has('unit') ? enumValue(lf.get('unit'), `${lp}.unit`, RateLimitUnit, 'envoy.type.v3.RateLimitUnit') : 0,
    };
    d.limit = limit;
  }
  // google.protobuf.UInt64Value is its bare value in JSON; null = absent wrapper.
  if (f.has('hitsAddend')) d.hitsAddend = uint64(f.get('hitsAddend'), `${path}.hitsAddend`);
  return d;
}

function run<T>(fn: () => T): { ok: true; value: T } | { ok: false; error: string } {
  try {
    return { ok: true, value: fn() };
  } catch (e) {
    if (e instanceof JsonError) return { ok: false, error: e.message };
    return { ok: false, error: `internal JSON mapping error: ${e instanceof Error ? e.message : String(e)}` };
  }
}

/**
 * Parses a proto3-JSON RateLimitRequest (already JSON.parse'd) into the same shape as decodeRateLimitRequest.
 * Never throws. Unknown fields are rejected (like protojson's default).
 */
export function requestFromJson(obj: unknown): DecodeResult {
  const r = run((): RateLimitRequest => {
    const f = fields(obj, 'RateLimitRequest', REQUEST_FIELDS);
    const domain = f.has('domain') ? str(f.get('domain'), 'domain') : '';
    const descriptors = f.has('descriptors') ? array(f.get('descriptors'), 'descriptors').map((d, i) => descriptorFromJson(d, `descriptors[${i}]`)) : [];
    const hitsAddend = f.has('hitsAddend') ? uint32(f.get('hitsAddend'), 'hitsAddend') : 0;
    return { domain, descriptors, hitsAddend };
  });
  return r.ok ? { ok: true, request: r.value } : { ok: false, error: `invalid RateLimitRequest JSON: ${r.error}` };
}

function enumName(table: Readonly<Record<string, number>>, v: number): string | number {
  for (const k in table) if (table[k] === v) return k;
  return v; // unknown value of an open enum: printed as its number
}

/** Proto3 JSON printer for a RateLimitRequest (lowerCamel names, defaults omitted). */
export function requestToJson(req: RateLimitRequest): JsonObject {
  const o: JsonObject = {};
  if (req.domain !== '') o.domain = req.domain;
  if (req.descriptors.length > 0) {
    o.descriptors = req.descriptors.map((d) => {
      const dj: JsonObject = {};
      if (d.entries.length > 0) {
        dj.entries = d.entries.map((e) => {
          const ej: JsonObject = {};
          if (e.key !== '') ej.key = e.key;
          if (e.value !== '') ej.value = e.value;
          return ej;
        });
      }
      if (d.limit !== undefined) {
        const lj: JsonObject = {};
        if (d.limit.requestsPerUnit !== 0) lj.requestsPerUnit = d.limit.requestsPerUnit;
        if (d.limit.unit !== 0) lj.unit = enumName(RateLimitUnit, d.limit.unit);
        dj.limit = lj;
      }
      if (d.hitsAddend !== undefined) dj.hitsAddend = String(d.hitsAddend); // uint64 -> string
      return dj;
    });
  }
  if (req.hitsAddend !== 0) o.hitsAddend = req.hitsAddend;
  return o;
}

/** Duration as proto3 JSON: seconds with 0, 3, 6 or 9 fractional digits and an "s" suffix. */
export function durationToJson(d: Duration): string {
  const neg = d.seconds < 0 || d.nanos < 0;
  const s = Math.abs(Math.trunc(d.seconds));
  const ns = Math.abs(Math.trunc(d.nanos));
  return `${neg ? '-' : ''}${s}${fraction(ns)}s`;
}

function fraction(ns: number): string {
  if (ns === 0) return '';
  if (ns % 1_000_000 === 0) return `.${String(ns / 1_000_000).padStart(3, '0')}`;
  if (ns % 1_000 === 0) return `.${String(ns / 1_000).padStart(6, '0')}`;
  return `.${String(ns).padStart(9, '0')}`;
}

/** Timestamp as RFC 3339 UTC with 0, 3, 6 or 9 fractional digits ("1972-01-01T10:00:20.021Z"). */
export function timestampToJson(t: Duration): string {
  let secs = Math.trunc(t.seconds);
  let ns = Math.trunc(t.nanos);
  if (ns < 0) {
    secs -= 1;
    ns += 1_000_000_000;
  }
  const iso = new Date(secs * 1000).toISOString(); // yyyy-mm-ddThh:mm:ss.000Z
  return `${iso.slice(0, 19)}${fraction(ns)}Z`;
}

const DURATION_RE = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/;

/** Parses a proto3-JSON Duration string ("1.5s", "-0.000001s"). */
export function durationFromJson(v: unknown, path = 'duration'): Duration {
  if (typeof v !== 'string') fail(`${path}: expected a duration string like "1.5s", got ${describe(v)}`);
  const m = DURATION_RE.exec(v);
  if (m === null) fail(`${path}: ${JSON.stringify(v)} is not a proto3 JSON duration`);
  const seconds = Number(m[2]);
  if (seconds > 315576000000) fail(`${path}: ${v} is out of range`);
  const nanos = m[3] === undefined ? 0 : Number(m[3].padEnd(9, '0'));
  return m[1] === '-' ? { seconds: seconds === 0 ? 0 : -seconds, nanos: nanos === 0 ? 0 : -nanos } : { seconds, nanos };
}

function timestampFromJson(v: unknown, path: string): Duration {
  if (typeof v !== 'string') fail(`${path}: expected an RFC 3339 timestamp string, got ${describe(v)}`);
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(v);
  if (m === null) fail(`${path}: ${JSON.stringify(v)} is not an RFC 3339 timestamp`);
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) fail(`${path}: ${JSON.stringify(v)} is not a valid date`);
  return { seconds: Math.floor(ms / 1000), nanos: m[2] === undefined ? 0 : Number(m[2].padEnd(9, '0')) };
}

function quotaToJson(q: Quota): JsonObject {
  const o: JsonObject = {};
  if (q.requests !== 0) o.requests = q.requests;
  if (q.validUntil !== undefined) o.validUntil = timestampToJson(q.validUntil);
  if (q.id !== '') o.id = q.id;
  return o;
}

function headersToJson(hs: readonly HeaderValue[]): JsonObject[] {
  return hs.map((h) => {
    const o: JsonObject = {};
    if (h.key !== '') o.key = h.key;
    if (h.value !== '') o.value = h.value;
    return o;
  });
}

/**
 * Proto3 JSON printer for a RateLimitResponse: lowerCamel names, default values omitted,
 * Code/Unit as names ('OK', 'OVER_LIMIT', 'MINUTE'; unknown numbers stay numbers), uint32 as numbers,
 * Duration as "1.500s", rawBody as base64, dynamicMetadata as the plain JSON object.
 */
export function responseToJson(res: RateLimitResponse): JsonObject {
  const o: JsonObject = {};
  if (res.overallCode !== 0) o.overallCode = enumName(Code, res.overallCode);
  if (res.statuses.length > 0) {
    o.statuses = res.statuses.map((s) => {
      const sj: JsonObject = {};
      if (s.code !== 0) sj.code = enumName(Code, s.code);
      if (s.currentLimit !== undefined) {
        const l = s.currentLimit;
        const lj: JsonObject = {};
        if (l.requestsPerUnit !== 0) lj.requestsPerUnit = l.requestsPerUnit;
        if (l.unit !== 0) lj.unit = enumName(ResponseUnit, l.unit);
        if (l.name !== '') lj.name = l.name;
        sj.currentLimit = lj;
      }
      if (s.limitRemaining !== 0) sj.limitRemaining = s.limitRemaining;
      if (s.durationUntilReset !== undefined) sj.durationUntilReset = durationToJson(s.durationUntilReset);
      if (s.quota !== undefined) sj.quota = quotaToJson(s.quota);
      return sj;
    });
  }
  if (res.responseHeadersToAdd.length > 0) o.responseHeadersToAdd = headersToJson(res.responseHeadersToAdd);
  if (res.requestHeadersToAdd.length > 0) o.requestHeadersToAdd = headersToJson(res.requestHeadersToAdd);
  if (res.rawBody !== undefined && res.rawBody.length > 0) o.rawBody = res.rawBody.toString('base64');
  if (res.dynamicMetadata !== undefined) o.dynamicMetadata = res.dynamicMetadata;
  if (res.quota !== undefined) o.quota = quotaToJson(res.quota);
  return o;
}

const RESPONSE_FIELDS = {
  overallCode: 'overallCode',
  overall_code: 'overallCode',
  statuses: 'statuses',
  responseHeadersToAdd: 'responseHeadersToAdd',
  response_headers_to_add: 'responseHeadersToAdd',
  requestHeadersToAdd: 'requestHeadersToAdd',
  request_headers_to_add: 'requestHeadersToAdd',
  rawBody: 'rawBody',
  raw_body: 'rawBody',
  dynamicMetadata: 'dynamicMetadata',
  dynamic_metadata: 'dynamicMetadata',
  quota: 'quota',
};
const STATUS_FIELDS = {
  code: 'code',
  currentLimit: 'currentLimit',
  current_limit: 'currentLimit',
  limitRemaining: 'limitRemaining',
  limit_remaining: 'limitRemaining',
  durationUntilReset: 'durationUntilReset',
  duration_until_reset: 'durationUntilReset',
  quota: 'quota',
};
const RATELIMIT_FIELDS = { requestsPerUnit: 'requestsPerUnit', requests_per_unit: 'requestsPerUnit', unit: 'unit', name: 'name' };
const QUOTA_FIELDS = { requests: 'requests', validUntil: 'validUntil', valid_until: 'validUntil', id: 'id' };
const HEADER_FIELDS = { key: 'key', value: 'value', rawValue: 'rawValue', raw_value: 'rawValue' };

function quotaFromJson(v: unknown, path: string): Quota {
  const f = fields(v, path, QUOTA_FIELDS);
  const q: Quota = {
    requests: f.has('requests') ? uint32(f.get('requests'), `${path}.requests`) : 0,
    id: f.has('id') ? str(f.get('id'), `${path}.id`) : '',
  };
  if (f.has('validUntil')) q.validUntil = timestampFromJson(f.get('validUntil'), `${path}.validUntil`);
  return q;
}

function headersFromJson(v: unknown, path: string): HeaderValue[] {
  return array(v, path).map((h, i) => {
    const f = fields(h, `${path}[${i}]`, HEADER_FIELDS);
    return {
      key: f.has('key') ? str(f.get('key'), `${path}[${i}].key`) : '',
      value: f.has('value') ? str(f.get('value'), `${path}[${i}].value`) : '',
    };
  });
}

function jsonValue(v: unknown, path: string, depth: number): JsonValue {
  if (depth > 64) fail(`${path}: nested deeper than 64`);
  if (v === null || typeof v === 'boolean' || typeof v === 'number') return v;
  if (typeof v === 'string') return str(v, path);
  if (Array.isArray(v)) return v.map((x, i) => jsonValue(x, `${path}[${i}]`, depth + 1));
  if (isPlainObject(v)) {
    const o: JsonObject = {};
    for (const k of Object.keys(v)) {
      const x = jsonValue(v[k], `${path}.${k}`, depth + 1);
      if (k === '__proto__') Object.defineProperty(o, k, { value: x, enumerable: true, writable: true, configurable: true });
      else o[k] = x;
    }
    return o;
  }
  return fail(`${path}: not a JSON value (${describe(v)})`);
}

/** Parses a proto3-JSON RateLimitResponse (CLI/tests). Never throws. */
export function responseFromJson(obj: unknown): ResponseDecodeResult {
  const r = run((): RateLimitResponse => {
    const f = fields(obj, 'RateLimitResponse', RESPONSE_FIELDS);
    const res: RateLimitResponse = {
      overallCode: f.has('overallCode') ? enumValue(f.get('overallCode'), 'overallCode', Code, 'RateLimitResponse.Code') : 0,
      statuses: f.has('statuses')
        ? array(f.get('statuses'), 'statuses').map((s, i): DescriptorStatus => {
            const p = `statuses[${i}]`;
            const sf = fields(s, p, STATUS_FIELDS);
            const st: DescriptorStatus = {
              code: sf.has('code') ? enumValue(sf.get('code'), `${p}.code`, Code, 'RateLimitResponse.Code') : 0,
              limitRemaining: sf.has('limitRemaining') ? uint32(sf.get('limitRemaining'), `${p}.limitRemaining`) : 0,
            };
            if (sf.has('currentLimit')) {
              const lp = `${p}.currentLimit`;
              const lf = fields(sf.get('currentLimit'), lp, RATELIMIT_FIELDS);
              st.currentLimit = {
                requestsPerUnit: lf.has('requestsPerUnit') ? uint32(lf.get('requestsPerUnit'), `${lp}.requestsPerUnit`) : 0,
                unit: lf.has('unit') ? enumValue(lf.get('unit'), `${lp}.unit`, ResponseUnit, 'RateLimit.Unit') : 0,
                name: lf.has('name') ? str(lf.get('name'), `${lp}.name`) : '',
              };
            }
            if (sf.has('durationUntilReset')) st.durationUntilReset = durationFromJson(sf.get('durationUntilReset'), `${p}.durationUntilReset`);
            if (sf.has('quota')) st.quota = quotaFromJson(sf.get('quota'), `${p}.quota`);
            return st;
          })
        : [],
      responseHeadersToAdd: f.has('responseHeadersToAdd') ? headersFromJson(f.get('responseHeadersToAdd'), 'responseHeadersToAdd') : [],
      requestHeadersToAdd: f.has('requestHeadersToAdd') ? headersFromJson(f.get('requestHeadersToAdd'), 'requestHeadersToAdd') : [],
    };
    if (f.has('rawBody')) {
      const b = f.get('rawBody');
      if (typeof b !== 'string' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(b)) fail(`rawBody: expected a base64 string, got ${describe(b)}`);
      const buf = Buffer.from(b, b.includes('-') || b.includes('_') ? 'base64url' : 'base64');
      if (buf.length > 0) res.rawBody = buf;
    }
    if (f.has('dynamicMetadata')) {
      const md = jsonValue(f.get('dynamicMetadata'), 'dynamicMetadata', 0);
      if (!isPlainObject(md)) fail(`dynamicMetadata: expected an object, got ${describe(md)}`);
      res.dynamicMetadata = md as JsonObject;
    }
    if (f.has('quota')) res.quota = quotaFromJson(f.get('quota'), 'quota');
    return res;
  });
  return r.ok ? { ok: true, response: r.value } : { ok: false, error: `invalid RateLimitResponse JSON: ${r.error}` };
}
