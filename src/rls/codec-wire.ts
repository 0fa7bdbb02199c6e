/**
 * Hand-written protobuf wire codec for the RLS v3 hot path (docs/wire.md).
 *
 * Decoders never throw: every malformed input (truncated/over-long varints, lengths past the end,
 * wrong wire type on a known field, groups, invalid UTF-8, field number 0, wire types 6/7) yields
 * `{ ok: false, error }`. Encoders emit the canonical proto3 encoding: fields in field-number order,
 * scalar defaults (0, '', empty bytes) omitted, present sub-messages always emitted.
 */
import type {
  CurrentLimit,
  DecodeResult,
  DescriptorEntry,
  DescriptorStatus,
  Duration,
  HeaderValue,
  JsonObject,
  JsonValue,
  LimitOverride,
  Quota,
  RateLimitDescriptor,
  RateLimitRequest,
  RateLimitResponse,
  ResponseDecodeResult,
} from './codec-types.js';

const TWO_32 = 4294967296;
const MAX_UINT32 = 4294967295;

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

/**
 * Decode failure. `path` is built bottom-up by the enclosing decoders' catch blocks only when a failure
 * happens, so the success path builds no strings: e.g. "descriptors[0].entries[1].key".
 */
class WireError extends Error {
  constructor(
    public path: string,
    public detail: string,
  ) {
    super(detail);
  }
}

// Decoder state. Decoding is synchronous and non-reentrant, so module-level state is safe and fast.
let buf: Buffer = Buffer.alloc(0);
let pos = 0;
/** High 32 bits of the last varint read by readVarint (its return value is the low 32 bits). */
let hi = 0;

const EMPTY = Buffer.alloc(0);
const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
type SliceFn = (this: Buffer, start: number, end: number) => string;
// Node's Buffer#latin1Slice (what Buffer#toString('latin1') calls) — skips encoding-name dispatch.
const latin1Slice: SliceFn =
  typeof (Buffer.prototype as unknown as { latin1Slice?: unknown }).latin1Slice === 'function'
    ? (Buffer.prototype as unknown as { latin1Slice: SliceFn }).latin1Slice
    : function (this: Buffer, start: number, end: number) {
        return this.toString('latin1', start, end);
      };

function fail(path: string, detail: string): never {
  throw new WireError(path, detail);
}

/** Prefixes a path segment onto a WireError bubbling out of a nested message (failure path only). */
function nest(e: unknown, name: string, index: number): unknown {
  if (e instanceof WireError) {
    const seg = index < 0 ? name : `${name}[${index}]`;
    e.path = e.path === '' ? seg : `${seg}.${e.path}`;
  }
  return e;
}

function truncatedVarint(start: number): never {
  return fail('', `truncated varint at offset ${start}`);
}

/** Reads a varint of up to 10 bytes that must end before `end`. Returns the low 32 bits (unsigned); high bits in `hi`. */
function readVarint(end: number): number {
  let p = pos;
  const b0 = p < end ? buf[p++]! : truncatedVarint(p);
  if (b0 < 0x80) {
    pos = p;
    hi = 0;
    return b0;
  }
  return readVarintSlow(end, b0 & 0x7f, p);
}

function readVarintSlow(end: number, lo: number, p: number): number {
  const start = p - 1;
  let b: number;
  for (let shift = 7; shift < 28; shift += 7) {
    if (p >= end) truncatedVarint(start);
    b = buf[p++]!;
    lo |= (b & 0x7f) << shift;
    if (b < 0x80) {
      pos = p;
      hi = 0;
      return lo;
    }
  }
  if (p >= end) truncatedVarint(start);
  b = buf[p++]!;
  lo = (lo | ((b & 0x0f) << 28)) >>> 0;
  let h = (b & 0x7f) >> 4;
  if (b < 0x80) {
    pos = p;
    hi = h;
    return lo;
  }
  for (let shift = 3; shift <= 31; shift += 7) {
    if (p >= end) truncatedVarint(start);
    b = buf[p++]!;
    h |= (b & 0x7f) << shift; // bits beyond 64 are discarded, as protoc's parsers do
    if (b < 0x80) {
      pos = p;
      hi = h >>> 0;
      return lo;
    }
  }
  return fail('', `varint longer than 10 bytes at offset ${start}`);
}

/** Reads a length prefix and returns the end offset of the length-delimited payload. */
function readLength(end: number, what: string): number {
  const at = pos;
  const len = readVarint(end);
  if (hi !== 0 || len > end - pos) {
    fail(what, `length ${hi * TWO_32 + len} at offset ${at} exceeds the ${end - pos} remaining bytes`);
  }
  return pos + len;
}

const WIRE_TYPE_NAMES = ['varint', 'fixed64', 'length-delimited', 'start-group', 'end-group', 'fixed32', '6', '7'];

