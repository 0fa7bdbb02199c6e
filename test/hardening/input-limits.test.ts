/**
 * Every request limit answers INVALID_ARGUMENT over gRPC and 400 over POST /json with a message
 * naming the field; hostile shapes (malformed protobuf, invalid UTF-8, NUL bytes, floods of tiny
 * descriptors, oversize messages) never crash or hang the sidecar, which answers a normal request
 * correctly afterwards.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Code, encodeRateLimitRequest, type RateLimitRequest, requestToJson } from '../../src/rls/codec.js';
import { request, startTestSidecar, type TestSidecar } from '../support/sidecar.js';
import { CALL_BOUND_MS, expectHealthy, HARDENING_CONFIG, postJson, rawCall, within } from './helpers.js';

let rg: TestSidecar;
let raw: grpc.Client;

beforeAll(async () => {
  rg = await startTestSidecar({ 'hard.yaml': HARDENING_CONFIG });
  raw = new grpc.Client(`127.0.0.1:${rg.sidecar.grpcPort}`, grpc.credentials.createInsecure());
});
afterAll(async () => {
  raw.close();
  await rg.stop();
});
afterEach(async () => {
  await expectHealthy(rg);
});

const entry = (key: string, value: string) => ({ key, value });
const one = (entries: { key: string; value: string }[], extra: Partial<RateLimitRequest> = {}): RateLimitRequest => ({
  domain: 'hard',
  descriptors: [{ entries }],
  hitsAddend: 0,
  ...extra,
});

/** Requests each transport must refuse, and the exact message both give. */
const refused: [string, RateLimitRequest, string][] = [
  ['empty domain', { ...one([entry('k', 'v')]), domain: '' }, 'domain must not be empty'],
  ['no descriptors', { domain: 'hard', descriptors: [], hitsAddend: 0 }, 'at least one descriptor is required'],
  ['a descriptor without entries', { domain: 'hard', descriptors: [{ entries: [] }], hitsAddend: 0 }, 'descriptors[0]: at least one entry is required'],
  ['an empty key', one([entry('k', 'v'), entry('', 'v')]), 'descriptors[0].entries[1].key must not be empty'],
  [
    '65 descriptors',
    { domain: 'hard', descriptors: Array.from({ length: 65 }, (_, i) => ({ entries: [entry('k', `d${i}`)] })), hitsAddend: 0 },
    '65 descriptors; at most 64 are allowed',
  ],
  ['17 entries', one(Array.from({ length: 17 }, (_, i) => entry(`e${i}`, 'v'))), 'descriptors[0] has 17 entries; at most 16 are allowed'],
  ['a 257-character key', one([entry('k'.repeat(257), 'v')]), 'descriptors[0].entries[0].key is 257 characters long; at most 256 are allowed'],
  ['a 1025-character value', one([entry('k', 'v'.repeat(1025))]), 'descriptors[0].entries[0].value is 1025 characters long; at most 1024 are allowed'],
  ['a 1025-character domain', { ...one([entry('k', 'v')]), domain: 'd'.repeat(1025) }, 'domain is 1025 characters long; at most 1024 are allowed'],
  [
    'a descriptor hits_addend above the uint32 maximum',
    { domain: 'hard', descriptors: [{ entries: [entry('k', 'big')], hitsAddend: 4_294_967_296 }], hitsAddend: 0 },
    'descriptors[0].hits_addend is 4294967296; at most 4294967295 is allowed',
  ],
  [
    'a descriptor hits_addend of 2^64-1 (read as 2^53-1)',
    { domain: 'hard', descriptors: [{ entries: [entry('k', 'huge')], hitsAddend: Number.MAX_SAFE_INTEGER }], hitsAddend: 0 },
    'descriptors[0].hits_addend is 9007199254740991; at most 4294967295 is allowed',
  ],
];

