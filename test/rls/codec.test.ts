import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import {
  PROTO_DIR,
  decodeRateLimitRequest,
  decodeRateLimitResponse,
  encodeRateLimitRequest,
  encodeRateLimitResponse,
  validateRateLimitRequest,
  type DescriptorStatus,
  type JsonObject,
  type JsonValue,
  type Quota,
  type RateLimitDescriptor,
  type RateLimitRequest,
  type RateLimitResponse,
} from '../../src/rls/codec.js';

// ---------------------------------------------------------------------------------------------
// Reference implementation: protobufjs loading our .proto files (the same engine @grpc/proto-loader uses).
// ---------------------------------------------------------------------------------------------
const root = new protobuf.Root();
root.resolvePath = (_origin, target) => (target.startsWith('google/protobuf/') ? target : `${PROTO_DIR}${target}`);
root.loadSync('envoy/service/ratelimit/v3/rls.proto', { keepCase: true });
root.resolveAll();
const PbRequest = root.lookupType('envoy.service.ratelimit.v3.RateLimitRequest');
const PbResponse = root.lookupType('envoy.service.ratelimit.v3.RateLimitResponse');

type Pb = Record<string, unknown>;

/** Our request shape -> protobufjs plain object, canonical (proto3 defaults omitted, as protoc-generated encoders do). */
function toPbRequest(r: RateLimitRequest): Pb {
  const o: Pb = {};
  if (r.domain !== '') o.domain = r.domain;
  o.descriptors = r.descriptors.map((d) => {
    const dj: Pb = {
      entries: d.entries.map((e) => {
        const ej: Pb = {};
        if (e.key !== '') ej.key = e.key;
        if (e.value !== '') ej.value = e.value;
        return ej;
      }),
    };
    if (d.limit) {
      const l: Pb = {};
      if (d.limit.requestsPerUnit !== 0) l.requests_per_unit = d.limit.requestsPerUnit;
      if (d.limit.unit !== 0) l.unit = d.limit.unit;
      dj.limit = l;
    }
    if (d.hitsAddend !== undefined) dj.hits_addend = d.hitsAddend === 0 ? {} : { value: d.hitsAddend };
    return dj;
  });
  if (r.hitsAddend !== 0) o.hits_addend = r.hitsAddend;
  return o;
}

/** protobufjs decode -> our request shape. */
function fromPbRequest(bytes: Uint8Array): RateLimitRequest {
  const m = PbRequest.toObject(PbRequest.decode(bytes), { longs: String, defaults: true, arrays: true }) as {
    domain: string;
    hits_addend: number;
    descriptors: {
      entries: { key: string; value: string }[];
      limit?: { requests_per_unit: number; unit: number } | null;
      hits_addend?: { value: string } | null;
    }[];
  };
  return {
    domain: m.domain,
    hitsAddend: m.hits_addend,
    descriptors: m.descriptors.map((d) => {
      const out: RateLimitDescriptor = { entries: d.entries.map((e) => ({ key: e.key, value: e.value })) };
      if (d.limit) out.limit = { requestsPerUnit: d.limit.requests_per_unit, unit: d.limit.unit };
      if (d.hits_addend) out.hitsAddend = Number(d.hits_addend.value);
      return out;
    }),
  };
}

function pbValue(v: JsonValue): Pb {
  if (v === null) return { nullValue: 0 };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(pbValue) } };
  return { structValue: pbStruct(v) };
}
function pbStruct(o: JsonObject): Pb {
  const fields: Pb = Object.create(null) as Pb; // a "__proto__" key must become an own property
  for (const [k, v] of Object.entries(o)) fields[k] = pbValue(v);
  return { fields };
}
function pbDuration(d: { seconds: number; nanos: number }): Pb {
  const o: Pb = {};
  if (d.seconds !== 0) o.seconds = d.seconds;
  if (d.nanos !== 0) o.nanos = d.nanos;
  return o;
}
function pbQuota(q: Quota): Pb {
  const o: Pb = {};
  if (q.requests !== 0) o.requests = q.requests;
  if (q.validUntil) o.valid_until = pbDuration(q.validUntil);
  if (q.id !== '') o.id = q.id;
  return o;
}
function pbHeaders(hs: { key: string; value: string }[]): Pb[] {
  return hs.map((h) => {
    const o: Pb = {};
    if (h.key !== '') o.key = h.key;
    if (h.value !== '') o.value = h.value;
    return o;
  });
}