/** Handles a tag not matched by the caller's fast path: rejects known fields with the wrong wire type, skips unknown ones. */
function skipField(tag: number, end: number, known: readonly (string | undefined)[], expected: readonly number[]): void {
  const field = tag >>> 3;
  const wt = tag & 7;
  if (hi !== 0 || field === 0) fail('', `invalid field number ${hi !== 0 ? '>= 2^29' : 0}`);
  const name = known[field];
  if (name !== undefined) {
    const want = expected[field]!;
    fail(`${name} (field ${field})`, `wire type ${WIRE_TYPE_NAMES[wt]} (${wt}), expected ${WIRE_TYPE_NAMES[want]} (${want})`);
  }
  switch (wt) {
    case 0:
      readVarint(end);
      return;
    case 1:
      if (end - pos < 8) fail(`field ${field}`, `truncated fixed64 at offset ${pos}`);
      pos += 8;
      return;
    case 2:
      pos = readLength(end, `field ${field}`);
      return;
    case 5:
      if (end - pos < 4) fail(`field ${field}`, `truncated fixed32 at offset ${pos}`);
      pos += 4;
      return;
    case 3:
    case 4:
      fail('', `groups (wire type ${wt}, field ${field}) are not supported`);
    default:
      fail('', `invalid wire type ${wt} (field ${field}) at offset ${pos}`);
  }
}

const fcc = String.fromCharCode;

/**
 * Short ASCII strings built with one exact-arity String.fromCharCode call: a flat string without the
 * native-call overhead of Buffer#latin1Slice (~3x faster for the 5-16 byte keys/values Envoy sends).
 */
function asciiShort(b: Buffer, s: number, n: number): string {
  switch (n) {
    case 1:
      return fcc(b[s]!);
    case 2:
      return fcc(b[s]!, b[s + 1]!);
    case 3:
      return fcc(b[s]!, b[s + 1]!, b[s + 2]!);
    case 4:
      return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!);
    case 5:
      return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!);
    case 6:
      return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!);
    case 7:
      return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!);
    case 8:
      return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!);
    case 9:
      return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!);
    case 10:
      return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!);
    case 11:
      return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!, b[s + 10]!);
    case 12:
      return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!, b[s + 10]!, b[s + 11]!);
    case 13:
      return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!, b[s + 10]!, b[s + 11]!, b[s + 12]!);
    case 14:
      return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!, b[s + 10]!, b[s + 11]!, b[s + 12]!, b[s + 13]!);
    case 15:
      return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!, b[s + 10]!, b[s + 11]!, b[s + 12]!, b[s + 13]!, b[s + 14]!);
    case 16:
      return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!, b[s + 10]!, b[s + 11]!, b[s + 12]!, b[s + 13]!, b[s + 14]!, b[s + 15]!);
    default:
      return latin1Slice.call(b, s, s + n);
  }
}

/** Reads a length-delimited UTF-8 string. Invalid UTF-8 is rejected (strings become bucket identities). */
function readString(end: number, what: string): string {
  const stop = readLength(end, what);
  const start = pos;
  pos = stop;
  if (start === stop) return '';
  // ASCII fast path.
  let i = start;
  while (i < stop && buf[i]! < 0x80) i++;
  if (i === stop) return asciiShort(buf, start, stop - start);
  try {
    return utf8Strict.decode(buf.subarray(start, stop));
  } catch {
    return fail(what, `invalid UTF-8 at offset ${start}`);
  }
}

function readBytes(end: number, what: string): Buffer {
  const stop = readLength(end, what);
  const out = Buffer.from(buf.subarray(pos, stop)); // copy: the input buffer may be pooled/reused
  pos = stop;
  return out;
}

// Field name tables for error messages (index = field number) and expected wire types.
const REQ_NAMES = [undefined, 'domain', 'descriptors', 'hits_addend'] as const;
const REQ_WT = [0, 2, 2, 0] as const;
const DESC_NAMES = [undefined, 'entries', 'limit', 'hits_addend'] as const;
const DESC_WT = [0, 2, 2, 2] as const;
const ENTRY_NAMES = [undefined, 'key', 'value'] as const;
const ENTRY_WT = [0, 2, 2] as const;
const OVERRIDE_NAMES = [undefined, 'requests_per_unit', 'unit'] as const;
const OVERRIDE_WT = [0, 0, 0] as const;
const U64V_NAMES = [undefined, 'value'] as const;
const U64V_WT = [0, 0] as const;

function decodeEntry(end: number): DescriptorEntry {
  let key = '';
  let value = '';
  while (pos < end) {
    const tag = readVarint(end);
    if (tag === 0x0a && hi === 0) key = readString(end, 'key');
    else if (tag === 0x12 && hi === 0) value = readString(end, 'value');
    else skipField(tag, end, ENTRY_NAMES, ENTRY_WT);
  }
  return { key, value };
}

function decodeOverride(end: number, into: LimitOverride | undefined): LimitOverride {
  // A repeated singular message field merges into the previous value (protobuf spec).
  const o: LimitOverride = into ?? { requestsPerUnit: 0, unit: 0 };
  while (pos < end) {
    const tag = readVarint(end);
    if (tag === 0x08 && hi === 0) o.requestsPerUnit = readVarint(end); // uint32: low 32 bits
    else if (tag === 0x10 && hi === 0) o.unit = readVarint(end) | 0; // enum = int32
    else skipField(tag, end, OVERRIDE_NAMES, OVERRIDE_WT);
  }
  return o;
}

function decodeUInt64Value(end: number, into: number | undefined): number {
  let v = into ?? 0;
  while (pos < end) {
    const tag = readVarint(end);
    if (tag === 0x08 && hi === 0) {
      const lo = readVarint(end);
      // uint64 -> number, clamped to Number.MAX_SAFE_INTEGER (2^53 - 1) so it stays exact and monotone.
      v = hi >= 0x200000 ? Number.MAX_SAFE_INTEGER : hi * TWO_32 + lo;
    } else skipField(tag, end, U64V_NAMES, U64V_WT);
  }
  return v;
}

