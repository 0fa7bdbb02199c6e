/**
 * Refunds (docs/token-bucket-spec.md, "Refunds") as the Express middleware uses them: a charge given
 * back is exact, also with decisions and refunds of the same bucket racing on one Redis.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedWindow, tokenBucket } from '../../src/engine/limit.js';
import type { BucketRequest, Plan } from '../../src/engine/plan.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import type { RefundableStore } from '../../src/stores/store.js';
import { type RedisStoreOnServer, startRedisStore } from '../support/redis-store.js';

// 100 tokens, refilled 1 per hour: the refill adds nothing measurable while a test runs.
const slow = tokenBucket({ capacity: 100, refillTokens: 1, periodUs: 3_600_000_000 });
const window = fixedWindow(100, 3_600_000_000);

const bucket = (key: string, limit = slow, cost = 1): BucketRequest => ({ key, limit, cost });
const plan = (b: BucketRequest): Plan => ({ mode: 'all_or_nothing', buckets: [b] });
const look = async (store: RefundableStore, b: BucketRequest) => (await store.decide(plan({ ...b, cost: 0 }))).buckets[0]!.remaining;

let redis: RedisStoreOnServer;
beforeAll(async () => {
  redis = await startRedisStore();
});
afterAll(async () => {
  await redis.stop();
});

describe.each([
  ['MemoryStore', () => new MemoryStore()],
  ['RedisStore', () => redis.store],
] as const)('%s refund', (_name, makeStore) => {
  it('gives back exactly the charge of 60 refunded decisions while 40 others stay charged, all racing', async () => {
    const store = makeStore();
    const key = `race-${Math.random()}`;
    const b = bucket(key);
    // 100 decisions at once; every one whose index is below 60 is refunded as soon as it is decided.
    await Promise.all(Array.from({ length: 100 }, (_, i) => store.decide(plan(b)).then((d) => (d.allowed && i < 60 ? store.refund([b]) : undefined))));
    expect(await look(store, b)).toBe(60);
  });

  it('never fills a token bucket past its capacity, and leaves an absent bucket absent', async () => {
    const store = makeStore();
    const b = bucket(`cap-${Math.random()}`);
    await store.decide(plan(b));
    await store.refund([b, b]); // a repeated key: its summed cost (2), given back once, capped at 100
    expect(await look(store, b)).toBe(100);
    const absent = bucket(`absent-${Math.random()}`);
    await store.refund([absent]);
    expect(await look(store, { ...absent, cost: 0 })).toBe(100);
  });

  it('lowers a fixed window count by the cost within the same window', async () => {
    const store = makeStore();
    const b = bucket(`window-${Math.random()}`, window, 3);
    await store.decide(plan(b));
    await store.decide(plan(b));
    await store.refund([b]);
    expect(await look(store, b)).toBe(97);
  });
});