/** Our response shape -> protobufjs plain object, canonical (defaults omitted). */
function toPbResponse(r: RateLimitResponse): Pb {
  const o: Pb = {};
  if (r.overallCode !== 0) o.overall_code = r.overallCode;
  o.statuses = r.statuses.map((s) => {
    const so: Pb = {};
    if (s.code !== 0) so.code = s.code;
    if (s.currentLimit) {
      const l: Pb = {};
      if (s.currentLimit.requestsPerUnit !== 0) l.requests_per_unit = s.currentLimit.requestsPerUnit;
      if (s.currentLimit.unit !== 0) l.unit = s.currentLimit.unit;
      if (s.currentLimit.name !== '') l.name = s.currentLimit.name;
      so.current_limit = l;
    }
    if (s.limitRemaining !== 0) so.limit_remaining = s.limitRemaining;
    if (s.durationUntilReset) so.duration_until_reset = pbDuration(s.durationUntilReset);
    if (s.quota) so.quota = pbQuota(s.quota);
    return so;
  });
  o.response_headers_to_add = pbHeaders(r.responseHeadersToAdd);
  o.request_headers_to_add = pbHeaders(r.requestHeadersToAdd);
  if (r.rawBody && r.rawBody.length > 0) o.raw_body = r.rawBody;
  if (r.dynamicMetadata) o.dynamic_metadata = pbStruct(r.dynamicMetadata);
  if (r.quota) o.quota = pbQuota(r.quota);
  return o;
}

const pbEncodeRequest = (r: RateLimitRequest): Buffer => Buffer.from(PbRequest.encode(toPbRequest(r)).finish());
const pbEncodeResponse = (r: RateLimitResponse): Buffer => Buffer.from(PbResponse.encode(toPbResponse(r)).finish());

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const ascii = (s: string): string => Buffer.from(s, 'latin1').toString('hex');
/** tag + varint length + body, all hex. */
function ld(tag: string, body: string): string {
  let n = body.length / 2;
  let v = '';
  while (n > 0x7f) {
    v += ((n & 0x7f) | 0x80).toString(16).padStart(2, '0');
    n >>>= 7;
  }
  return tag + v + n.toString(16).padStart(2, '0') + body;
}

function decodeOk(b: Uint8Array): RateLimitRequest {
  const r = decodeRateLimitRequest(b);
  if (!r.ok) throw new Error(`expected ok, got error: ${r.error}`);
  return r.request;
}
function decodeErr(b: Uint8Array): string {
  const r = decodeRateLimitRequest(b);
  if (r.ok) throw new Error(`expected an error, decoded ${JSON.stringify(r.request)}`);
  return r.error;
}

// ---------------------------------------------------------------------------------------------
// Literal bytes written out by hand from the field numbers in docs/wire.md.
// ---------------------------------------------------------------------------------------------
const LITERAL_REQUEST: RateLimitRequest = {
  domain: 'envoy',
  descriptors: [
    {
      entries: [{ key: 'remote_address', value: '10.0.0.1' }],
      limit: { requestsPerUnit: 100, unit: 2 },
      hitsAddend: 300,
    },
  ],
  hitsAddend: 2,
};
const LITERAL_REQUEST_HEX =
  '0a05' +
  ascii('envoy') + // domain = 1, LEN 5
  '1227' + //                   descriptors = 2, LEN 39
  '0a1a' + //                     entries = 1, LEN 26
  '0a0e' +
  ascii('remote_address') + // key = 1, LEN 14
  '1208' +
  ascii('10.0.0.1') + //       value = 2, LEN 8
  '1204' +
  '0864' +
  '1002' + //   limit = 2, LEN 4: requests_per_unit = 1 -> 100, unit = 2 -> MINUTE
  '1a03' +
  '08ac02' + //          hits_addend = 3 (UInt64Value), LEN 3: value = 1 -> 300
  '1802'; //                    hits_addend = 3 (uint32) -> 2