function decodeDescriptor(end: number): RateLimitDescriptor {
  const entries: DescriptorEntry[] = [];
  let limit: LimitOverride | undefined;
  let hitsAddend: number | undefined;
  while (pos < end) {
    const tag = readVarint(end);
    if (tag === 0x0a && hi === 0) {
      try {
        entries.push(decodeEntry(readLength(end, '')));
      } catch (e) {
        throw nest(e, 'entries', entries.length);
      }
    } else if (tag === 0x12 && hi === 0) {
      try {
        limit = decodeOverride(readLength(end, ''), limit);
      } catch (e) {
        throw nest(e, 'limit', -1);
      }
    } else if (tag === 0x1a && hi === 0) {
      try {
        hitsAddend = decodeUInt64Value(readLength(end, ''), hitsAddend);
      } catch (e) {
        throw nest(e, 'hits_addend', -1);
      }
    } else skipField(tag, end, DESC_NAMES, DESC_WT);
  }
  const d: RateLimitDescriptor = { entries };
  if (limit !== undefined) d.limit = limit;
  if (hitsAddend !== undefined) d.hitsAddend = hitsAddend;
  return d;
}

function decodeRequestBody(end: number): RateLimitRequest {
  let domain = '';
  const descriptors: RateLimitDescriptor[] = [];
  let hitsAddend = 0;
  while (pos < end) {
    const tag = readVarint(end);
    if (tag === 0x12 && hi === 0) {
      try {
        descriptors.push(decodeDescriptor(readLength(end, '')));
      } catch (e) {
        throw nest(e, 'descriptors', descriptors.length);
      }
    } else if (tag === 0x0a && hi === 0) domain = readString(end, 'domain');
    else if (tag === 0x18 && hi === 0) hitsAddend = readVarint(end); // uint32: low 32 bits
    else skipField(tag, end, REQ_NAMES, REQ_WT);
  }
  return { domain, descriptors, hitsAddend };
}

function errorMessage(e: unknown): string {
  if (e instanceof WireError) return e.path === '' ? e.detail : `${e.path}: ${e.detail}`;
  return `internal decoder error: ${e instanceof Error ? e.message : String(e)}`;
}

function setInput(input: Buffer | Uint8Array): void {
  buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  pos = 0;
  hi = 0;
}

/** Decodes a serialized envoy.service.ratelimit.v3.RateLimitRequest. Never throws. */
export function decodeRateLimitRequest(input: Buffer | Uint8Array): DecodeResult {
  setInput(input);
  try {
    return { ok: true, request: decodeRequestBody(buf.length) };
  } catch (e) {
    return { ok: false, error: `invalid RateLimitRequest: ${errorMessage(e)}` };
  } finally {
    buf = EMPTY; // do not retain the caller's buffer
  }
}

// --- response decoding (clients, tests, benchmarks) ---

const RESP_NAMES = [undefined, 'overall_code', 'statuses', 'response_headers_to_add', 'request_headers_to_add', 'raw_body', 'dynamic_metadata', 'quota'] as const;
const RESP_WT = [0, 0, 2, 2, 2, 2, 2, 2] as const;
const STATUS_NAMES = [undefined, 'code', 'current_limit', 'limit_remaining', 'duration_until_reset', 'quota'] as const;
const STATUS_WT = [0, 0, 2, 0, 2, 2] as const;
const RL_NAMES = [undefined, 'requests_per_unit', 'unit', 'name'] as const;
const RL_WT = [0, 0, 0, 2] as const;
const DUR_NAMES = [undefined, 'seconds', 'nanos'] as const;
const DUR_WT = [0, 0, 0] as const;
const QUOTA_NAMES = [undefined, 'requests', 'valid_until', 'id'] as const;
const QUOTA_WT = [0, 0, 2, 2] as const;
const HV_NAMES = [undefined, 'key', 'value'] as const; // raw_value (3) is skipped like an unknown field
const HV_WT = [0, 2, 2] as const;
const STRUCT_NAMES = [undefined, 'fields'] as const;
const STRUCT_WT = [0, 2] as const;
const ENTRY_KV_NAMES = [undefined, 'key', 'value'] as const;
const ENTRY_KV_WT = [0, 2, 2] as const;
const VALUE_NAMES = [undefined, 'null_value', 'number_value', 'string_value', 'bool_value', 'struct_value', 'list_value'] as const;
const VALUE_WT = [0, 0, 1, 2, 0, 2, 2] as const;
const LIST_NAMES = [undefined, 'values'] as const;
const LIST_WT = [0, 2] as const;

/** int64 varint (lo + global hi) -> JS number (exact within the safe range). */
function int64FromParts(lo: number): number {
  if (hi & 0x80000000) {
    // negative two's complement
    const nlo = (~lo + 1) >>> 0;
    const nhi = (~hi + (nlo === 0 ? 1 : 0)) >>> 0;
    return -(nhi * TWO_32 + nlo);
  }
  return hi * TWO_32 + lo;
}

function decodeDuration(end: number, into: Duration | undefined): Duration {
  const d: Duration = into ?? { seconds: 0, nanos: 0 };
  while (pos < end) {
    const tag = readVarint(end);
    if (tag === 0x08 && hi === 0) d.seconds = int64FromParts(readVarint(end));
    else if (tag === 0x10 && hi === 0) d.nanos = readVarint(end) | 0;
    else skipField(tag, end, DUR_NAMES, DUR_WT);
  }
  return d;
}

