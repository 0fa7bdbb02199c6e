/**
 * fast-check throws random bytes and random well-formed-but-odd requests at a running sidecar over
 * gRPC and POST /json. Every call settles within a bound with an answer or a clean error (never
 * INTERNAL, never a dropped connection), and afterwards the sidecar answers a normal request correctly.
 */
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRateLimitRequest, type RateLimitRequest, requestToJson } from '../../src/rls/codec.js';
import { startTestSidecar, type TestSidecar } from '../support/sidecar.js';
import { CALL_BOUND_MS, expectHealthy, HARDENING_CONFIG, postJson, rawCall, within } from './helpers.js';

let rg: TestSidecar;
let raw: grpc.Client;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  rg = await startTestSidecar({ 'hard.yaml': HARDENING_CONFIG });
  raw = new grpc.Client(`127.0.0.1:${rg.sidecar.grpcPort}`, grpc.credentials.createInsecure());
});
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  raw.close();
  await rg.stop();
});

/** Statuses a hostile request may get; INTERNAL or UNKNOWN would mean an unexpected throw. */
const CLEAN_GRPC = new Set([grpc.status.OK, grpc.status.INVALID_ARGUMENT, grpc.status.RESOURCE_EXHAUSTED]);

/** Strings that stress identities: NULs, braces, separators, digits, astral characters, long runs. */
const oddString = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.constantFrom('', '\u0000', '{', '}', '{x}', ':', '1:', '|', '3:abc', '\uFFFD', '\uFEFF', '😀', 'k'),
  fc.integer({ min: 250, max: 1100 }).map((n) => 'x'.repeat(n)),
);
const oddRequest: fc.Arbitrary<RateLimitRequest> = fc.record({
  domain: fc.oneof(fc.constant('hard'), oddString),
  descriptors: fc.array(
    fc.record(
      {
        entries: fc.array(fc.record({ key: fc.oneof(fc.constant('k'), fc.constant('fw'), oddString), value: oddString }), { maxLength: 18 }),
        limit: fc.record({ requestsPerUnit: fc.integer({ min: 0, max: 4_294_967_295 }), unit: fc.integer({ min: -2, max: 9 }) }),
        hitsAddend: fc.oneof(fc.constant(0), fc.constant(Number.MAX_SAFE_INTEGER), fc.integer({ min: 0, max: 2 ** 33 })),
      },
      { requiredKeys: ['entries'] },
    ),
    { maxLength: 70 },
  ),
  hitsAddend: fc.oneof(fc.constant(0), fc.constant(4_294_967_295), fc.integer({ min: 0, max: 10 })),
});

describe('fuzzing a running sidecar', () => {
  it('random bytes over gRPC: a clean answer every time', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (bytes) => {
        const outcome = await within(rawCall(raw, Buffer.from(bytes)), CALL_BOUND_MS, 'random bytes');
        expect(outcome.ok || CLEAN_GRPC.has(outcome.code)).toBe(true);
      }),
      { numRuns: 300 },
    );
    await expectHealthy(rg);
  });

  it('mutated valid requests over gRPC: a clean answer every time', async () => {
    await fc.assert(
      fc.asyncProperty(oddRequest, fc.nat(), fc.integer({ min: 0, max: 255 }), async (req, at, byte) => {
        const bytes = Buffer.from(encodeRateLimitRequest(req));
        if (bytes.length > 0) bytes[at % bytes.length] = byte;
        const outcome = await within(rawCall(raw, bytes), CALL_BOUND_MS, 'mutated');
        expect(outcome.ok || CLEAN_GRPC.has(outcome.code)).toBe(true);
      }),
      { numRuns: 200 },
    );
    await expectHealthy(rg);
  });

  it('well-formed but odd requests over gRPC and /json: the same verdict on both', async () => {
    await fc.assert(
      fc.asyncProperty(oddRequest, async (req) => {
        const [grpcOutcome, json] = await Promise.all([
          within(rawCall(raw, encodeRateLimitRequest(req)), CALL_BOUND_MS, 'odd gRPC'),
          within(postJson(rg.httpUrl, JSON.stringify(requestToJson(req))), CALL_BOUND_MS, 'odd /json'),
        ]);
        expect(grpcOutcome.ok || grpcOutcome.code === grpc.status.INVALID_ARGUMENT || grpcOutcome.code === grpc.status.RESOURCE_EXHAUSTED).toBe(true);
        expect([200, 429, 400, 413]).toContain(json.status);
        // Refused on one port means refused on the other (oversize is RESOURCE_EXHAUSTED / 413).
        expect(grpcOutcome.ok).toBe(json.status === 200 || json.status === 429);
      }),
      { numRuns: 150 },
    );
    await expectHealthy(rg);
  });

  it('random JSON values and random text at /json: 200, 400, 413 or 429, never 500', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.json({ maxDepth: 4 }), fc.string({ unit: 'binary', maxLength: 200 })), async (body) => {
        const json = await within(postJson(rg.httpUrl, body), CALL_BOUND_MS, 'random /json');
        expect([200, 400, 413, 429]).toContain(json.status);
      }),
      { numRuns: 200 },
    );
    await expectHealthy(rg);
    expect(unhandled).toEqual([]);
  });
});
