import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenBucket } from '../../src/engine/limit.js';
import type { Plan } from '../../src/engine/plan.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import { OverLimitCache } from '../../src/stores/over-limit-cache.js';
import { RedisStore } from '../../src/stores/redis/redis-store.js';
import { type RedisProcess, startRedis } from '../support/redis-server.js';
import { scriptCalls as scriptCallsIn } from '../support/script-calls.js';

const limit = tokenBucket({ capacity: 2, refillTokens: 1, periodUs: 1_000_000 }); // 1 token/s
const plan = (key: string, cost = 1, shadow = false): Plan => ({ mode: 'all_or_nothing', buckets: [{ key, limit, cost, shadow }] });

describe('OverLimitCache over a MemoryStore (one clock for both)', () => {
  let now = 5_000_000_000;
  const clock = () => now;
  const make = () => new OverLimitCache(new MemoryStore({ clock }), { maxEntries: 2, clock });

  it('answers a known over-limit bucket from the cache until its retry time, then asks the store again', async () => {
    const cache = make();
    expect((await cache.decide(plan('a', 2))).allowed).toBe(true);
    const denied = await cache.decide(plan('a'));
    expect([denied.allowed, denied.source, denied.buckets[0]!.retryUs]).toEqual([false, undefined, 1_000_000]);
    now += 999_999;
    const cached = await cache.decide(plan('a'));
    expect([cached.allowed, cached.source, cached.buckets[0]!.retryUs]).toEqual([false, 'local_cache', 1]);
    expect(cache.hits).toBe(1);
    now += 1;
    expect(await cache.decide(plan('a'))).toMatchObject({ allowed: true });
    await cache.close();
  });

  it('never denies a smaller cost than the one denied, nor a look, nor a shadow bucket', async () => {
    const cache = make();
    await cache.decide(plan('b', 2)); // empty
    now += 500_000; // 0.5 token
    expect((await cache.decide(plan('b', 1))).source).toBeUndefined(); // denied by the store: remembered for cost 1
    now += 500_000; // 1 token now: cost 1 is available exactly at the retry time
    expect((await cache.decide(plan('b', 1))).allowed).toBe(true);
    await cache.decide(plan('c', 2));
    await cache.decide(plan('c', 2)); // denied for cost 2: remembered for cost >= 2
    const smaller = await cache.decide(plan('c', 1));
    expect(smaller.source).toBeUndefined(); // went to the store
    expect((await cache.decide(plan('c', 0))).source).toBeUndefined();
    expect((await cache.decide(plan('c', 2, true))).source).toBeUndefined();
    await cache.close();
  });

  it('remembers a repeated key denied for the sum of its costs, so a smaller request still reaches the store', async () => {
    const cache = make();
    expect((await cache.decide(plan('r', 1))).allowed).toBe(true); // 1 token left
    const twice: Plan = {
      mode: 'all_or_nothing',
      buckets: [
        { key: 'r', limit, cost: 1 },
        { key: 'r', limit, cost: 1 },
      ],
    };
    expect((await cache.decide(twice)).allowed).toBe(false); // 1 + 1 > the 1 token left: denied for cost 2
    const single = await cache.decide(plan('r', 1));
    expect([single.allowed, single.source]).toEqual([true, undefined]);
    await cache.close();
  });

  it('a request with a bucket not known to deny goes to the store whole: true numbers for every bucket, charged as the mode says', async () => {
    const wide = tokenBucket({ capacity: 20, refillTokens: 20, periodUs: 3_600_000_000 });
    for (const mode of ['all_or_nothing', 'independent'] as const) {
      const cache = make();
      const [spent, other] = [`spent-${mode}`, `other-${mode}`];
      await cache.decide(plan(spent, 2));
      await cache.decide(plan(spent, 1)); // denied: remembered
      await cache.decide({ mode, buckets: [{ key: other, limit: wide, cost: 12 }] }); // 8 left
      const both = await cache.decide({
        mode,
        buckets: [
          { key: spent, limit, cost: 1 },
          { key: other, limit: wide, cost: 1 },
        ],
      });
      expect(both.source).toBeUndefined(); // decided by the store
      expect(both.buckets.map((b) => [b.allowed, b.remaining])).toEqual([
        [false, 0],
        [true, mode === 'independent' ? 7 : 8],
      ]);
      // The over-limit bucket alone is still answered here.
      expect((await cache.decide(plan(spent, 1))).source).toBe('local_cache');
      await cache.close();
    }
  });

  it('forgets a client on reset and keeps at most maxEntries denials', async () => {
    const cache = make();
    for (const key of ['d', 'e', 'f']) {
      await cache.decide(plan(key, 2));
      await cache.decide(plan(key, 2));
    }
    expect(cache.size).toBe(2);
    await cache.reset(['f']);
    expect(cache.size).toBe(1);
    expect((await cache.decide(plan('f', 2))).allowed).toBe(true);
    await cache.close();
  });
});

describe('OverLimitCache over Redis under a flood from one over-limit client', () => {
  let redis: RedisProcess;
  let probe: Redis;
  beforeAll(async () => {
    redis = await startRedis();
    probe = redis.client();
  });
  afterAll(async () => {
    await redis.stop();
  });

  const scriptCalls = async () => {
    return scriptCallsIn(await probe.info('commandstats'));
  };

  it('sends Redis at most one call per retry period instead of one per request', async () => {
    const slow = tokenBucket({ capacity: 5, refillTokens: 1, periodUs: 3_600_000_000 }); // 1 token/hour
    const store = new RedisStore({ url: redis.url, timeoutMs: 2000 });
    await store.ready();
    const cache = new OverLimitCache(store, { maxEntries: 1000 });
    try {
      const flood: Plan = { mode: 'all_or_nothing', buckets: [{ key: 'flood', limit: slow, cost: 1 }] };
      const before = await scriptCalls();
      const outcomes = [];
      for (let i = 0; i < 2000; i++) outcomes.push((await cache.decide(flood)).allowed);
      const calls = (await scriptCalls()) - before;
      expect(outcomes.filter(Boolean)).toHaveLength(5);
      expect(calls).toBe(6); // 5 allowed + the first denial; 1994 answered locally
      expect(cache.hits).toBe(1994);
    } finally {
      await cache.close();
    }
  });
});