function decodeQuota(end: number, into: Quota | undefined): Quota {
  const q: Quota = into ?? { requests: 0, id: '' };
  while (pos < end) {
    const tag = readVarint(end);
    if (tag === 0x08 && hi === 0) q.requests = readVarint(end);
    else if (tag === 0x12 && hi === 0) {
      try {
        q.validUntil = decodeDuration(readLength(end, ''), q.validUntil);
      } catch (e) {
        throw nest(e, 'valid_until', -1);
      }
    } else if (tag === 0x1a && hi === 0) q.id = readString(end, 'id');
    else skipField(tag, end, QUOTA_NAMES, QUOTA_WT);
  }
  return q;
}

function decodeCurrentLimit(end: number, into: CurrentLimit | undefined): CurrentLimit {
  const l: CurrentLimit = into ?? { requestsPerUnit: 0, unit: 0, name: '' };
  while (pos < end) {
    const tag = readVarint(end);
    if (tag === 0x08 && hi === 0) l.requestsPerUnit = readVarint(end);
    else if (tag === 0x10 && hi === 0) l.unit = readVarint(end) | 0;
    else if (tag === 0x1a && hi === 0) l.name = readString(end, 'name');
    else skipField(tag, end, RL_NAMES, RL_WT);
  }
  return l;
}

function decodeStatus(end: number): DescriptorStatus {
  let code = 0;
  let currentLimit: CurrentLimit | undefined;
  let limitRemaining = 0;
  let durationUntilReset: Duration | undefined;
  let quota: Quota | undefined;
  while (pos < end) {
    const tag = readVarint(end);
    if (hi !== 0) skipField(tag, end, STATUS_NAMES, STATUS_WT);
    else if (tag === 0x08) code = readVarint(end) | 0;
    else if (tag === 0x12) {
      try {
        currentLimit = decodeCurrentLimit(readLength(end, ''), currentLimit);
      } catch (e) {
        throw nest(e, 'current_limit', -1);
      }
    } else if (tag === 0x18) limitRemaining = readVarint(end);
    else if (tag === 0x22) {
      try {
        durationUntilReset = decodeDuration(readLength(end, ''), durationUntilReset);
      } catch (e) {
        throw nest(e, 'duration_until_reset', -1);
      }
    } else if (tag === 0x2a) {
      try {
        quota = decodeQuota(readLength(end, ''), quota);
      } catch (e) {
        throw nest(e, 'quota', -1);
      }
    } else skipField(tag, end, STATUS_NAMES, STATUS_WT);
  }
  const s: DescriptorStatus = { code, limitRemaining };
  if (currentLimit !== undefined) s.currentLimit = currentLimit;
  if (durationUntilReset !== undefined) s.durationUntilReset = durationUntilReset;
  if (quota !== undefined) s.quota = quota;
  return s;
}

function decodeHeader(end: number): HeaderValue {
  let key = '';
  let value = '';
  while (pos < end) {
    const tag = readVarint(end);
    if (tag === 0x0a && hi === 0) key = readString(end, 'key');
    else if (tag === 0x12 && hi === 0) value = readString(end, 'value');
    else skipField(tag, end, HV_NAMES, HV_WT);
  }
  return { key, value };
}

const MAX_DEPTH = 64;

function decodeStruct(end: number, into: JsonObject | undefined, depth: number): JsonObject {
  if (depth > MAX_DEPTH) fail('', `Struct nested deeper than ${MAX_DEPTH}`);
  const obj: JsonObject = into ?? {};
  while (pos < end) {
    const tag = readVarint(end);
    if (tag === 0x0a && hi === 0) {
      let key = '';
      try {
        const e = readLength(end, '');
        let value: JsonValue = null;
        while (pos < e) {
          const t = readVarint(e);
          if (t === 0x0a && hi === 0) key = readString(e, 'key');
          else if (t === 0x12 && hi === 0) value = decodeValue(readLength(e, 'value'), depth + 1);
          else skipField(t, e, ENTRY_KV_NAMES, ENTRY_KV_WT);
        }
        // map semantics: last entry for a key wins; "__proto__" must stay an own data property
        if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
        else obj[key] = value;
      } catch (e) {
        throw nest(e, `fields[${JSON.stringify(key)}]`, -1);
      }
    } else skipField(tag, end, STRUCT_NAMES, STRUCT_WT);
  }
  return obj;
}

function decodeValue(end: number, depth: number): JsonValue {
  if (depth > MAX_DEPTH) fail('', `Value nested deeper than ${MAX_DEPTH}`);
  let v: JsonValue = null; // a Value with no kind set decodes as null
  while (pos < end) {
    const tag = readVarint(end);
    if (hi !== 0) skipField(tag, end, VALUE_NAMES, VALUE_WT);
    else if (tag === 0x08) {
      readVarint(end);
      v = null;
    } else if (tag === 0x11) {
      if (end - pos < 8) fail('number_value', `truncated double at offset ${pos}`);
      v = buf.readDoubleLE(pos);
      pos += 8;
    } else if (tag === 0x1a) v = readString(end, 'string_value');
    else if (tag === 0x20) v = readVarint(end) !== 0 || hi !== 0;
    else if (tag === 0x2a) {
      try {
        v = decodeStruct(readLength(end, ''), undefined, depth + 1);
      } catch (e) {
        throw nest(e, 'struct_value', -1);
      }
    } else if (tag === 0x32) {
      const list: JsonValue[] = [];
      try {
        const e = readLength(end, '');
        while (pos < e) {
          const t = readVarint(e);
          if (t === 0x0a && hi === 0) list.push(decodeValue(readLength(e, `values[${list.length}]`), depth + 1));
          else skipField(t, e, LIST_NAMES, LIST_WT);
        }
      } catch (e) {
        throw nest(e, 'list_value', -1);
      }
      v = list;
    } else skipField(tag, end, VALUE_NAMES, VALUE_WT);
  }
  return v;
}