const LITERAL_RESPONSE: RateLimitResponse = {
  overallCode: 2,
  statuses: [
    {
      code: 2,
      currentLimit: { requestsPerUnit: 10, unit: 2, name: 'per_ip' },
      limitRemaining: 0,
      durationUntilReset: { seconds: 30, nanos: 500_000_000 },
    },
    { code: 1, limitRemaining: 7 },
  ],
  responseHeadersToAdd: [{ key: 'x-ratelimit-limit', value: '10' }],
  requestHeadersToAdd: [{ key: 'x-rl', value: '1' }],
  rawBody: Buffer.from('slow down'),
};
const LITERAL_RESPONSE_HEX =
  '0802' + //                      overall_code = 1 -> OVER_LIMIT (2)
  '121a' + //                      statuses = 2, LEN 26
  '0802' + //                        code = 1 -> OVER_LIMIT
  '120c' +
  '080a' +
  '1002' +
  '1a06' +
  ascii('per_ip') + // current_limit = 2, LEN 12: rpu=10, unit=MINUTE, name
  //                                 limit_remaining = 3 is 0: omitted
  '2208' +
  '081e' +
  '1080cab5ee01' + // duration_until_reset = 4, LEN 8: seconds=30, nanos=500000000
  '1204' +
  '0801' +
  '1807' + //     statuses = 2, LEN 4: code=OK, limit_remaining=7
  '1a17' +
  '0a11' +
  ascii('x-ratelimit-limit') +
  '1202' +
  ascii('10') + // response_headers_to_add = 3
  '2209' +
  '0a04' +
  ascii('x-rl') +
  '1201' +
  ascii('1') + // request_headers_to_add = 4
  '2a09' +
  ascii('slow down'); //  raw_body = 5

describe('literal wire bytes (field numbers pinned by hand)', () => {
  it('encodes and decodes the hand-written RateLimitRequest', () => {
    expect(encodeRateLimitRequest(LITERAL_REQUEST).toString('hex')).toBe(LITERAL_REQUEST_HEX);
    expect(decodeOk(hex(LITERAL_REQUEST_HEX))).toEqual(LITERAL_REQUEST);
    expect(pbEncodeRequest(LITERAL_REQUEST).toString('hex')).toBe(LITERAL_REQUEST_HEX);
  });

  it('encodes and decodes the hand-written RateLimitResponse', () => {
    expect(encodeRateLimitResponse(LITERAL_RESPONSE).toString('hex')).toBe(LITERAL_RESPONSE_HEX);
    expect(pbEncodeResponse(LITERAL_RESPONSE).toString('hex')).toBe(LITERAL_RESPONSE_HEX);
    const d = decodeRateLimitResponse(hex(LITERAL_RESPONSE_HEX));
    expect(d).toEqual({ ok: true, response: LITERAL_RESPONSE });
  });

  it('encodes an empty response as zero bytes and an all-default status as an empty sub-message', () => {
    const empty: RateLimitResponse = { overallCode: 0, statuses: [], responseHeadersToAdd: [], requestHeadersToAdd: [] };
    expect(encodeRateLimitResponse(empty).length).toBe(0);
    const oneEmpty = { ...empty, statuses: [{ code: 0, limitRemaining: 0, currentLimit: { requestsPerUnit: 0, unit: 0, name: '' } }] };
    expect(encodeRateLimitResponse(oneEmpty).toString('hex')).toBe('1202' + '1200');
    expect(encodeRateLimitResponse({ ...empty, rawBody: Buffer.alloc(0) }).length).toBe(0);
  });

  it('writes uint32 max, negative int32 enums and negative int64 seconds like protobufjs', () => {
    const r: RateLimitResponse = {
      overallCode: -1,
      statuses: [{ code: 1, limitRemaining: 4294967295, durationUntilReset: { seconds: -1, nanos: -5 } }],
      responseHeadersToAdd: [],
      requestHeadersToAdd: [],
    };
    const ours = encodeRateLimitResponse(r);
    expect(ours.toString('hex')).toBe(
      '08ffffffffffffffffff01' + '1220' + '0801' + '18ffffffff0f' + '2216' + '08ffffffffffffffffff01' + '10fbffffffffffffffff01',
    );
    expect(ours.equals(pbEncodeResponse(r))).toBe(true);
    expect(decodeRateLimitResponse(ours)).toEqual({ ok: true, response: r });
  });

  it('encodes int64 seconds beyond 32 bits', () => {
    const r: RateLimitResponse = {
      overallCode: 1,
      statuses: [{ code: 1, limitRemaining: 1, durationUntilReset: { seconds: 315576000000, nanos: 999_999_999 } }],
      responseHeadersToAdd: [],
      requestHeadersToAdd: [],
    };
    expect(encodeRateLimitResponse(r).equals(pbEncodeResponse(r))).toBe(true);
    expect(decodeRateLimitResponse(encodeRateLimitResponse(r))).toEqual({ ok: true, response: r });
  });

  it('clamps out-of-range numbers instead of wrapping', () => {
    const base = { overallCode: 1, responseHeadersToAdd: [], requestHeadersToAdd: [] };
    const big = encodeRateLimitResponse({ ...base, statuses: [{ code: 1, limitRemaining: 2 ** 40 }] });
    const max = encodeRateLimitResponse({ ...base, statuses: [{ code: 1, limitRemaining: 4294967295 }] });
    expect(big.equals(max)).toBe(true);
    const neg = encodeRateLimitResponse({ ...base, statuses: [{ code: 1, limitRemaining: -3 }] });
    const frac = encodeRateLimitResponse({ ...base, statuses: [{ code: 1, limitRemaining: 2.9 }] });
    expect(neg.toString('hex')).toBe('0801' + '1202' + '0801');
    expect(frac.toString('hex')).toBe('0801' + '1204' + '0801' + '1802');
  });
});

