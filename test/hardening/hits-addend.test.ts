/**
 * hits_addend extremes through a real sidecar on the memory store and on a real Redis (the Lua
 * script), in both charge modes: no overflow, no NaN, nothing charged that should not be, and the
 * numbers in the answer stay sane.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Code, type RateLimitRequest } from '../../src/rls/codec.js';
import { type RedisProcess, startRedis } from '../support/redis-server.js';
import { request, startTestSidecar, type TestSidecar } from '../support/sidecar.js';
import { HARDENING_CONFIG } from './helpers.js';

const U32_MAX = 4_294_967_295;
const withHits = (req: RateLimitRequest, hits: number): RateLimitRequest => ({ ...req, hitsAddend: hits });
const withDescriptorHits = (req: RateLimitRequest, hits: number): RateLimitRequest => ({
  ...req,
  descriptors: req.descriptors.map((d) => ({ ...d, hitsAddend: hits })),
});

let redis: RedisProcess;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

const stores: [string, () => string[]][] = [
  ['memory', () => []],
  ['Redis', () => ['--redis', redis.url, '--redis-timeout', '1000']],
];
const modes: [string, string[]][] = [
  ['all-or-nothing', []],
  ['--charge-rejected', ['--charge-rejected']],
];

describe.each(stores)('hits_addend extremes on the %s store', (_store, storeFlags) => {
  describe.each(modes)('%s', (mode, modeFlags) => {
    let rg: TestSidecar;
    let run = 0;
    /** A fresh identity per case and per run, so Redis state from another case never leaks in. */
    const fresh = (key: 'k' | 'fw') => request('hard', [[key, `${mode}-${++run}-${Date.now()}`]]);
    beforeAll(async () => {
      rg = await startTestSidecar({ 'hard.yaml': HARDENING_CONFIG }, [...storeFlags(), ...modeFlags, '--max-hits-addend', String(Number.MAX_SAFE_INTEGER)]);
    });
    afterAll(async () => {
      await rg.stop();
    });

    it('0 looks without consuming', async () => {
      const req = fresh('k');
      for (let i = 0; i < 3; i++) expect((await rg.call(withDescriptorHits(req, 0))).statuses[0]!.limitRemaining).toBe(5);
    });

    it('exactly the capacity is allowed once, then nothing', async () => {
      const req = fresh('k');
      expect((await rg.call(withHits(req, 5))).statuses[0]).toMatchObject({ code: Code.OK, limitRemaining: 0 });
      expect((await rg.call(req)).overallCode).toBe(Code.OVER_LIMIT);
    });

    it.each([U32_MAX, Number.MAX_SAFE_INTEGER])('a token bucket asked for %d: OVER_LIMIT, nothing charged, sane numbers', async (hits) => {
      const req = fresh('k');
      const denied = await rg.call(hits === U32_MAX ? withHits(req, hits) : withDescriptorHits(req, hits));
      expect(denied.overallCode).toBe(Code.OVER_LIMIT);
      expect(denied.statuses[0]).toEqual({
        code: Code.OVER_LIMIT,
        currentLimit: { requestsPerUnit: 5, unit: 3, name: '' },
        limitRemaining: 5,
        durationUntilReset: { seconds: 0, nanos: 0 },
      });
      expect((await rg.call(req)).statuses[0]).toMatchObject({ code: Code.OK, limitRemaining: 4 });
    });

    it.each([U32_MAX, Number.MAX_SAFE_INTEGER])('a fixed window asked for %d: OVER_LIMIT; counted only with --charge-rejected', async (hits) => {
      const req = fresh('fw');
      const denied = await rg.call(withDescriptorHits(req, hits));
      expect(denied.statuses[0]).toMatchObject({ code: Code.OVER_LIMIT });
      const window = denied.statuses[0]!.durationUntilReset!;
      expect(window.seconds).toBeGreaterThanOrEqual(0);
      expect(window.seconds).toBeLessThanOrEqual(3600);
      const next = await rg.call(req);
      if (mode === 'all-or-nothing') {
        expect(next.statuses[0]).toMatchObject({ code: Code.OK, limitRemaining: 4 });
      } else {
        // The reference service counts rejected hits: the window is spent until it ends, and stays finite.
        expect(next.statuses[0]).toMatchObject({ code: Code.OVER_LIMIT, limitRemaining: 0 });
        expect(Number.isFinite(next.statuses[0]!.durationUntilReset!.seconds)).toBe(true);
      }
    });
  });
});
