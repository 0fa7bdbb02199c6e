/**
 * RateLimitRequest decoding (the server's hot path) and the semantic checks the wire format leaves
 * to the handler (docs/wire.md, "Decoding").
 */
import type { DecodeResult, DescriptorEntry, LimitOverride, RateLimitDescriptor, RateLimitRequest } from './codec-types.js';
import { type FieldTable, decodeKeyValue, TWO_32, decodeWith, nested, rd, readString, readVarint, skipField } from './codec-wire-reader.js';

const REQUEST_FIELDS: FieldTable = { names: [undefined, 'domain', 'descriptors', 'hits_addend'], wireTypes: [0, 2, 2, 0] };
const DESCRIPTOR_FIELDS: FieldTable = { names: [undefined, 'entries', 'limit', 'hits_addend'], wireTypes: [0, 2, 2, 2] };
const OVERRIDE_FIELDS: FieldTable = { names: [undefined, 'requests_per_unit', 'unit'], wireTypes: [0, 0, 0] };
const UINT64_VALUE_FIELDS: FieldTable = { names: [undefined, 'value'], wireTypes: [0, 0] };

function decodeOverride(end: number, into: LimitOverride | undefined): LimitOverride {
  // A repeated singular message field merges into the previous value (protobuf spec).
  const o: LimitOverride = into ?? { requestsPerUnit: 0, unit: 0 };
  while (rd.pos < end) {
    const tag = readVarint(end);
    if (tag === 0x08 && rd.hi === 0)
      o.requestsPerUnit = readVarint(end); // uint32: low 32 bits
    else if (tag === 0x10 && rd.hi === 0)
      o.unit = readVarint(end) | 0; // enum = int32
    else skipField(tag, end, OVERRIDE_FIELDS);
  }
  return o;
}

function decodeUInt64Value(end: number, into: number | undefined): number {
  let v = into ?? 0;
  while (rd.pos < end) {
    const tag = readVarint(end);
    if (tag === 0x08 && rd.hi === 0) {
      const lo = readVarint(end);
      // uint64 -> number, clamped to Number.MAX_SAFE_INTEGER (2^53 - 1) so it stays exact and monotone.
      v = rd.hi >= 0x200000 ? Number.MAX_SAFE_INTEGER : rd.hi * TWO_32 + lo;
    } else skipField(tag, end, UINT64_VALUE_FIELDS);
  }
  return v;
}

function decodeDescriptor(end: number): RateLimitDescriptor {
  const entries: DescriptorEntry[] = [];
  let limit: LimitOverride | undefined;
  let hitsAddend: number | undefined;
  while (rd.pos < end) {
    const tag = readVarint(end);
    if (tag === 0x0a && rd.hi === 0) entries.push(nested(end, 'entries', entries.length, decodeKeyValue));
    else if (tag === 0x12 && rd.hi === 0) limit = nested(end, 'limit', -1, (e) => decodeOverride(e, limit));
    else if (tag === 0x1a && rd.hi === 0) hitsAddend = nested(end, 'hits_addend', -1, (e) => decodeUInt64Value(e, hitsAddend));
    else skipField(tag, end, DESCRIPTOR_FIELDS);
  }
  const d: RateLimitDescriptor = { entries };
  if (limit !== undefined) d.limit = limit;
  if (hitsAddend !== undefined) d.hitsAddend = hitsAddend;
  return d;
}

function decodeRequestBody(end: number): DecodeResult {
  let domain = '';
  const descriptors: RateLimitDescriptor[] = [];
  let hitsAddend = 0;
  while (rd.pos < end) {
    const tag = readVarint(end);
    if (tag === 0x12 && rd.hi === 0) descriptors.push(nested(end, 'descriptors', descriptors.length, decodeDescriptor));
    else if (tag === 0x0a && rd.hi === 0) domain = readString(end, 'domain');
    else if (tag === 0x18 && rd.hi === 0)
      hitsAddend = readVarint(end); // uint32: low 32 bits
    else skipField(tag, end, REQUEST_FIELDS);
  }
  return { ok: true, request: { domain, descriptors, hitsAddend } };
}

/** Decodes a serialized envoy.service.ratelimit.v3.RateLimitRequest. Never throws. */
export function decodeRateLimitRequest(input: Buffer | Uint8Array): DecodeResult {
  return decodeWith(input, 'RateLimitRequest', decodeRequestBody);
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