describe('request limits over gRPC and POST /json', () => {
  it.each(refused)('%s: INVALID_ARGUMENT / 400 with the same message', async (_name, req, message) => {
    const error = await within(rg.callError(req), CALL_BOUND_MS, 'gRPC');
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error.details).toBe(message);
    const json = await postJson(rg.httpUrl, JSON.stringify(requestToJson(req)));
    expect(json).toEqual({ status: 400, body: { error: message } });
  });

  it('a descriptor hits_addend of exactly 2^64-1 on the wire is refused, not wrapped', async () => {
    // descriptors[0] { entries { key "k" value "x" } hits_addend { value 2^64-1 } }
    const bytes = Buffer.from('0a0468617264' + '1215' + '0a060a016b120178' + '1a0b08ffffffffffffffffff01', 'hex');
    expect(await within(rawCall(raw, bytes), CALL_BOUND_MS, 'raw')).toEqual({
      ok: false,
      code: grpc.status.INVALID_ARGUMENT,
      details: 'descriptors[0].hits_addend is 9007199254740991; at most 4294967295 is allowed',
    });
    const json = await postJson(rg.httpUrl, '{"domain":"hard","descriptors":[{"entries":[{"key":"k","value":"x"}],"hitsAddend":"18446744073709551615"}]}');
    expect(json).toEqual({ status: 400, body: { error: 'descriptors[0].hits_addend is 9007199254740991; at most 4294967295 is allowed' } });
  });

  it('a request hits_addend of the uint32 maximum is decided (more than any bucket holds) and charges nothing', async () => {
    const res = await rg.call({ ...request('hard', [['k', 'u32max']]), hitsAddend: 4_294_967_295 });
    expect(res.overallCode).toBe(Code.OVER_LIMIT);
    expect(res.statuses[0]!.limitRemaining).toBe(5);
    expect((await rg.call(request('hard', [['k', 'u32max']]))).statuses[0]!.limitRemaining).toBe(4);
  });
});

