/**
 * Envoy's cost pattern on an overdraft limit (spec, "Overdraft"), under concurrency: clients each
 * check with cost 0 (the request path, `hits_addend: 0`) and then charge N (`apply_on_stream_done`),
 * many at once. Every charge must count exactly once, and a check must be denied exactly while the
 * bucket is in debt. On Redis (the Lua script), through the local over-limit cache in front of it,
 * and in memory.
 *
 * Every call is decided at one fixed time, so the refill adds exactly nothing and every level is an
 * exact integer: the outcome is exact whatever order Redis runs the calls in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenBucket } from '../../src/engine/limit.js';
import type { BucketResult, Plan } from '../../src/engine/plan.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import { OverLimitCache } from '../../src/stores/over-limit-cache.js';
import type { BucketStore } from '../../src/stores/store.js';
import { type RedisStoreOnServer, startRedisStore } from '../support/redis-store.js';
import { NOW } from '../engine/vectors.js';

const CAPACITY = 100;
const limit = tokenBucket({ capacity: CAPACITY, refillTokens: CAPACITY, periodUs: 60_000_000, overdraft: true });
const CLIENTS = 20;
const REQUESTS_PER_CLIENT = 10;
/** Response costs 1..7: their sum (about 800) is far past the capacity, so the bucket goes deep into debt. */
const costOf = (client: number, request: number) => ((client * REQUESTS_PER_CLIENT + request) % 7) + 1;

let redis: RedisStoreOnServer;
beforeAll(async () => {
  redis = await startRedisStore();
});
afterAll(() => redis.stop());

/** The RedisStore with Redis TIME replaced by NOW (as the shared vectors run the script). */
const redisAtNow = (): BucketStore => ({
  decide: (plan) => redis.store.decideAt(plan, NOW),
  reset: (keys) => redis.store.reset(keys),
  probe: () => redis.store.probe(),
  close: () => Promise.resolve(),
});

const stores: [string, () => BucketStore][] = [
  ['RedisStore', redisAtNow],
  ['OverLimitCache over RedisStore', () => new OverLimitCache(redisAtNow(), { maxEntries: 1000, clock: () => NOW })],
  ['MemoryStore', () => new MemoryStore({ clock: () => NOW })],
];

interface Call {
  cost: number;
  result: BucketResult;
}

describe.each(stores)(`%s: check with 0, then charge N, by ${CLIENTS} clients at once`, (name, makeStore) => {
  it('counts every charge exactly once and denies a check exactly while in debt', async () => {
    const store = makeStore();
    const key = `od:${name}`;
    const decide = async (cost: number): Promise<BucketResult> => {
      const plan: Plan = { mode: 'all_or_nothing', buckets: [{ key, limit, cost }] };
      return (await store.decide(plan)).buckets[0]!;
    };
    const checks: Call[] = [];
    const charges: Call[] = [];
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, client) => {
        for (let request = 0; request < REQUESTS_PER_CLIENT; request++) {
          const check = { cost: 0, result: await decide(0) };
          const cost = costOf(client, request);
          const charge = { cost, result: await decide(cost) };
          // The check came first: it saw at least what this charge found before it.
          expect(check.result.level).toBeGreaterThanOrEqual(charge.result.level + cost);
          checks.push(check);
          charges.push(charge);
        }
      }),
    );
    const total = charges.reduce((sum, c) => sum + c.cost, 0);

    // Each charge was applied once, one after another: ordered by the level each left, every level
    // is the previous one less that charge's own cost, starting from the full bucket.
    const chain = [...charges].sort((a, b) => b.result.level - a.result.level);
    let level = CAPACITY;
    for (const charge of chain) {
      level -= charge.cost;
      expect(charge.result.level).toBe(level);
      expect(charge.result.allowed).toBe(level >= 0);
    }
    expect(level).toBe(CAPACITY - total);

    // Each check saw one of those states, and was allowed exactly when it was not a debt.
    const states = new Set([CAPACITY, ...chain.map((c) => c.result.level)]);
    for (const check of checks) {
      expect(states.has(check.result.level)).toBe(true);
      expect(check.result.allowed).toBe(check.result.level >= 0);
      expect(check.result.remaining).toBe(Math.max(0, check.result.level));
    }
    // The first check (on the full bucket) passed; the last (after every other client's 9
    // charges of at least 1: 171 > 100) met a debt. So both kinds were exercised.
    expect(checks.some((c) => c.result.allowed)).toBe(true);
    expect(checks.some((c) => !c.result.allowed)).toBe(true);

    // Afterwards a look reports the whole debt, and when it will be repaid.
    const look = await decide(0);
    const debt = total - CAPACITY;
    expect(look).toEqual({
      allowed: false,
      reason: 'insufficient_tokens',
      limit: CAPACITY,
      remaining: 0,
      level: -debt,
      resetUs: total * 600_000,
      retryUs: debt * 600_000,
    });
    await store.close();
  });
});
