import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import {
  PROTO_DIR,
  decodeRateLimitRequest,
  durationFromJson,
  durationToJson,
  requestFromJson,
  requestToJson,
  responseFromJson,
  responseToJson,
  timestampToJson,
  type RateLimitRequest,
  type RateLimitResponse,
} from '../../src/rls/codec.js';

// protobufjs with lowerCamel field names (keepCase: false), as a reference for the JSON field mapping.
const root = new protobuf.Root();
root.resolvePath = (_origin, target) => (target.startsWith('google/protobuf/') ? target : `${PROTO_DIR}${target}`);
root.loadSync('envoy/service/ratelimit/v3/rls.proto', { keepCase: false });
root.resolveAll();
const PbRequest = root.lookupType('envoy.service.ratelimit.v3.RateLimitRequest');
const PbResponse = root.lookupType('envoy.service.ratelimit.v3.RateLimitResponse');

function ok(obj: unknown): RateLimitRequest {
  const r = requestFromJson(obj);
  if (!r.ok) throw new Error(r.error);
  return r.request;
}
function err(obj: unknown): string {
  const r = requestFromJson(obj);
  if (r.ok) throw new Error(`expected an error, got ${JSON.stringify(r.request)}`);
  return r.error;
}

describe('requestFromJson', () => {
  const expected: RateLimitRequest = {
    domain: 'envoy',
    descriptors: [
      { entries: [{ key: 'remote_address', value: '10.0.0.1' }], limit: { requestsPerUnit: 100, unit: 2 }, hitsAddend: 300 },
      { entries: [{ key: 'path', value: '' }] },
    ],
    hitsAddend: 2,
  };

  it('accepts lowerCamel names', () => {
    expect(
      ok({
        domain: 'envoy',
        descriptors: [
          { entries: [{ key: 'remote_address', value: '10.0.0.1' }], limit: { requestsPerUnit: 100, unit: 'MINUTE' }, hitsAddend: '300' },
          { entries: [{ key: 'path' }] },
        ],
        hitsAddend: 2,
      }),
    ).toEqual(expected);
  });

  it('accepts original proto names, numeric enums, numbers for uint64 and strings for uint32', () => {
    expect(
      ok({
        domain: 'envoy',
        descriptors: [
          { entries: [{ key: 'remote_address', value: '10.0.0.1' }], limit: { requests_per_unit: '100', unit: 2 }, hits_addend: 300 },
          { entries: [{ key: 'path', value: '' }], limit: null, hits_addend: null },
        ],
        hits_addend: '2',
      }),
    ).toEqual(expected);
  });

  it('treats null and missing fields as defaults; hitsAddend 0 in a descriptor is kept (wrapper present)', () => {
    expect(ok({})).toEqual({ domain: '', descriptors: [], hitsAddend: 0 });
    expect(ok({ domain: null, descriptors: null, hitsAddend: null })).toEqual({ domain: '', descriptors: [], hitsAddend: 0 });
    expect(ok({ descriptors: [{ entries: [], hitsAddend: 0 }] }).descriptors[0]).toEqual({ entries: [], hitsAddend: 0 });
    expect(ok({ descriptors: [{ entries: [], hitsAddend: '0' }] }).descriptors[0]).toEqual({ entries: [], hitsAddend: 0 });
  });

  it('clamps uint64 above 2^53-1 and rejects values above 2^64-1', () => {
    expect(ok({ descriptors: [{ hitsAddend: '18446744073709551615' }] }).descriptors[0]!.hitsAddend).toBe(Number.MAX_SAFE_INTEGER);
    expect(ok({ descriptors: [{ hitsAddend: '9007199254740991' }] }).descriptors[0]!.hitsAddend).toBe(9007199254740991);
    expect(err({ descriptors: [{ hitsAddend: '18446744073709551616' }] })).toBe(
      'invalid RateLimitRequest JSON: descriptors[0].hitsAddend: 18446744073709551616 is out of range for uint64',
    );
  });

  it('rejects wrong shapes with clear messages', () => {
    const cases: [unknown, string][] = [
      [null, 'RateLimitRequest: expected an object, got null'],
      [[], 'RateLimitRequest: expected an object, got an array'],
      ['x', 'RateLimitRequest: expected an object, got string "x"'],
      [{ domian: 'x' }, 'RateLimitRequest: unknown field "domian"'],
      [{ hitsAddend: 1, hits_addend: 1 }, 'RateLimitRequest: field hitsAddend given twice (as lowerCamel and original name)'],
      [{ domain: 5 }, 'domain: expected a string, got number 5'],
      [{ domain: 'a\ud800b' }, 'domain: string contains a lone UTF-16 surrogate'],
      [{ descriptors: {} }, 'descriptors: expected an array, got object'],
      [{ descriptors: [{ entries: [{ key: 'k', value: 1 }] }] }, 'descriptors[0].entries[0].value: expected a string, got number 1'],
      [{ descriptors: [{ entries: [{ key: 'k', extra: 1 }] }] }, 'descriptors[0].entries[0]: unknown field "extra"'],
      [{ hitsAddend: -1 }, 'hitsAddend: -1 is not a uint32'],
      [{ hitsAddend: 1.5 }, 'hitsAddend: 1.5 is not a uint32'],
      [{ hitsAddend: 4294967296 }, 'hitsAddend: 4294967296 is not a uint32'],
      [{ hitsAddend: '12abc' }, 'hitsAddend: expected a uint32 (number or numeric string), got string "12abc"'],
      [{ hitsAddend: true }, 'hitsAddend: expected a uint32 (number or numeric string), got boolean true'],
      [
        { descriptors: [{ limit: { unit: 'WEEK' } }] },
        'descriptors[0].limit.unit: "WEEK" is not a envoy.type.v3.RateLimitUnit value (UNKNOWN, SECOND, MINUTE, HOUR, DAY, MONTH, YEAR)',
      ],
      [{ descriptors: [{ limit: { unit: 1.5 } }] }, 'descriptors[0].limit.unit: expected a envoy.type.v3.RateLimitUnit name or int32, got number 1.5'],
      [{ descriptors: [{ hitsAddend: -1 }] }, 'descriptors[0].hitsAddend: -1 is not a uint64'],
      [{ descriptors: [{ hitsAddend: { value: 1 } }] }, 'descriptors[0].hitsAddend: expected a uint64 (number or decimal string), got object'],
    ];
    for (const [input, msg] of cases) expect(err(input)).toBe(`invalid RateLimitRequest JSON: ${msg}`);
  });

  it('maps field names like protobufjs fromObject (lowerCamel), and agrees with the wire decoder', () => {
    const obj = {
      domain: 'd',
      descriptors: [{ entries: [{ key: 'a', value: 'b' }, { key: 'c' }], limit: { requestsPerUnit: 7, unit: 'HOUR' } }],
      hitsAddend: 3,
    };
    const viaPb = decodeRateLimitRequest(Buffer.from(PbRequest.encode(PbRequest.fromObject(obj)).finish()));
    expect(viaPb).toEqual({ ok: true, request: ok(obj) });
  });

  it('round-trips requestToJson -> JSON text -> requestFromJson', () => {
    const str = fc.string({ maxLength: 10 }).filter((s) => !/\p{Cs}/u.test(s));
    const arb = fc.record({
      domain: str,
      descriptors: fc.array(
        fc
          .record(
            {
              entries: fc.array(fc.record({ key: str, value: str }), { maxLength: 3 }),
              limit: fc.record({ requestsPerUnit: fc.nat({ max: 4294967295 }), unit: fc.integer({ min: 0, max: 6 }) }),
              hitsAddend: fc.maxSafeNat(),
            },
            { requiredKeys: ['entries'] },
          )
          .map((d) => d as RateLimitRequest['descriptors'][number]),
        { maxLength: 4 },
      ),
      hitsAddend: fc.nat({ max: 4294967295 }),
    });
    fc.assert(
      fc.property(arb, (req) => {
        expect(ok(JSON.parse(JSON.stringify(requestToJson(req))))).toEqual(req);
      }),
      { numRuns: 300 },
    );
  });

  it('requestToJson prints uint64 as a string and omits defaults', () => {
    expect(
      requestToJson({
        domain: 'd',
        descriptors: [{ entries: [{ key: 'k', value: '' }], limit: { requestsPerUnit: 0, unit: 3 }, hitsAddend: 0 }],
        hitsAddend: 0,
      }),
    ).toEqual({ domain: 'd', descriptors: [{ entries: [{ key: 'k' }], limit: { unit: 'HOUR' }, hitsAddend: '0' }] });
  });
});

