/**
 * A plan that names the same bucket twice (two descriptors of one request resolving to one key)
 * is charged for every hit, as envoyproxy/ratelimit counts them: the spec's "Deciding a plan",
 * step 1. On Redis (the Lua script) and in memory (the TypeScript twin).
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BucketState } from '../../src/engine/bucket-math.js';
import { bucketKey, encodeIdentity } from '../../src/engine/keys.js';
import { tokenBucket } from '../../src/engine/limit.js';
import type { Plan } from '../../src/engine/plan.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import { runDecideScript } from '../../src/stores/redis/decide-script.js';
import { RedisStore } from '../../src/stores/redis/redis-store.js';
import type { BucketStore } from '../../src/stores/store.js';
import { type RedisProcess, startRedis } from '../support/redis-server.js';
import { expectedResult, NOW, REFUND_VECTORS, REPEATED_KEY_VECTORS, type VectorBucket, vectorKeys, vectorPlan } from '../engine/vectors.js';
import { readStoredState, replyOf, writeStoredState } from '../support/stored-state.js';

let redis: RedisProcess;
let redisStore: RedisStore;
let memoryStore: MemoryStore;
let probe: Redis;

beforeAll(async () => {
  redis = await startRedis();
  redisStore = new RedisStore({ url: redis.url, timeoutMs: 2000 });
  await redisStore.ready();
  memoryStore = new MemoryStore();
  probe = redis.client();
});
afterAll(async () => {
  await memoryStore.close();
  await redisStore.close();
  await redis.stop();
});

const stores: [string, () => BucketStore][] = [
  ['RedisStore', () => redisStore],
  ['MemoryStore', () => memoryStore],
];

describe.each(stores)('%s: one key twice in a plan', (_name, store) => {
  // Capacity 5 with a negligible refill (5 per hour), so the wall clock does not matter.
  const limit = tokenBucket({ capacity: 5, refillTokens: 5, periodUs: 3_600_000_000 });
  let n = 0;
  /** Descriptors `[user=a]` hits h1, `[user=a]` hits h2, ... of a fresh identity: one key. */
  const sameUserHits = (...hits: number[]): Plan => {
    n += 1;
    const key = bucketKey('rk:', limit.id, encodeIdentity(`repeated-${_name}`, [{ key: 'user', value: `a${n}` }]));
    return { mode: 'all_or_nothing', buckets: hits.map((cost) => ({ key, limit, cost })) };
  };
  const peek = async (plan: Plan) => (await store().decide({ ...plan, buckets: [{ ...plan.buckets[0]!, cost: 0 }] })).buckets[0]!.remaining;

  it('hits 5 + hits 1 on capacity 5: a cost of 6, denied for both and charged nothing', async () => {
    const plan = sameUserHits(5, 1);
    const decision = await store().decide(plan);
    const denied = { allowed: false, reason: 'cost_exceeds_capacity', limit: 5, remaining: 5, level: 5, resetUs: 0, retryUs: -1 };
    expect(decision).toEqual({ allowed: false, buckets: [denied, denied] });
    expect(await peek(plan)).toBe(5);
  });

  it('hits 2 + hits 3 on capacity 5: both allowed, and the bucket is empty after them', async () => {
    const plan = sameUserHits(2, 3);
    const decision = await store().decide(plan);
    expect(decision.allowed).toBe(true);
    expect(decision.buckets.map((b) => [b.allowed, b.remaining])).toEqual([
      [true, 0],
      [true, 0],
    ]);
    expect(await peek(plan)).toBe(0);
  });
});

/** Writes each vector bucket's seeded state under its key (a repeated key's is on its first bucket). */
async function seed(buckets: readonly VectorBucket[], keys: readonly string[]): Promise<void> {
  await probe.del(...keys);
  for (const [i, bucket] of buckets.entries()) {
    if (bucket.state) await writeStoredState(probe, keys[i]!, bucket.state);
  }
}

const storedState = (key: string): Promise<BucketState | undefined> => readStoredState(probe, key);

describe('the Lua script on the repeated-key vectors', () => {
  REPEATED_KEY_VECTORS.forEach((vector, v) => {
    it(vector.name, async () => {
      const plan = vectorPlan(vector, `rkv:${v}:`);
      const keys = plan.buckets.map((b) => b.key);
      await seed(vector.buckets, keys);
      const decision = await redisStore.decideAt(plan, NOW);
      expect(decision).toEqual({ allowed: vector.allowed, buckets: vector.buckets.map((_, i) => expectedResult(vector, i)) });
      // One state per key: written at its first bucket, or else the seeded one (or none), untouched.
      for (const [i, key] of keys.entries()) {
        if (keys.indexOf(key) !== i) continue;
        const write = vector.expect[i]!.write;
        expect(await storedState(key)).toEqual(write?.state ?? vector.buckets[i]!.state);
        if (write) expect(await probe.pttl(key)).toBeGreaterThan(Math.ceil(write.ttlUs / 1000) - 1000);
      }
    });
  });
});

describe('the Lua script on the repeated-key refund vectors (mode r)', () => {
  REFUND_VECTORS.forEach((vector, v) => {
    it(vector.name, async () => {
      const prefix = `rfv:${v}:`;
      const keys = vectorKeys(vector.buckets, prefix);
      await seed(vector.buckets, keys);
      const buckets = vector.buckets.map((b, i) => ({ key: keys[i]!, limit: b.limit, cost: b.cost }));
      // The reply: the time, then one status byte, 1 (a refund answers nothing else).
      expect(await runDecideScript(redisStore.client, [{ mode: 'r', buckets }], NOW)).toEqual(replyOf(NOW, [1]));
      for (const [name, state] of Object.entries(vector.after)) expect(await storedState(`${prefix}${name}`)).toEqual(state);
    });
  });
});
