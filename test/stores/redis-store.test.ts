import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketKey, encodeIdentity } from '../../src/engine/keys.js';
import { tokenBucket } from '../../src/engine/limit.js';
import type { Plan } from '../../src/engine/plan.js';
import { RedisStore } from '../../src/stores/redis/redis-store.js';
import { StoreError } from '../../src/stores/store.js';
import { type RedisProcess, startRedis } from '../support/redis-server.js';
import { expectedResult, NOW, VECTORS } from '../engine/vectors.js';
import { readStoredExpiry, readStoredState, writeStoredState } from '../support/stored-state.js';

let redis: RedisProcess;
let store: RedisStore;
let probe: Redis;

beforeAll(async () => {
  redis = await startRedis();
  store = new RedisStore({ url: redis.url, timeoutMs: 500 });
  await store.ready();
  probe = redis.client();
});
afterAll(async () => {
  await store.close();
  await redis.stop();
});

describe('the Lua script on the shared vectors', () => {
  VECTORS.forEach((vector, v) => {
    it(vector.name, async () => {
      const keys = vector.buckets.map((_, i) => `vec:${v}:${i}`);
      await probe.del(...keys);
      for (const [i, bucket] of vector.buckets.entries()) {
        if (bucket.state) await writeStoredState(probe, keys[i]!, bucket.state);
      }
      const plan: Plan = {
        mode: vector.mode,
        buckets: vector.buckets.map((b, i) => ({ key: keys[i]!, limit: b.limit, cost: b.cost, shadow: b.shadow === true })),
      };
      const decision = await store.decideAt(plan, NOW);
      expect(decision.allowed).toBe(vector.allowed);
      for (const [i, want] of vector.expect.entries()) {
        expect(decision.buckets[i]).toEqual(expectedResult(vector, i));
        const stored = await readStoredState(probe, keys[i]!);
        const pttl = await probe.pttl(keys[i]!);
        const seeded = vector.buckets[i]!.state;
        if (want.write) {
          expect(stored).toEqual(want.write.state);
          // A first charge sets the expiry with room: the TTL, plus as much again (1 s to 1 min).
          const ttlMs = Math.ceil(want.write.ttlUs / 1000);
          const pxMs = ttlMs + Math.min(Math.max(ttlMs, 1000), 60_000);
          expect(pttl).toBeLessThanOrEqual(pxMs);
          expect(pttl).toBeGreaterThan(pxMs - 1000);
          expect(await readStoredExpiry(probe, keys[i]!)).toBe(Math.floor(NOW / 1000) + pxMs - 1);
        } else if (seeded) {
          // Not charged: the seeded state is untouched.
          expect(stored).toEqual(seeded);
        } else {
          expect(pttl).toBe(-2); // never created
        }
      }
    });
  });
});