describe('responseToJson', () => {
  const res: RateLimitResponse = {
    overallCode: 2,
    statuses: [
      { code: 2, currentLimit: { requestsPerUnit: 10, unit: 7, name: 'per_ip' }, limitRemaining: 0, durationUntilReset: { seconds: 1, nanos: 500_000_000 } },
      { code: 1, limitRemaining: 4294967295, currentLimit: { requestsPerUnit: 5, unit: 99, name: '' } },
      { code: 0, limitRemaining: 0 },
    ],
    responseHeadersToAdd: [{ key: 'x-ratelimit-limit', value: '10' }],
    requestHeadersToAdd: [],
    rawBody: Buffer.from('slow down'),
    dynamicMetadata: { a: { b: [1, 'x', null, true] } },
    quota: { requests: 3, validUntil: { seconds: 63072020, nanos: 21_000_000 }, id: 'q' },
  };

  it('prints the proto3 JSON form', () => {
    expect(responseToJson(res)).toEqual({
      overallCode: 'OVER_LIMIT',
      statuses: [
        { code: 'OVER_LIMIT', currentLimit: { requestsPerUnit: 10, unit: 'WEEK', name: 'per_ip' }, durationUntilReset: '1.500s' },
        { code: 'OK', currentLimit: { requestsPerUnit: 5, unit: 99 }, limitRemaining: 4294967295 },
        {},
      ],
      responseHeadersToAdd: [{ key: 'x-ratelimit-limit', value: '10' }],
      rawBody: 'c2xvdyBkb3du',
      dynamicMetadata: { a: { b: [1, 'x', null, true] } },
      quota: { requests: 3, validUntil: '1972-01-01T00:00:20.021Z', id: 'q' },
    });
    expect(responseToJson({ overallCode: 0, statuses: [], responseHeadersToAdd: [], requestHeadersToAdd: [] })).toEqual({});
  });

  it('matches protobufjs toObject({ json: true, enums: String }) for the fields protobufjs maps like proto3 JSON', () => {
    const plain: RateLimitResponse = {
      overallCode: 1,
      statuses: [{ code: 1, currentLimit: { requestsPerUnit: 10, unit: 2, name: 'n' }, limitRemaining: 9 }],
      responseHeadersToAdd: [{ key: 'k', value: 'v' }],
      requestHeadersToAdd: [{ key: 'a', value: 'b' }],
      rawBody: Buffer.from([0, 1, 2, 250]),
    };
    const pbObj = PbResponse.toObject(
      PbResponse.fromObject({
        overallCode: 'OK',
        statuses: [{ code: 'OK', currentLimit: { requestsPerUnit: 10, unit: 'MINUTE', name: 'n' }, limitRemaining: 9 }],
        responseHeadersToAdd: [{ key: 'k', value: 'v' }],
        requestHeadersToAdd: [{ key: 'a', value: 'b' }],
        rawBody: Buffer.from([0, 1, 2, 250]),
      }),
      { json: true, enums: String, bytes: String },
    );
    expect(responseToJson(plain)).toEqual(pbObj);
  });

  it('formats durations with 0, 3, 6 or 9 fractional digits and parses them back', () => {
    const cases: [number, number, string][] = [
      [5, 0, '5s'],
      [0, 0, '0s'],
      [1, 500_000_000, '1.500s'],
      [0, 1_000, '0.000001s'],
      [0, 1, '0.000000001s'],
      [-1, -500_000_000, '-1.500s'],
      [0, -1, '-0.000000001s'],
      [315576000000, 999_999_999, '315576000000.999999999s'],
    ];
    for (const [seconds, nanos, s] of cases) {
      expect(durationToJson({ seconds, nanos })).toBe(s);
      expect(durationFromJson(s)).toEqual({ seconds, nanos });
    }
    expect(timestampToJson({ seconds: 0, nanos: 0 })).toBe('1970-01-01T00:00:00Z');
    expect(timestampToJson({ seconds: 1, nanos: 123_456_000 })).toBe('1970-01-01T00:00:01.123456Z');
  });

  it('round-trips responseFromJson(responseToJson(x))', () => {
    const str = fc.string({ maxLength: 8 }).filter((s) => !/\p{Cs}/u.test(s));
    const dur = fc.oneof(
      fc.record({ seconds: fc.integer({ min: 0, max: 315576000000 }), nanos: fc.integer({ min: 0, max: 999_999_999 }) }),
      fc.record({ seconds: fc.integer({ min: -315576000000, max: -1 }), nanos: fc.integer({ min: -999_999_999, max: 0 }) }),
    );
    const ts = fc.record({ seconds: fc.integer({ min: -62135596800, max: 253402300799 }), nanos: fc.integer({ min: 0, max: 999_999_999 }) });
    const quota = fc.record({ requests: fc.nat({ max: 4294967295 }), validUntil: ts, id: str }, { requiredKeys: ['requests', 'id'] });
    const arb = fc.record(
      {
        overallCode: fc.integer({ min: 0, max: 2 }),
        statuses: fc.array(
          fc.record(
            {
              code: fc.integer({ min: 0, max: 5 }),
              currentLimit: fc.record({ requestsPerUnit: fc.nat({ max: 4294967295 }), unit: fc.integer({ min: 0, max: 9 }), name: str }),
              limitRemaining: fc.nat({ max: 4294967295 }),
              durationUntilReset: dur,
              quota,
            },
            { requiredKeys: ['code', 'limitRemaining'] },
          ),
          { maxLength: 4 },
        ),
        responseHeadersToAdd: fc.array(fc.record({ key: str, value: str }), { maxLength: 2 }),
        requestHeadersToAdd: fc.array(fc.record({ key: str, value: str }), { maxLength: 2 }),
        rawBody: fc.uint8Array({ minLength: 1, maxLength: 20 }).map((u) => Buffer.from(u)),
        quota,
      },
      { requiredKeys: ['overallCode', 'statuses', 'responseHeadersToAdd', 'requestHeadersToAdd'] },
    );
    fc.assert(
      fc.property(arb, (x) => {
        const res = x as RateLimitResponse;
        expect(responseFromJson(JSON.parse(JSON.stringify(responseToJson(res))))).toEqual({ ok: true, response: res });
      }),
      { numRuns: 300 },
    );
  });

  it('responseFromJson rejects bad input with clear messages', () => {
    expect(responseFromJson({ overallCode: 'MAYBE' })).toEqual({
      ok: false,
      error: 'invalid RateLimitResponse JSON: overallCode: "MAYBE" is not a RateLimitResponse.Code value (UNKNOWN, OK, OVER_LIMIT)',
    });
    expect(responseFromJson({ statuses: [{ durationUntilReset: '1.5' }] })).toEqual({
      ok: false,
      error: 'invalid RateLimitResponse JSON: statuses[0].durationUntilReset: "1.5" is not a proto3 JSON duration',
    });
  });
});