describe('hostile bytes over gRPC', () => {
  const cases: [string, string, string][] = [
    ['a truncated length', '0a05616263', 'invalid RateLimitRequest: domain: length 5 at offset 1 exceeds the 3 remaining bytes'],
    ['a truncated varint', '18ff', 'invalid RateLimitRequest: truncated varint at offset 1'],
    ['an 11-byte varint', '18ffffffffffffffffffff01', 'invalid RateLimitRequest: varint longer than 10 bytes at offset 1'],
    ['a group', '2b', 'invalid RateLimitRequest: groups (wire type 3, field 5) are not supported'],
    ['wire type 7', '2f', 'invalid RateLimitRequest: invalid wire type 7 (field 5) at offset 1'],
    ['field number 0', '0000', 'invalid RateLimitRequest: invalid field number 0'],
    ['a known field with the wrong wire type', '1001', 'invalid RateLimitRequest: descriptors (field 2): wire type varint (0), expected length-delimited (2)'],
    ['invalid UTF-8 in the domain', '0a02c328', 'invalid RateLimitRequest: domain: invalid UTF-8 at offset 2'],
    [
      'a UTF-8 surrogate in a value',
      '0a0468617264120a0a080a016b1203eda080',
      'invalid RateLimitRequest: descriptors[0].entries[0].value: invalid UTF-8 at offset 15',
    ],
    ['an overlong NUL', '0a0468617264120a0a080a016b1203c0800a', 'invalid RateLimitRequest: descriptors[0].entries[0].value: invalid UTF-8 at offset 15'],
  ];
  it.each(cases)('%s: INVALID_ARGUMENT naming the field', async (_name, hex, details) => {
    expect(await within(rawCall(raw, Buffer.from(hex, 'hex')), CALL_BOUND_MS, 'raw')).toEqual({ ok: false, code: grpc.status.INVALID_ARGUMENT, details });
  });

  it('an empty message is a request without domain: INVALID_ARGUMENT', async () => {
    expect(await rawCall(raw, Buffer.alloc(0))).toEqual({ ok: false, code: grpc.status.INVALID_ARGUMENT, details: 'domain must not be empty' });
  });

  it('a message over --max-message-size (64 KiB) is RESOURCE_EXHAUSTED from grpc-js, before decoding', async () => {
    const big = encodeRateLimitRequest(one([entry('k', 'v'.repeat(70_000))]));
    const outcome = await within(rawCall(raw, big), CALL_BOUND_MS, 'oversize');
    expect(outcome).toMatchObject({ ok: false, code: grpc.status.RESOURCE_EXHAUSTED });
    expect(!outcome.ok && outcome.details).toMatch(/larger than max/);
  });

  it('60 KiB of tiny descriptors (8778 of them) is refused quickly', async () => {
    const tiny = Buffer.from('12050a030a016b', 'hex'); // a descriptor { entries { key "k" } }
    const bytes = Buffer.concat([Buffer.from('0a0468617264', 'hex'), ...Array.from({ length: 8778 }, () => tiny)]);
    const started = performance.now();
    expect(await within(rawCall(raw, bytes), CALL_BOUND_MS, 'tiny')).toEqual({
      ok: false,
      code: grpc.status.INVALID_ARGUMENT,
      details: '8778 descriptors; at most 64 are allowed',
    });
    expect(performance.now() - started).toBeLessThan(2_000); // measured ~20 ms; the margin is for a loaded machine
  });

  it('NUL bytes are ordinary characters: distinct values keep distinct buckets', async () => {
    const a = request('hard', [['k', 'nul\u0000a']]);
    const b = request('hard', [['k', 'nul\u0000b']]);
    const c = request('hard', [['k\u0000', 'nul']]);
    for (let i = 0; i < 5; i++) expect((await rg.call(a)).overallCode).toBe(Code.OK);
    expect((await rg.call(a)).overallCode).toBe(Code.OVER_LIMIT);
    expect((await rg.call(b)).statuses[0]!.limitRemaining).toBe(4);
    // `k\0` is not the configured key `k`: no limit applies.
    expect((await rg.call(c)).statuses[0]).toEqual({ code: Code.OK, limitRemaining: 0 });
  });
});

describe('hostile bodies over POST /json', () => {
  const cases: [string, string | Buffer, number, string][] = [
    ['malformed JSON', '{"domain": "hard", ', 400, ''],
    ['a JSON array', '[]', 400, ''],
    ['a lone surrogate', '{"domain":"hard","descriptors":[{"entries":[{"key":"k","value":"\\ud800"}]}]}', 400, 'lone UTF-16 surrogate'],
    ['an unknown field', '{"domain":"hard","descriptors":[],"evil":1}', 400, 'evil'],
    ['a fractional hits_addend', '{"domain":"hard","descriptors":[{"entries":[{"key":"k","value":"v"}]}],"hitsAddend":1.5}', 400, 'hitsAddend'],
    ['invalid UTF-8 bytes', Buffer.from('{"domain":"hard","descriptors":[{"entries":[{"key":"k","value":"\xff"}]}]}', 'latin1'), 400, 'UTF-8'],
  ];
  it.each(cases)('%s: %i', async (_name, body, status, message) => {
    const json = await postJson(rg.httpUrl, body);
    expect(json.status).toBe(status);
    expect(String(json.body.error)).toContain(message);
  });

  it('a body over --max-message-size is 413', async () => {
    const json = await postJson(rg.httpUrl, JSON.stringify(requestToJson(one([entry('k', 'v'.repeat(70_000))]))));
    expect(json.status).toBe(413);
  });

  it('60 KiB of tiny descriptors is refused quickly', async () => {
    const body = JSON.stringify({ domain: 'hard', descriptors: Array.from({ length: 2000 }, () => ({ entries: [{ key: 'k' }] })) });
    expect(await postJson(rg.httpUrl, body)).toEqual({ status: 400, body: { error: '2000 descriptors; at most 64 are allowed' } });
  });
});