describe('RedisStore', () => {
  const limit = tokenBucket({ capacity: 100, refillTokens: 1, periodUs: 3_600_000_000 }); // negligible refill
  let n = 0;
  const freshPlan = (cost = 1): Plan => {
    n += 1;
    const key = bucketKey('t:', limit.id, encodeIdentity('redis-store', [{ key: 'id', value: `c${n}` }]));
    return { mode: 'all_or_nothing', buckets: [{ key, limit, cost }] };
  };

  it('reads the clock with Redis TIME when no time is given', async () => {
    const plan = freshPlan(1);
    const decision = await store.decide(plan);
    const { stamp } = (await readStoredState(probe, plan.buckets[0]!.key))!;
    const [seconds, micros] = await probe.time();
    const redisNow = Number(seconds) * 1_000_000 + Number(micros);
    expect(decision.buckets[0]!.remaining).toBe(99);
    expect(redisNow - stamp).toBeGreaterThanOrEqual(0);
    expect(redisNow - stamp).toBeLessThan(5_000_000);
  });

  it('allows exactly the capacity of 150 concurrent calls on one bucket', async () => {
    const plan = freshPlan(1);
    const decisions = await Promise.all(Array.from({ length: 150 }, () => store.decide(plan)));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(100);
  });

  it('survives SCRIPT FLUSH mid-run: no error, every call counted once', async () => {
    const plan = freshPlan(1);
    const first = await Promise.all(Array.from({ length: 30 }, () => store.decide(plan)));
    await probe.script('FLUSH');
    const second = await Promise.all(Array.from({ length: 30 }, () => store.decide(plan)));
    expect([...first, ...second].every((d) => d.allowed)).toBe(true);
    expect((await store.decide({ ...plan, buckets: [{ ...plan.buckets[0]!, cost: 0 }] })).buckets[0]!.remaining).toBe(40);
  });

  it('sets an expiry only when a charge needs a later one: within it the key keeps its own (KEEPTTL)', async () => {
    const fast = tokenBucket({ capacity: 1000, refillTokens: 1000, periodUs: 1_000_000 }); // a token per ms
    const key = `expiry:${Math.random()}`;
    const charge = (cost: number, atUs: number) => store.decideAt({ mode: 'all_or_nothing', buckets: [{ key, limit: fast, cost }] }, atUs);
    const nowMs = Math.floor(NOW / 1000);
    await charge(100, NOW); // 100 ms to full: PX 100 + 1000
    const first = await probe.pttl(key);
    expect(first).toBeGreaterThan(1000);
    expect(await readStoredExpiry(probe, key)).toBe(nowMs + 1099);
    await charge(10, NOW + 50_000); // 60 ms to full, at +50 ms: well within the expiry, which stays
    expect(await probe.pttl(key)).toBeLessThanOrEqual(first);
    expect(await readStoredExpiry(probe, key)).toBe(nowMs + 1099);
    await charge(500, NOW + 1_200_000); // 500 ms to full at +1.2 s: past it, so PX 500 + 1000 again
    expect(await probe.pttl(key)).toBeGreaterThan(1400);
    expect(await readStoredExpiry(probe, key)).toBe(nowMs + 1200 + 1499);
  });

  it('resets buckets and reports how many existed', async () => {
    const plan = freshPlan(5);
    await store.decide(plan);
    expect(await store.reset([plan.buckets[0]!.key, 'no-such-key'])).toBe(1);
    expect((await store.decide({ ...plan, buckets: [{ ...plan.buckets[0]!, cost: 0 }] })).buckets[0]!.remaining).toBe(100);
  });
});

describe('RedisStore when Redis is slow, gone and back', () => {
  it('rejects with a timeout StoreError within the timeout while Redis is paused', async () => {
    const own = await startRedis();
    const quick = new RedisStore({ url: own.url, timeoutMs: 50 });
    const plan: Plan = {
      mode: 'all_or_nothing',
      buckets: [{ key: 'paused', limit: tokenBucket({ capacity: 1, refillTokens: 1, periodUs: 1_000_000 }), cost: 1 }],
    };
    try {
      await quick.ready();
      await quick.decide(plan); // script loaded
      own.pause();
      const started = performance.now();
      const error = await quick.decide(plan).then(
        () => undefined,
        (e: unknown) => e,
      );
      const took = performance.now() - started;
      expect(error).toBeInstanceOf(StoreError);
      expect((error as StoreError).kind).toBe('timeout');
      expect(took).toBeGreaterThanOrEqual(45);
      expect(took).toBeLessThan(1000);
    } finally {
      own.resume();
      await quick.close();
      await own.stop();
    }
  });

  it('fails fast as unavailable while Redis is down, then decides again after a restart with empty data (script reloaded)', async () => {
    const own = await startRedis();
    const quick = new RedisStore({ url: own.url, timeoutMs: 200 });
    const limit = tokenBucket({ capacity: 3, refillTokens: 1, periodUs: 3_600_000_000 });
    const plan: Plan = { mode: 'all_or_nothing', buckets: [{ key: 'restart', limit, cost: 1 }] };
    try {
      await quick.ready();
      expect((await quick.decide(plan)).buckets[0]!.remaining).toBe(2);
      await own.kill9();
      await waitUntil(() => quick.client.status !== 'ready', 5000);
      const error = await quick.decide(plan).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(StoreError);
      expect((error as StoreError).kind).toBe('unavailable');
      await own.restart();
      await waitUntil(() => quick.client.status === 'ready', 5000);
      // Empty data after the restart: the bucket is full again; the script was reloaded on NOSCRIPT.
      expect((await quick.decide(plan)).buckets[0]!.remaining).toBe(2);
      expect((await quick.decide(plan)).buckets[0]!.remaining).toBe(1);
    } finally {
      await quick.close();
      await own.stop();
    }
  });
});

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
