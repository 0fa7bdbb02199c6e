/**
 * Envoy's cost pattern over real gRPC, on the memory store and on Redis, with the server default
 * `--overdraft` (what an Envoy Gateway deployment sets: its xDS config has no extension keys): the
 * request path checks with `hits_addend: 0`, the response path charges N with a second call whose
 * answer Envoy ignores. A limit with `overdraft: false` shows the difference.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Code, type RateLimitRequest, type RateLimitResponse } from '../../src/rls/codec.js';
import { type RedisProcess, startRedis } from '../support/redis-server.js';
import { startTestSidecar, type TestSidecar } from '../support/sidecar.js';

const CONFIG = `
domain: llm
descriptors:
  - key: tokens
    rate_limit: { unit: minute, requests_per_unit: 100 }
  - key: requests
    rate_limit: { unit: minute, requests_per_unit: 100, overdraft: false }
`;
const { OK, OVER_LIMIT } = Code;

/** One descriptor `key=value` asking for `hits` (the descriptor's own `hits_addend`, 0 included). */
const hits = (key: string, value: string, count: number): RateLimitRequest => ({
  domain: 'llm',
  descriptors: [{ entries: [{ key, value }], hitsAddend: count }],
  hitsAddend: 0,
});

/** Code, limit_remaining and duration_until_reset in ms of the only status. */
function status(response: RateLimitResponse): [number, number, number] {
  const s = response.statuses[0]!;
  const reset = s.durationUntilReset!;
  return [s.code, s.limitRemaining, reset.seconds * 1000 + reset.nanos / 1e6];
}

let redis: RedisProcess | undefined;
const backends: [string, () => Promise<string[]>][] = [
  ['memory store', async () => []],
  [
    'Redis store',
    async () => {
      redis = await startRedis();
      return ['--redis', redis.url, '--redis-timeout', '1000'];
    },
  ],
];

describe.each(backends)('check with 0, charge N after, on the %s with --overdraft', (_name, storeFlags) => {
  let rg: TestSidecar;
  beforeAll(async () => {
    rg = await startTestSidecar({ 'llm.yaml': CONFIG }, ['--overdraft', ...(await storeFlags())]);
  });
  afterAll(async () => {
    await rg.stop();
    await redis?.stop();
  });

  it('a response charge past what is left counts: checks are OVER_LIMIT until the debt has refilled', async () => {
    expect(status(await rg.call(hits('tokens', 'u1', 0)))).toEqual([OK, 100, 0]);
    // 130 tokens on 100 left: charged, 30 in debt, repaid at 100 per minute in 18 s.
    const [chargeCode, chargeRemaining, chargeResetMs] = status(await rg.call(hits('tokens', 'u1', 130)));
    expect([chargeCode, chargeRemaining]).toEqual([OVER_LIMIT, 0]);
    expect(chargeResetMs).toBeGreaterThan(17_000);
    expect(chargeResetMs).toBeLessThanOrEqual(18_000);
    const [checkCode, checkRemaining, checkResetMs] = status(await rg.call(hits('tokens', 'u1', 0)));
    expect([checkCode, checkRemaining]).toEqual([OVER_LIMIT, 0]);
    expect(checkResetMs).toBeGreaterThan(17_000);
    expect(checkResetMs).toBeLessThanOrEqual(chargeResetMs);
  });

  it('a limit with overdraft: false denies such a charge and charges nothing', async () => {
    expect(status(await rg.call(hits('requests', 'u1', 130)))[0]).toBe(OVER_LIMIT);
    expect(status(await rg.call(hits('requests', 'u1', 0))).slice(0, 2)).toEqual([OK, 100]);
  });
});