// ---------------------------------------------------------------------------------------------
// Generated messages vs protobufjs
// ---------------------------------------------------------------------------------------------
const wellFormed = (s: string): boolean => !/\p{Cs}/u.test(s);
const arbStr = fc.oneof(
  fc.string({ unit: 'grapheme-ascii', maxLength: 20 }),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }).filter(wellFormed),
  fc.string({ unit: 'grapheme-ascii', minLength: 100, maxLength: 300 }),
);
const u32 = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 4294967295 }));
const enumArb = fc.oneof(fc.integer({ min: 0, max: 7 }), fc.integer({ min: -2147483648, max: 2147483647 }));
const arbDescriptor: fc.Arbitrary<RateLimitDescriptor> = fc
  .record(
    {
      entries: fc.array(fc.record({ key: arbStr, value: arbStr }), { maxLength: 4 }),
      limit: fc.record({ requestsPerUnit: u32, unit: enumArb }),
      hitsAddend: fc.oneof(fc.constant(0), fc.nat(1000), fc.maxSafeNat()),
    },
    { requiredKeys: ['entries'] },
  )
  .map((d) => d as RateLimitDescriptor);
const arbRequest: fc.Arbitrary<RateLimitRequest> = fc.record({
  domain: arbStr,
  descriptors: fc.array(arbDescriptor, { maxLength: 6 }),
  hitsAddend: u32,
});

const arbDuration = fc.record({
  seconds: fc.oneof(fc.integer({ min: 0, max: 86400 }), fc.maxSafeInteger()),
  nanos: fc.integer({ min: -999_999_999, max: 999_999_999 }),
});
const arbQuota: fc.Arbitrary<Quota> = fc
  .record({ requests: u32, validUntil: arbDuration, id: arbStr }, { requiredKeys: ['requests', 'id'] })
  .map((q) => q as Quota);
const arbStatus: fc.Arbitrary<DescriptorStatus> = fc
  .record(
    {
      code: fc.oneof(fc.integer({ min: 0, max: 2 }), enumArb),
      currentLimit: fc.record({ requestsPerUnit: u32, unit: enumArb, name: arbStr }),
      limitRemaining: u32,
      durationUntilReset: arbDuration,
      quota: arbQuota,
    },
    { requiredKeys: ['code', 'limitRemaining'] },
  )
  .map((s) => s as DescriptorStatus);
const arbHeaders = fc.array(fc.record({ key: arbStr, value: arbStr }), { maxLength: 3 });
const arbJsonObject: fc.Arbitrary<JsonObject> = fc
  .dictionary(arbStr, fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<JsonValue>, { maxKeys: 4 })
  .filter((o) => JSON.stringify(o) === JSON.stringify(JSON.parse(JSON.stringify(o))) && !JSON.stringify(o).includes('-0'))
  .map((o) => JSON.parse(JSON.stringify(o)) as JsonObject) // plain JSON: no -0, no __proto__ oddities
  .filter((o) => Object.keys(o).every(wellFormed) && wellFormed(JSON.stringify(o)));
const arbResponse: fc.Arbitrary<RateLimitResponse> = fc
  .record(
    {
      overallCode: fc.oneof(fc.integer({ min: 0, max: 2 }), enumArb),
      statuses: fc.array(arbStatus, { maxLength: 6 }),
      responseHeadersToAdd: arbHeaders,
      requestHeadersToAdd: arbHeaders,
      rawBody: fc.uint8Array({ minLength: 1, maxLength: 64 }).map((u) => Buffer.from(u)),
      dynamicMetadata: arbJsonObject,
      quota: arbQuota,
    },
    { requiredKeys: ['overallCode', 'statuses', 'responseHeadersToAdd', 'requestHeadersToAdd'] },
  )
  .map((r) => r as RateLimitResponse);

