/**
 * Property: random schedules of charges, peeks and elapsed time give the same decisions on
 * MemoryStore, RedisStore (the Lua script) and a tiny reference model in exact integer arithmetic.
 * Times are multiples of 62.5 ms and the bucket refills 4 tokens/s, so every token count is a
 * multiple of 1/4: exact in floating point too, so the model may use plain integers (quarters).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fixedWindow, tokenBucket } from '../../src/engine/limit.js';
import type { Plan } from '../../src/engine/plan.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import { RedisStore } from '../../src/stores/redis/redis-store.js';
import { type RedisProcess, startRedis } from '../support/redis-server.js';

const START = 1_700_000_000_000_000; // a multiple of 62_500 and of the 1 s window
const STEP_US = 62_500;
const bucket = tokenBucket({ capacity: 5, refillTokens: 4, periodUs: 1_000_000 });
const window = fixedWindow(3, 1_000_000);

interface Step {
  advanceSteps: number;
  bucketCost: number;
  windowCost: number;
}

/** The reference model: the spec restated in integers. */
class Model {
  private quarters: number | undefined;
  private stampUs = 0;
  private count = 0;
  private windowStart = -1;

  decide(nowUs: number, step: Step): { allowed: boolean; bucketLeft: number; windowLeft: number } {
    const refilled = this.quarters === undefined ? 20 : Math.min(20, this.quarters + (nowUs - this.stampUs) / STEP_US);
    const start = Math.floor(nowUs / 1_000_000) * 1_000_000;
    const count = start === this.windowStart ? this.count : 0;
    const bucketOk = step.bucketCost <= 5 && refilled >= step.bucketCost * 4;
    const windowOk = step.windowCost <= 3 && count + step.windowCost <= 3;
    const allowed = bucketOk && windowOk;
    let quarters = refilled;
    let counted = count;
    if (allowed && step.bucketCost > 0) {
      quarters = refilled - step.bucketCost * 4;
      this.quarters = quarters;
      this.stampUs = nowUs;
    }
    if (allowed && step.windowCost > 0) {
      counted = count + step.windowCost;
      this.count = counted;
      this.windowStart = start;
    }
    return { allowed, bucketLeft: Math.floor(quarters / 4), windowLeft: 3 - counted };
  }
}

let redis: RedisProcess;
let redisStore: RedisStore;
beforeAll(async () => {
  redis = await startRedis();
  redisStore = new RedisStore({ url: redis.url, timeoutMs: 2000 });
});
afterAll(async () => {
  await redisStore.close();
  await redis.stop();
});

let run = 0;
it('MemoryStore, RedisStore and the reference model agree on random schedules', async () => {
  const step = fc.record({ advanceSteps: fc.integer({ min: 0, max: 24 }), bucketCost: fc.integer({ min: 0, max: 6 }), windowCost: fc.integer({ min: 0, max: 4 }) });
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 40 }), async (steps) => {
      run += 1;
      let now = START;
      const memory = new MemoryStore({ clock: () => now });
      const model = new Model();
      const plan = (s: Step): Plan => ({
        mode: 'all_or_nothing',
        buckets: [
          { key: `eq:${run}:tb`, limit: bucket, cost: s.bucketCost },
          { key: `eq:${run}:fw`, limit: window, cost: s.windowCost },
        ],
      });
      try {
        for (const s of steps) {
          now += s.advanceSteps * STEP_US;
          const fromMemory = memory.decideNow(plan(s));
          const fromRedis = await redisStore.decideAt(plan(s), now);
          const fromModel = model.decide(now, s);
          expect(fromRedis).toEqual(fromMemory);
          expect({ allowed: fromMemory.allowed, bucketLeft: fromMemory.buckets[0]!.remaining, windowLeft: fromMemory.buckets[1]!.remaining }).toEqual(fromModel);
        }
      } finally {
        await memory.close();
      }
    }),
    { numRuns: 150 },
  );
});