function decodeResponseBody(end: number): RateLimitResponse {
  let overallCode = 0;
  const statuses: DescriptorStatus[] = [];
  const responseHeadersToAdd: HeaderValue[] = [];
  const requestHeadersToAdd: HeaderValue[] = [];
  let rawBody: Buffer | undefined;
  let dynamicMetadata: JsonObject | undefined;
  let quota: Quota | undefined;
  while (pos < end) {
    const tag = readVarint(end);
    if (hi !== 0) skipField(tag, end, RESP_NAMES, RESP_WT);
    else if (tag === 0x08) overallCode = readVarint(end) | 0;
    else if (tag === 0x12) {
      try {
        statuses.push(decodeStatus(readLength(end, '')));
      } catch (e) {
        throw nest(e, 'statuses', statuses.length);
      }
    } else if (tag === 0x1a) {
      try {
        responseHeadersToAdd.push(decodeHeader(readLength(end, '')));
      } catch (e) {
        throw nest(e, 'response_headers_to_add', responseHeadersToAdd.length);
      }
    } else if (tag === 0x22) {
      try {
        requestHeadersToAdd.push(decodeHeader(readLength(end, '')));
      } catch (e) {
        throw nest(e, 'request_headers_to_add', requestHeadersToAdd.length);
      }
    } else if (tag === 0x2a) rawBody = readBytes(end, 'raw_body');
    else if (tag === 0x32) {
      try {
        dynamicMetadata = decodeStruct(readLength(end, ''), dynamicMetadata, 0);
      } catch (e) {
        throw nest(e, 'dynamic_metadata', -1);
      }
    } else if (tag === 0x3a) {
      try {
        quota = decodeQuota(readLength(end, ''), quota);
      } catch (e) {
        throw nest(e, 'quota', -1);
      }
    } else skipField(tag, end, RESP_NAMES, RESP_WT);
  }
  const r: RateLimitResponse = { overallCode, statuses, responseHeadersToAdd, requestHeadersToAdd };
  if (rawBody !== undefined && rawBody.length > 0) r.rawBody = rawBody;
  if (dynamicMetadata !== undefined) r.dynamicMetadata = dynamicMetadata;
  if (quota !== undefined) r.quota = quota;
  return r;
}

/** Decodes a serialized envoy.service.ratelimit.v3.RateLimitResponse. Never throws. */
export function decodeRateLimitResponse(input: Buffer | Uint8Array): ResponseDecodeResult {
  setInput(input);
  try {
    return { ok: true, response: decodeResponseBody(buf.length) };
  } catch (e) {
    return { ok: false, error: `invalid RateLimitResponse: ${errorMessage(e)}` };
  } finally {
    buf = EMPTY;
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding: a size pass records every nested length (pre-order) in `sizes`, then one exact-size
// Buffer.allocUnsafe is filled by a write pass that consumes `sizes` in the same order.
// ---------------------------------------------------------------------------------------------

let sizes: number[] = [];
let si = 0; // read index into `sizes` during the write pass
let out: Buffer = EMPTY;
let wp = 0;

function varintSize(v: number): number {
  // v: uint32
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

function varint64Size(lo: number, h: number): number {
  if (h === 0) return varintSize(lo);
  return h < 0x8 ? 5 : h < 0x400 ? 6 : h < 0x20000 ? 7 : h < 0x1000000 ? 8 : h < 0x80000000 ? 9 : 10;
}

/** Size of an int32 (incl. enums): negative values take 10 bytes (sign-extended to 64 bits). */
function int32Size(v: number): number {
  return v < 0 ? 10 : varintSize(v);
}

/** UTF-8 length of a JS string, counting lone surrogates as U+FFFD (3 bytes), as Buffer.write does. */
function utf8Len(s: string): number {
  const n = s.length;
  let len = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) len += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      len += 2; // surrogate pair: 2 UTF-16 units -> 4 bytes
      i++;
    } else len += 2;
  }
  return len;
}

