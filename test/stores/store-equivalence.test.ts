/**
 * Property: random schedules of charges, peeks and elapsed time give the same decisions on
 * MemoryStore, RedisStore (the Lua script) and a tiny reference model in exact integer arithmetic,
 * in both charge modes. A plan names a token bucket and a fixed window any number of times, in any
 * order: a key named more than once is one bucket charged for the sum of its costs (spec,
 * "Deciding a plan", step 1). A third key is the same token bucket with overdraft: every charge is
 * applied, into debt if need be (spec, "Overdraft").
 * Times are multiples of 62.5 ms and the bucket refills 4 tokens/s, so every token count is a
 * multiple of 1/4: exact in floating point too, so the model may use plain integers (quarters).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fixedWindow, tokenBucket } from '../../src/engine/limit.js';
import type { ChargeMode, Plan } from '../../src/engine/plan.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import { type RedisStoreOnServer, startRedisStore } from '../support/redis-store.js';

const START = 1_700_000_000_000_000; // a multiple of 62_500 and of the 1 s window
const STEP_US = 62_500;
const bucket = tokenBucket({ capacity: 5, refillTokens: 4, periodUs: 1_000_000 });
const window = fixedWindow(3, 1_000_000);
const debt = tokenBucket({ capacity: 5, refillTokens: 4, periodUs: 1_000_000, overdraft: true });

type Target = 'bucket' | 'window' | 'debt';

/** One bucket of a plan: which of the two keys, and its cost. */
interface Entry {
  target: Target;
  cost: number;
}

interface Step {
  advanceSteps: number;
  entries: Entry[];
}

/** What a step asks of one key: the costs of its entries, summed; undefined when it names it not. */
function costOf(step: Step, target: Target): number | undefined {
  return step.entries.reduce<number | undefined>((sum, entry) => (entry.target === target ? (sum ?? 0) + entry.cost : sum), undefined);
}

/** A token bucket of capacity 5 refilling 4/s, in quarter tokens (one per STEP_US). */
class QuarterBucket {
  private quarters: number | undefined;
  private stampUs = 0;

  refilled(nowUs: number): number {
    return this.quarters === undefined ? 20 : Math.min(20, this.quarters + (nowUs - this.stampUs) / STEP_US);
  }

  set(nowUs: number, quarters: number): void {
    this.quarters = quarters;
    this.stampUs = nowUs;
  }
}

/** The reference model: the spec restated in integers. */
class Model {
  private readonly bucket = new QuarterBucket();
  private readonly debt = new QuarterBucket();
  private count = 0;
  private windowStart = -1;

  constructor(private readonly mode: ChargeMode) {}

  decide(nowUs: number, step: Step): { allowed: boolean; left: Record<Target, number> } {
    // A key the plan does not name is neither decided nor charged.
    const bucketCost = costOf(step, 'bucket');
    const windowCost = costOf(step, 'window');
    const debtCost = costOf(step, 'debt');
    const refilled = this.bucket.refilled(nowUs);
    const debtRefilled = this.debt.refilled(nowUs);
    const start = Math.floor(nowUs / 1_000_000) * 1_000_000;
    const count = start === this.windowStart ? this.count : 0;
    const bucketOk = bucketCost === undefined || (bucketCost <= 5 && refilled >= bucketCost * 4);
    const windowOk = windowCost === undefined || (windowCost <= 3 && count + windowCost <= 3);
    // Overdraft: no cost is refused for good; a debt (below 0) denies every cost, 0 too.
    const debtOk = debtCost === undefined || debtRefilled >= debtCost * 4;
    const allowed = bucketOk && windowOk && debtOk;
    // Independent mode charges an allowing bucket and counts every hit of a window.
    const chargeBucket = this.mode === 'all_or_nothing' ? allowed : bucketOk;
    const chargeWindow = this.mode === 'all_or_nothing' ? allowed : true;
    let quarters = refilled;
    let counted = count;
    if (chargeBucket && bucketCost !== undefined && bucketCost > 0) {
      quarters = refilled - bucketCost * 4;
      this.bucket.set(nowUs, quarters);
    }
    // Overdraft: charged whatever anything answered.
    let debtQuarters = debtRefilled;
    if (debtCost !== undefined && debtCost > 0) {
      debtQuarters = debtRefilled - debtCost * 4;
      this.debt.set(nowUs, debtQuarters);
    }
    if (chargeWindow && windowCost !== undefined && windowCost > 0) {
      counted = count + windowCost;
      this.count = counted;
      this.windowStart = start;
    }
    return { allowed, left: { bucket: Math.floor(quarters / 4), window: Math.max(0, 3 - counted), debt: Math.max(0, Math.floor(debtQuarters / 4)) } };
  }
}

let redis: RedisStoreOnServer;
beforeAll(async () => {
  redis = await startRedisStore();
});
afterAll(() => redis.stop());

let run = 0;
it('MemoryStore, RedisStore and the reference model agree on random schedules, keys repeated or not', async () => {
  const entry = fc.oneof(
    fc.record({ target: fc.constant<Target>('bucket'), cost: fc.integer({ min: 0, max: 6 }) }),
    fc.record({ target: fc.constant<Target>('window'), cost: fc.integer({ min: 0, max: 4 }) }),
    fc.record({ target: fc.constant<Target>('debt'), cost: fc.integer({ min: 0, max: 8 }) }),
  );
  const step = fc.record({ advanceSteps: fc.integer({ min: 0, max: 24 }), entries: fc.array(entry, { minLength: 1, maxLength: 4 }) });
  const mode = fc.constantFrom<ChargeMode>('all_or_nothing', 'independent');
  await fc.assert(
    fc.asyncProperty(mode, fc.array(step, { minLength: 1, maxLength: 40 }), async (chargeMode, steps) => {
      run += 1;
      let now = START;
      const memory = new MemoryStore({ clock: () => now });
      const model = new Model(chargeMode);
      const limits = { bucket, window, debt };
      const plan = (s: Step): Plan => ({
        mode: chargeMode,
        buckets: s.entries.map(({ target, cost }) => ({ key: `eq:${run}:${target}`, limit: limits[target], cost })),
      });
      try {
        for (const s of steps) {
          now += s.advanceSteps * STEP_US;
          const fromMemory = memory.decideNow(plan(s));
          const fromRedis = await redis.store.decideAt(plan(s), now);
          const fromModel = model.decide(now, s);
          expect(fromRedis).toEqual(fromMemory);
          expect({ allowed: fromMemory.allowed, left: fromMemory.buckets.map((b) => b.remaining) }).toEqual({
            allowed: fromModel.allowed,
            left: s.entries.map((e) => fromModel.left[e.target]),
          });
        }
      } finally {
        await memory.close();
      }
    }),
    { numRuns: 150 },
  );
});
