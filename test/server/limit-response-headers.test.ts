/**
 * The reference's LIMIT_RESPONSE_HEADERS_ENABLED through gRPC: three headers in
 * response_headers_to_add for the descriptor closest to its limit (or the one over it), named by
 * LIMIT_*_HEADER, with exact values.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Code, type HeaderValue } from '../../src/rls/codec.js';
import { request, startTestSidecar, type TestSidecar } from '../support/sidecar.js';

// Token buckets (the default): `roomy` refills one token every 360 s, `tight` every 1200 s.
const CONFIG = `domain: h
descriptors:
  - key: roomy
    rate_limit: { unit: hour, requests_per_unit: 10 }
  - key: tight
    rate_limit: { unit: hour, requests_per_unit: 3 }
  - key: window
    rate_limit: { unit: minute, requests_per_unit: 5, algorithm: fixed_window }
`;
const BOTH = request('h', [['roomy', 'x']], [['tight', 'x']]);
const headerPairs = (headers: readonly HeaderValue[]) => headers.map((h) => [h.key, h.value]);

let rg: TestSidecar;
afterEach(async () => {
  await rg.stop();
});

describe('--limit-response-headers (LIMIT_RESPONSE_HEADERS_ENABLED)', () => {
  it("names the tightest descriptor with the reference's default names; the one over its limit once there is one", async () => {
    rg = await startTestSidecar({ 'h.yaml': CONFIG }, ['--limit-response-headers']);
    // One token of each spent: 9 and 2 left; `tight` is full again in 1200 s.
    expect(headerPairs((await rg.call(BOTH)).responseHeadersToAdd)).toEqual([
      ['RateLimit-Limit', '3'],
      ['RateLimit-Remaining', '2'],
      ['RateLimit-Reset', '1200'],
    ]);
    for (let i = 0; i < 2; i++) await rg.call(request('h', [['tight', 'x']]));
    const over = await rg.call(BOTH);
    expect(over.overallCode).toBe(Code.OVER_LIMIT);
    // Over its limit: none left, and its next token comes in 1200 s (rounded up to whole seconds).
    expect(headerPairs(over.responseHeadersToAdd)).toEqual([
      ['RateLimit-Limit', '3'],
      ['RateLimit-Remaining', '0'],
      ['RateLimit-Reset', '1200'],
    ]);
    // A request no limit matches gets none.
    expect((await rg.call(request('nowhere', [['roomy', 'x']]))).responseHeadersToAdd).toEqual([]);
  });

  it("LIMIT_LIMIT_HEADER, _REMAINING_HEADER, _RESET_HEADER name them; after --response-headers' own", async () => {
    rg = await startTestSidecar({ 'h.yaml': CONFIG }, [
      '--limit-response-headers',
      '--limit-limit-header',
      'X-Limit',
      '--limit-remaining-header',
      'X-Left',
      '--limit-reset-header',
      'X-Reset',
      '--response-headers',
      'draft-03',
    ]);
    const headers = headerPairs((await rg.call(BOTH)).responseHeadersToAdd);
    expect(headers.map(([key]) => key)).toEqual(['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'X-Limit', 'X-Left', 'X-Reset']);
    expect(headers.slice(3)).toEqual([
      ['X-Limit', '3'],
      ['X-Left', '2'],
      ['X-Reset', '1200'],
    ]);
  });

  it('a fixed window resets at the end of its minute, as the reference computes it', async () => {
    rg = await startTestSidecar({ 'h.yaml': CONFIG }, ['--limit-response-headers']);
    const untilMinuteEnd = () => String(60 - (Math.floor(Date.now() / 1000) % 60));
    const before = untilMinuteEnd();
    const response = await rg.call(request('h', [['window', 'x']]));
    const after = untilMinuteEnd();
    const headers = headerPairs(response.responseHeadersToAdd);
    expect(headers.slice(0, 2)).toEqual([
      ['RateLimit-Limit', '5'],
      ['RateLimit-Remaining', '4'],
    ]);
    // The call may straddle a second: its value is the one before or after it.
    expect([before, after]).toContain(headers[2]![1]);
    expect(headers[2]).toEqual(['RateLimit-Reset', String(response.statuses[0]!.durationUntilReset!.seconds)]);
  });

  it('off by default', async () => {
    rg = await startTestSidecar({ 'h.yaml': CONFIG });
    expect((await rg.call(BOTH)).responseHeadersToAdd).toEqual([]);
  });
});