function writeVarint(v: number): void {
  while (v > 0x7f) {
    out[wp++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  out[wp++] = v;
}

function writeVarint64(lo: number, h: number): void {
  while (h !== 0) {
    out[wp++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (h << 25)) >>> 0;
    h >>>= 7;
  }
  writeVarint(lo);
}

function writeInt32(v: number): void {
  if (v < 0) writeVarint64(v >>> 0, 0xffffffff);
  else writeVarint(v);
}

function writeString(s: string, byteLen: number): void {
  if (byteLen === s.length) {
    // ASCII
    for (let i = 0; i < byteLen; i++) out[wp++] = s.charCodeAt(i);
  } else {
    wp += out.write(s, wp, byteLen, 'utf8');
  }
}

// Normalizers: the codec's contract for out-of-range numbers (documented in docs/wire.md).
function u32(v: number): number {
  return v >= MAX_UINT32 ? MAX_UINT32 : v > 0 ? Math.floor(v) : 0;
}
function i32(v: number): number {
  return v | 0;
}
/** int64 from a JS number: truncated toward zero and clamped to the safe-integer range. */
function i64(v: number): number {
  if (!(v === v)) return 0; // NaN
  const t = Math.trunc(v);
  return t > Number.MAX_SAFE_INTEGER ? Number.MAX_SAFE_INTEGER : t < -Number.MAX_SAFE_INTEGER ? -Number.MAX_SAFE_INTEGER : t;
}
function u64(v: number): number {
  return v >= Number.MAX_SAFE_INTEGER ? Number.MAX_SAFE_INTEGER : v > 0 ? Math.floor(v) : 0;
}

let i64lo = 0;
let i64hi = 0;
function splitInt64(v: number): void {
  if (v >= 0) {
    i64lo = v >>> 0;
    i64hi = Math.floor(v / TWO_32) >>> 0;
    return;
  }
  const a = -v;
  let lo = a >>> 0;
  let h = Math.floor(a / TWO_32) >>> 0;
  h = ~h >>> 0;
  lo = ~lo >>> 0;
  if (++lo > MAX_UINT32) {
    lo = 0;
    if (++h > MAX_UINT32) h = 0;
  }
  i64lo = lo;
  i64hi = h;
}

/** Duration/Timestamp body size; records nothing (caller records the total). */
function durationSize(d: Duration): number {
  let n = 0;
  const s = i64(d.seconds);
  if (s !== 0) {
    splitInt64(s);
    n += 1 + varint64Size(i64lo, i64hi);
  }
  const ns = i32(d.nanos);
  if (ns !== 0) n += 1 + int32Size(ns);
  return n;
}

function writeDuration(d: Duration): void {
  const s = i64(d.seconds);
  if (s !== 0) {
    out[wp++] = 0x08;
    splitInt64(s);
    writeVarint64(i64lo, i64hi);
  }
  const ns = i32(d.nanos);
  if (ns !== 0) {
    out[wp++] = 0x10;
    writeInt32(ns);
  }
}

function lenDelimSize(n: number): number {
  return 1 + varintSize(n) + n;
}

/** Records string byte length; returns the size of tag+len+bytes, or 0 for ''. */
function stringFieldSize(s: string): number {
  if (s.length === 0) return 0;
  const n = utf8Len(s);
  sizes.push(n);
  return lenDelimSize(n);
}

function writeStringField(tag: number, s: string): void {
  if (s.length === 0) return;
  const n = sizes[si++]!;
  out[wp++] = tag;
  writeVarint(n);
  writeString(s, n);
}

function quotaSize(q: Quota): number {
  const slot = sizes.length;
  sizes.push(0);
  let n = 0;
  const r = u32(q.requests);
  if (r !== 0) n += 1 + varintSize(r);
  if (q.validUntil !== undefined) n += lenDelimSize(durationSize(q.validUntil));
  n += stringFieldSize(q.id);
  sizes[slot] = n;
  return lenDelimSize(n);
}

function writeQuota(tag: number, q: Quota): void {
  out[wp++] = tag;
  writeVarint(sizes[si++]!);
  const r = u32(q.requests);
  if (r !== 0) {
    out[wp++] = 0x08;
    writeVarint(r);
  }
  if (q.validUntil !== undefined) {
    out[wp++] = 0x12;
    writeVarint(durationSize(q.validUntil));
    writeDuration(q.validUntil);
  }
  writeStringField(0x1a, q.id);
}

function statusSize(s: DescriptorStatus): number {
  const slot = sizes.length;
  sizes.push(0);
  let n = 0;
  const code = i32(s.code);
  if (code !== 0) n += 1 + int32Size(code);
  const cl = s.currentLimit;
  if (cl !== undefined) {
    const clSlot = sizes.length;
    sizes.push(0);
    let m = 0;
    const rpu = u32(cl.requestsPerUnit);
    if (rpu !== 0) m += 1 + varintSize(rpu);
    const unit = i32(cl.unit);
    if (unit !== 0) m += 1 + int32Size(unit);
    m += stringFieldSize(cl.name);
    sizes[clSlot] = m;
    n += lenDelimSize(m);
  }
  const rem = u32(s.limitRemaining);
  if (rem !== 0) n += 1 + varintSize(rem);
  if (s.durationUntilReset !== undefined) n += lenDelimSize(durationSize(s.durationUntilReset));
  if (s.quota !== undefined) n += quotaSize(s.quota);
  sizes[slot] = n;
  return lenDelimSize(n);
}

function writeStatus(s: DescriptorStatus): void {
  out[wp++] = 0x12;
  writeVarint(sizes[si++]!);
  const code = i32(s.code);
  if (code !== 0) {
    out[wp++] = 0x08;
    writeInt32(code);
  }
  const cl = s.currentLimit;
  if (cl !== undefined) {
    out[wp++] = 0x12;
    writeVarint(sizes[si++]!);
    const rpu = u32(cl.requestsPerUnit);
    if (rpu !== 0) {
      out[wp++] = 0x08;
      writeVarint(rpu);
    }
    const unit = i32(cl.unit);
    if (unit !== 0) {
      out[wp++] = 0x10;
      writeInt32(unit);
    }
    writeStringField(0x1a, cl.name);
  }
  const rem = u32(s.limitRemaining);
  if (rem !== 0) {
    out[wp++] = 0x18;
    writeVarint(rem);
  }
  if (s.durationUntilReset !== undefined) {
    out[wp++] = 0x22;
    writeVarint(durationSize(s.durationUntilReset));
    writeDuration(s.durationUntilReset);
  }
  if (s.quota !== undefined) writeQuota(0x2a, s.quota);
}

function headersSize(hs: readonly HeaderValue[]): number {
  let n = 0;
  for (let i = 0; i < hs.length; i++) {
    const h = hs[i]!;
    const slot = sizes.length;
    sizes.push(0);
    const m = stringFieldSize(h.key) + stringFieldSize(h.value);
    sizes[slot] = m;
    n += lenDelimSize(m);
  }
  return n;
}

function writeHeaders(tag: number, hs: readonly HeaderValue[]): void {
  for (let i = 0; i < hs.length; i++) {
    const h = hs[i]!;
    out[wp++] = tag;
    writeVarint(sizes[si++]!);
    writeStringField(0x0a, h.key);
    writeStringField(0x12, h.value);
  }
}

// google.protobuf.Struct / Value / ListValue (dynamic_metadata). Map entries always carry key and value.
function structSize(o: JsonObject, depth: number): number {
  if (depth > MAX_DEPTH) throw new RangeError(`dynamic_metadata nested deeper than ${MAX_DEPTH}`);
  let n = 0;
  for (const key in o) {
    if (!Object.prototype.hasOwnProperty.call(o, key)) continue;
    const v = o[key];
    if (v === undefined) continue;
    const slot = sizes.length;
    sizes.push(0);
    const k = utf8Len(key);
    sizes.push(k);
    const vs = valueSize(v, depth + 1);
    const m = lenDelimSize(k) + lenDelimSize(vs);
    sizes[slot] = m;
    n += lenDelimSize(m);
  }
  return n;
}

/** Returns the Value body size; records it (and nested sizes) in `sizes`. */
function valueSize(v: JsonValue, depth: number): number {
  if (depth > MAX_DEPTH) throw new RangeError(`dynamic_metadata nested deeper than ${MAX_DEPTH}`);
  const slot = sizes.length;
  sizes.push(0);
  let n: number;
  if (v === null) n = 2;
  else if (typeof v === 'number') n = 9;
  else if (typeof v === 'boolean') n = 2;
  else if (typeof v === 'string') {
    const k = utf8Len(v);
    sizes.push(k);
    n = lenDelimSize(k);
  } else if (Array.isArray(v)) {
    const lslot = sizes.length;
    sizes.push(0);
    let m = 0;
    for (let i = 0; i < v.length; i++) m += lenDelimSize(valueSize(v[i] ?? null, depth + 1));
    sizes[lslot] = m;
    n = lenDelimSize(m);
  } else {
    const sslot = sizes.length;
    sizes.push(0);
    const m = structSize(v, depth + 1);
    sizes[sslot] = m;
    n = lenDelimSize(m);
  }
  sizes[slot] = n;
  return n;
}

function writeStruct(o: JsonObject): void {
  for (const key in o) {
    if (!Object.prototype.hasOwnProperty.call(o, key)) continue;
    const v = o[key];
    if (v === undefined) continue;
    out[wp++] = 0x0a;
    writeVarint(sizes[si++]!);
    const k = sizes[si++]!;
    out[wp++] = 0x0a;
    writeVarint(k);
    writeString(key, k);
    out[wp++] = 0x12;
    writeValue(v);
  }
}

/** Writes length + Value body (tag already written). */
function writeValue(v: JsonValue): void {
  writeVarint(sizes[si++]!);
  if (v === null) {
    out[wp++] = 0x08;
    out[wp++] = 0;
  } else if (typeof v === 'number') {
    out[wp++] = 0x11;
    out.writeDoubleLE(v, wp);
    wp += 8;
  } else if (typeof v === 'boolean') {
    out[wp++] = 0x20;
    out[wp++] = v ? 1 : 0;
  } else if (typeof v === 'string') {
    const k = sizes[si++]!;
    out[wp++] = 0x1a;
    writeVarint(k);
    writeString(v, k);
  } else if (Array.isArray(v)) {
    out[wp++] = 0x32;
    writeVarint(sizes[si++]!);
    for (let i = 0; i < v.length; i++) {
      out[wp++] = 0x0a;
      writeValue(v[i] ?? null);
    }
  } else {
    out[wp++] = 0x2a;
    writeVarint(sizes[si++]!);
    writeStruct(v);
  }
}

function finish(total: number): Buffer {
  if (wp !== total) throw new Error(`rls codec bug: wrote ${wp} bytes, computed ${total}`);
  const b = out;
  out = EMPTY;
  return b;
}

/**
 * Encodes an envoy.service.ratelimit.v3.RateLimitResponse (canonical proto3 encoding).
 * Out-of-range numbers are normalized, not rejected: uint32 fields are floored and clamped to
 * [0, 4294967295]; enums/int32 use `v | 0`; Duration seconds are truncated and clamped to the safe range.
 * Throws only for dynamic_metadata nested deeper than 64 levels (a programming error).
 */
export function encodeRateLimitResponse(res: RateLimitResponse): Buffer {
  sizes.length = 0;
  let n = 0;
  const code = i32(res.overallCode);
  if (code !== 0) n += 1 + int32Size(code);
  const statuses = res.statuses;
  for (let i = 0; i < statuses.length; i++) n += statusSize(statuses[i]!);
  n += headersSize(res.responseHeadersToAdd);
  n += headersSize(res.requestHeadersToAdd);
  const body = res.rawBody;
  if (body !== undefined && body.length > 0) n += lenDelimSize(body.length);
  const md = res.dynamicMetadata;
  let mdSlot = -1;
  if (md !== undefined) {
    mdSlot = sizes.length;
    sizes.push(0);
    const m = structSize(md, 0);
    sizes[mdSlot] = m;
    n += lenDelimSize(m);
  }
  if (res.quota !== undefined) n += quotaSize(res.quota);

  out = Buffer.allocUnsafe(n);
  wp = 0;
  si = 0;
  if (code !== 0) {
    out[wp++] = 0x08;
    writeInt32(code);
  }
  for (let i = 0; i < statuses.length; i++) writeStatus(statuses[i]!);
  writeHeaders(0x1a, res.responseHeadersToAdd);
  writeHeaders(0x22, res.requestHeadersToAdd);
  if (body !== undefined && body.length > 0) {
    out[wp++] = 0x2a;
    writeVarint(body.length);
    wp += body.copy(out, wp);
  }
  if (md !== undefined) {
    out[wp++] = 0x32;
    writeVarint(sizes[si++]!);
    writeStruct(md);
  }
  if (res.quota !== undefined) writeQuota(0x3a, res.quota);
  if (sizes.length > 4096) sizes = []; // do not keep a huge scratch array alive
  return finish(n);
}

/** Encodes an envoy.service.ratelimit.v3.RateLimitRequest (canonical proto3 encoding; same normalizations as above). */
export function encodeRateLimitRequest(req: RateLimitRequest): Buffer {
  sizes.length = 0;
  let n = stringFieldSize(req.domain);
  const ds = req.descriptors;
  for (let i = 0; i < ds.length; i++) {
    const d = ds[i]!;
    const slot = sizes.length;
    sizes.push(0);
    let m = 0;
    for (let j = 0; j < d.entries.length; j++) {
      const e = d.entries[j]!;
      const eslot = sizes.length;
      sizes.push(0);
      const k = stringFieldSize(e.key) + stringFieldSize(e.value);
      sizes[eslot] = k;
      m += lenDelimSize(k);
    }
    if (d.limit !== undefined) {
      const rpu = u32(d.limit.requestsPerUnit);
      const unit = i32(d.limit.unit);
      const k = (rpu !== 0 ? 1 + varintSize(rpu) : 0) + (unit !== 0 ? 1 + int32Size(unit) : 0);
      sizes.push(k);
      m += lenDelimSize(k);
    }
    if (d.hitsAddend !== undefined) {
      const h = u64(d.hitsAddend);
      let k = 0;
      if (h !== 0) {
        splitInt64(h);
        k = 1 + varint64Size(i64lo, i64hi);
      }
      sizes.push(k);
      m += lenDelimSize(k);
    }
    sizes[slot] = m;
    n += lenDelimSize(m);
  }
  const hits = u32(req.hitsAddend);
  if (hits !== 0) n += 1 + varintSize(hits);

  out = Buffer.allocUnsafe(n);
  wp = 0;
  si = 0;
  writeStringField(0x0a, req.domain);
  for (let i = 0; i < ds.length; i++) {
    const d = ds[i]!;
    out[wp++] = 0x12;
    writeVarint(sizes[si++]!);
    for (let j = 0; j < d.entries.length; j++) {
      const e = d.entries[j]!;
      out[wp++] = 0x0a;
      writeVarint(sizes[si++]!);
      writeStringField(0x0a, e.key);
      writeStringField(0x12, e.value);
    }
    if (d.limit !== undefined) {
      out[wp++] = 0x12;
      writeVarint(sizes[si++]!);
      const rpu = u32(d.limit.requestsPerUnit);
      if (rpu !== 0) {
        out[wp++] = 0x08;
        writeVarint(rpu);
      }
      const unit = i32(d.limit.unit);
      if (unit !== 0) {
        out[wp++] = 0x10;
        writeInt32(unit);
      }
    }
    if (d.hitsAddend !== undefined) {
      out[wp++] = 0x1a;
      writeVarint(sizes[si++]!);
      const h = u64(d.hitsAddend);
      if (h !== 0) {
        out[wp++] = 0x08;
        splitInt64(h);
        writeVarint64(i64lo, i64hi);
      }
    }
  }
  if (hits !== 0) {
    out[wp++] = 0x18;
    writeVarint(hits);
  }
  if (sizes.length > 4096) sizes = [];
  return finish(n);
}

/**
 * Semantic checks the wire format does not enforce (upstream validate rules): non-empty domain, at least one
 * descriptor, at least one entry per descriptor, non-empty entry keys. Returns an error message or undefined.
 * Not applied by decodeRateLimitRequest (the decoder is a pure codec); the handler decides.
 */
export function validateRateLimitRequest(req: RateLimitRequest): string | undefined {
  if (req.domain === '') return 'domain must not be empty';
  if (req.descriptors.length === 0) return 'at least one descriptor is required';
  for (let i = 0; i < req.descriptors.length; i++) {
    const entries = req.descriptors[i]!.entries;
    if (entries.length === 0) return `descriptors[${i}]: at least one entry is required`;
    for (let j = 0; j < entries.length; j++) {
      if (entries[j]!.key === '') return `descriptors[${i}].entries[${j}].key must not be empty`;
    }
  }
  return undefined;
}