describe('byte-for-byte against protobufjs (fast-check)', () => {
  it('request: our encoding equals protobufjs, and we decode protobufjs bytes back to the input', () => {
    fc.assert(
      fc.property(arbRequest, (req) => {
        const theirs = pbEncodeRequest(req);
        expect(encodeRateLimitRequest(req).toString('hex')).toBe(theirs.toString('hex'));
        expect(decodeOk(theirs)).toEqual(req);
        expect(fromPbRequest(encodeRateLimitRequest(req))).toEqual(req);
      }),
      { numRuns: 500 },
    );
  });

  it('response: our encoding equals protobufjs, and decodeRateLimitResponse inverts it', () => {
    fc.assert(
      fc.property(arbResponse, (res) => {
        const ours = encodeRateLimitResponse(res);
        expect(ours.toString('hex')).toBe(pbEncodeResponse(res).toString('hex'));
        expect(decodeRateLimitResponse(ours)).toEqual({ ok: true, response: res });
      }),
      { numRuns: 500 },
    );
  });

  it('keeps a "__proto__" Struct key as an own property (no prototype change)', () => {
    const md = JSON.parse('{"__proto__": {"x": 1}, "a": true}') as JsonObject;
    const res: RateLimitResponse = { overallCode: 1, statuses: [], responseHeadersToAdd: [], requestHeadersToAdd: [], dynamicMetadata: md };
    const bytes = encodeRateLimitResponse(res);
    expect(bytes.equals(pbEncodeResponse(res))).toBe(true);
    const d = decodeRateLimitResponse(bytes);
    if (!d.ok) throw new Error(d.error);
    expect(Object.getPrototypeOf(d.response.dynamicMetadata)).toBe(Object.prototype);
    expect(Object.keys(d.response.dynamicMetadata ?? {})).toEqual(['__proto__', 'a']);
    expect(JSON.stringify(d.response.dynamicMetadata)).toBe('{"__proto__":{"x":1},"a":true}');
  });

  it('decodes protobufjs encodings that carry explicit default values', () => {
    const bytes = PbRequest.encode({
      domain: '',
      hits_addend: 0,
      descriptors: [{ entries: [{ key: 'k', value: '' }], limit: { requests_per_unit: 0, unit: 0 } }],
    }).finish();
    expect(Buffer.from(bytes).toString('hex')).toBe('0a00' + '120d' + '0a05' + '0a016b1200' + '1204' + '08001000' + '1800');
    expect(decodeOk(bytes)).toEqual({
      domain: '',
      hitsAddend: 0,
      descriptors: [{ entries: [{ key: 'k', value: '' }], limit: { requestsPerUnit: 0, unit: 0 } }],
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Decoder semantics
// ---------------------------------------------------------------------------------------------
/** Unknown fields of every skippable wire type: field 100 varint, 101 fixed64, 102 LEN, 103 fixed32. */
const UNKNOWN = 'a006' + '9601' + 'a906' + '0102030405060708' + 'b206' + '03aabbcc' + 'bd06' + '01020304';

describe('decoder semantics', () => {
  it('skips unknown fields of wire types 0, 1, 2, 5 at every nesting level', () => {
    const u = UNKNOWN;
    const entry = `${u}0a01${ascii('k')}${u}1201${ascii('v')}${u}`;
    const limit = `${u}0805${u}1001${u}`;
    const wrapper = `${u}0807${u}`;
    const desc = u + ld('0a', entry) + u + ld('12', limit) + ld('1a', wrapper) + u;
    const bytes = hex(`${u}0a01${ascii('d')}${u}${ld('12', desc)}${u}1809${u}`);
    const expected: RateLimitRequest = {
      domain: 'd',
      descriptors: [{ entries: [{ key: 'k', value: 'v' }], limit: { requestsPerUnit: 5, unit: 1 }, hitsAddend: 7 }],
      hitsAddend: 9,
    };
    expect(decodeOk(bytes)).toEqual(expected);
    expect(fromPbRequest(bytes)).toEqual(expected);
  });

  it('last value wins for scalars, repeated fields concatenate, singular messages merge', () => {
    const bytes = hex(
      '0a01' +
        ascii('a') +
        '1805' +
        '0a01' +
        ascii('b') +
        '1806' +
        ld('12', `${ld('0a', `0a01${ascii('x')}`)}1202080112021002`) + // limit split in two: merged
        ld('12', ld('0a', '0a00')) + // second descriptor: one entry with an empty key
        '1a00', // field 3 is hits_addend (varint): LEN is the wrong wire type
    );
    expect(decodeErr(bytes)).toBe('invalid RateLimitRequest: hits_addend (field 3): wire type length-delimited (2), expected varint (0)');
    const ok = bytes.subarray(0, bytes.length - 2);
    expect(decodeOk(ok)).toEqual({
      domain: 'b',
      hitsAddend: 6,
      descriptors: [{ entries: [{ key: 'x', value: '' }], limit: { requestsPerUnit: 1, unit: 2 } }, { entries: [{ key: '', value: '' }] }],
    });
  });

  it('keeps the UInt64Value wrapper presence: absent, empty (0) and set', () => {
    const desc = (tail: string) => hex(`12${(2 + tail.length / 2 + 2).toString(16).padStart(2, '0')}0a020a00${tail}`);
    expect(decodeOk(desc('')).descriptors[0]).toEqual({ entries: [{ key: '', value: '' }] });
    expect(decodeOk(desc('1a00')).descriptors[0]).toEqual({ entries: [{ key: '', value: '' }], hitsAddend: 0 });
    expect(decodeOk(desc('1a020807')).descriptors[0]).toEqual({ entries: [{ key: '', value: '' }], hitsAddend: 7 });
    expect(fromPbRequest(desc('1a00')).descriptors[0]).toEqual({ entries: [{ key: '', value: '' }], hitsAddend: 0 });
  });

  it('clamps uint64 hits_addend above 2^53-1 to Number.MAX_SAFE_INTEGER', () => {
    const withHits = (varint: string) => {
      const w = `08${varint}`;
      const d = `0a001a${(w.length / 2).toString(16).padStart(2, '0')}${w}`;
      return hex(`12${(d.length / 2).toString(16).padStart(2, '0')}${d}`);
    };
    expect(decodeOk(withHits('ffffffffffffff0f')).descriptors[0]!.hitsAddend).toBe(2 ** 53 - 1); // exactly 2^53-1
    expect(decodeOk(withHits('8080808080808010')).descriptors[0]!.hitsAddend).toBe(Number.MAX_SAFE_INTEGER); // 2^53
    expect(decodeOk(withHits('ffffffffffffffffff01')).descriptors[0]!.hitsAddend).toBe(Number.MAX_SAFE_INTEGER); // 2^64-1
    expect(decodeOk(withHits('80808080 10'.replace(' ', ''))).descriptors[0]!.hitsAddend).toBe(2 ** 32);
  });

  it('truncates a 10-byte varint to the low 32 bits for uint32, as protobufjs does', () => {
    const bytes = hex('18' + 'ffffffffffffffffff01');
    expect(decodeOk(bytes).hitsAddend).toBe(4294967295);
    expect(fromPbRequest(bytes).hitsAddend).toBe(4294967295);
    expect(decodeOk(hex('18' + '8180808000')).hitsAddend).toBe(1); // non-minimal varint
  });

  it('accepts non-ASCII UTF-8 and a leading BOM, decoding like protobufjs', () => {
    const s = '\ufeffzürich-東京-🙂';
    const req: RateLimitRequest = { domain: s, descriptors: [{ entries: [{ key: s, value: 'é' }] }], hitsAddend: 0 };
    expect(decodeOk(pbEncodeRequest(req))).toEqual(req);
  });

  it('works on Uint8Array input and Buffers that are views into a larger pool', () => {
    const bytes = hex(LITERAL_REQUEST_HEX);
    const pool = Buffer.alloc(bytes.length + 17, 0xff);
    bytes.copy(pool, 9);
    expect(decodeOk(pool.subarray(9, 9 + bytes.length))).toEqual(LITERAL_REQUEST);
    expect(decodeOk(new Uint8Array(pool.buffer, pool.byteOffset + 9, bytes.length))).toEqual(LITERAL_REQUEST);
  });

  it('validateRateLimitRequest reports the semantic rules the wire format does not enforce', () => {
    expect(validateRateLimitRequest(LITERAL_REQUEST)).toBeUndefined();
    expect(validateRateLimitRequest({ ...LITERAL_REQUEST, domain: '' })).toBe('domain must not be empty');
    expect(validateRateLimitRequest({ ...LITERAL_REQUEST, descriptors: [] })).toBe('at least one descriptor is required');
    expect(validateRateLimitRequest({ ...LITERAL_REQUEST, descriptors: [{ entries: [] }] })).toBe('descriptors[0]: at least one entry is required');
    expect(
      validateRateLimitRequest({
        ...LITERAL_REQUEST,
        descriptors: [
          {
            entries: [
              { key: 'a', value: '' },
              { key: '', value: 'x' },
            ],
          },
        ],
      }),
    ).toBe('descriptors[0].entries[1].key must not be empty');
  });
});

// ---------------------------------------------------------------------------------------------
// Malformed input: always { ok: false, error }, never a throw
// ---------------------------------------------------------------------------------------------
describe('malformed input', () => {
  it('truncation at every byte offset: only top-level field boundaries decode, everything else is an error', () => {
    const full = hex(LITERAL_REQUEST_HEX);
    const okOffsets: number[] = [];
    for (let i = 0; i < full.length; i++) {
      const r = decodeRateLimitRequest(full.subarray(0, i));
      if (r.ok) okOffsets.push(i);
      else expect(r.error).toMatch(/^invalid RateLimitRequest: .+/);
    }
    // 0: empty message; 7: after domain; 48: after the descriptor. (50 = full length)
    expect(okOffsets).toEqual([0, 7, 48]);
    expect(decodeRateLimitRequest(full.subarray(0, 6))).toEqual({
      ok: false,
      error: 'invalid RateLimitRequest: domain: length 5 at offset 1 exceeds the 4 remaining bytes',
    });
    expect(decodeRateLimitRequest(full.subarray(0, 49))).toEqual({ ok: false, error: 'invalid RateLimitRequest: truncated varint at offset 49' });
  });

  it('truncation of generated messages never throws and fails inside nested messages', () => {
    fc.assert(
      fc.property(arbRequest, fc.nat(), (req, cut) => {
        const bytes = encodeRateLimitRequest(req);
        if (bytes.length === 0) return;
        const r = decodeRateLimitRequest(bytes.subarray(0, cut % bytes.length));
        if (!r.ok) expect(r.error.length).toBeGreaterThan(20);
      }),
      { numRuns: 300 },
    );
    expect(decodeErr(hex(LITERAL_REQUEST_HEX).subarray(0, 20))).toBe(
      'invalid RateLimitRequest: descriptors[0]: length 39 at offset 8 exceeds the 11 remaining bytes',
    );
    // Length fields consistent at the top level but broken inside a descriptor entry:
    expect(decodeErr(hex('1204' + '0a02' + '0a05'))).toBe(
      'invalid RateLimitRequest: descriptors[0].entries[0].key: length 5 at offset 5 exceeds the 0 remaining bytes',
    );
  });

  it('random bytes and mutated valid messages never throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (u) => {
        const r = decodeRateLimitRequest(Buffer.from(u));
        if (!r.ok) expect(r.error).toMatch(/^invalid RateLimitRequest: /);
        const s = decodeRateLimitResponse(Buffer.from(u));
        if (!s.ok) expect(s.error).toMatch(/^invalid RateLimitResponse: /);
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(arbRequest, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (req, flips) => {
        const bytes = encodeRateLimitRequest(req);
        if (bytes.length === 0) return;
        for (const [at, v] of flips) bytes[at % bytes.length] = v;
        const r = decodeRateLimitRequest(bytes);
        expect(typeof r.ok).toBe('boolean');
        if (!r.ok) expect(r.error).toMatch(/^invalid RateLimitRequest: .+/);
      }),
      { numRuns: 1000 },
    );
  });

  it('rejects over-long varints (11 bytes) and a truncated varint', () => {
    expect(decodeErr(hex('18' + 'ffffffffffffffffffff01'))).toBe('invalid RateLimitRequest: varint longer than 10 bytes at offset 1');
    expect(decodeErr(hex('18' + 'ff'))).toBe('invalid RateLimitRequest: truncated varint at offset 1');
    expect(decodeErr(hex('ff'))).toBe('invalid RateLimitRequest: truncated varint at offset 0');
  });

  it('rejects a wrong wire type for each known field', () => {
    expect(decodeErr(hex('0801'))).toBe('invalid RateLimitRequest: domain (field 1): wire type varint (0), expected length-delimited (2)');
    expect(decodeErr(hex('1001'))).toBe('invalid RateLimitRequest: descriptors (field 2): wire type varint (0), expected length-delimited (2)');
    expect(decodeErr(hex('1d01020304'))).toBe('invalid RateLimitRequest: hits_addend (field 3): wire type fixed32 (5), expected varint (0)');
    expect(decodeErr(hex('1202' + '0801'))).toBe(
      'invalid RateLimitRequest: descriptors[0].entries (field 1): wire type varint (0), expected length-delimited (2)',
    );
    expect(decodeErr(hex('1204' + '0a02' + '0801'))).toBe(
      'invalid RateLimitRequest: descriptors[0].entries[0].key (field 1): wire type varint (0), expected length-delimited (2)',
    );
    expect(decodeErr(hex('1204' + '1202' + '0a00'))).toBe(
      'invalid RateLimitRequest: descriptors[0].limit.requests_per_unit (field 1): wire type length-delimited (2), expected varint (0)',
    );
    expect(decodeErr(hex('1202' + '1801'))).toBe(
      'invalid RateLimitRequest: descriptors[0].hits_addend (field 3): wire type varint (0), expected length-delimited (2)',
    );
    expect(decodeErr(hex('1204' + '1a02' + '0a00'))).toBe(
      'invalid RateLimitRequest: descriptors[0].hits_addend.value (field 1): wire type length-delimited (2), expected varint (0)',
    );
  });

  it('rejects groups, wire types 6/7 and field number 0', () => {
    expect(decodeErr(hex('2b' + '2c'))).toBe('invalid RateLimitRequest: groups (wire type 3, field 5) are not supported');
    expect(decodeErr(hex('2c'))).toBe('invalid RateLimitRequest: groups (wire type 4, field 5) are not supported');
    expect(decodeErr(hex('2e00'))).toMatch(/invalid wire type 6 \(field 5\)/);
    expect(decodeErr(hex('2f00'))).toMatch(/invalid wire type 7 \(field 5\)/);
    expect(decodeErr(hex('0200'))).toBe('invalid RateLimitRequest: invalid field number 0');
    expect(decodeErr(hex('8080808080 01'.replace(' ', '')))).toBe('invalid RateLimitRequest: invalid field number >= 2^29');
  });

  it('rejects lengths past the end, including 64-bit lengths', () => {
    expect(decodeErr(hex('0a05' + '6162'))).toBe('invalid RateLimitRequest: domain: length 5 at offset 1 exceeds the 2 remaining bytes');
    expect(decodeErr(hex('0affffffff0f'))).toBe('invalid RateLimitRequest: domain: length 4294967295 at offset 1 exceeds the 0 remaining bytes');
    expect(decodeErr(hex('0a8080808010'))).toBe('invalid RateLimitRequest: domain: length 4294967296 at offset 1 exceeds the 0 remaining bytes');
    expect(decodeErr(hex('a20603' + 'aabb'))).toBe('invalid RateLimitRequest: field 100: length 3 at offset 2 exceeds the 2 remaining bytes');
    expect(decodeErr(hex('a906' + '01020304'))).toBe('invalid RateLimitRequest: field 101: truncated fixed64 at offset 2');
    expect(decodeErr(hex('bd06' + '0102'))).toBe('invalid RateLimitRequest: field 103: truncated fixed32 at offset 2');
  });

  it('rejects invalid UTF-8 (bucket identities must be exact), where protobufjs would substitute U+FFFD', () => {
    const bad = ['c328', 'c0af', 'eda080', 'f4908080', 'ff', 'e282'];
    for (const b of bad) {
      const bytes = hex(`0a${(b.length / 2).toString(16).padStart(2, '0')}${b}`);
      expect(decodeErr(bytes)).toBe('invalid RateLimitRequest: domain: invalid UTF-8 at offset 2');
      expect(fromPbRequest(bytes).domain).toContain('\ufffd');
    }
    expect(decodeErr(hex('1205' + '0a03' + '1201' + 'ff'))).toBe('invalid RateLimitRequest: descriptors[0].entries[0].value: invalid UTF-8 at offset 6');
  });

  it('response decoder rejects malformed bytes the same way', () => {
    expect(decodeRateLimitResponse(hex('1203' + '0801'))).toEqual({
      ok: false,
      error: 'invalid RateLimitResponse: statuses[0]: length 3 at offset 1 exceeds the 2 remaining bytes',
    });
    // statuses[0].current_limit.name with invalid UTF-8: the path is assembled from the nesting.
    expect(decodeRateLimitResponse(hex('1205' + '1203' + '1a01' + 'ff'))).toEqual({
      ok: false,
      error: 'invalid RateLimitResponse: statuses[0].current_limit.name: invalid UTF-8 at offset 6',
    });
    expect(decodeRateLimitResponse(hex(`32080a060a01${ascii('a')}120111`))).toEqual({
      ok: false,
      error: 'invalid RateLimitResponse: dynamic_metadata.fields["a"].number_value: truncated double at offset 10',
    });
    expect(decodeRateLimitResponse(hex('0a00'))).toEqual({
      ok: false,
      error: 'invalid RateLimitResponse: overall_code (field 1): wire type length-delimited (2), expected varint (0)',
    });
  });
});
