/**
 * Decisions queued together share ONE script call (src/stores/redis/decide-batch.ts): each plan is
 * decided as if it had been sent alone, in queue order, all-or-nothing; its caller gets its own
 * answer; a plan that cannot be decided fails alone; a call that is lost fails every plan in it
 * and is never sent again.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedWindow, tokenBucket } from '../../src/engine/limit.js';
import type { ChargeMode, Decision, Plan } from '../../src/engine/plan.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import { MAX_KEYS, MAX_PLANS } from '../../src/stores/redis/decide-batch.js';
import { decideScriptArguments, runDecideScript, type ScriptPlan } from '../../src/stores/redis/decide-script.js';
import { RedisStore } from '../../src/stores/redis/redis-store.js';
import { StoreError } from '../../src/stores/store.js';
import { type RedisProcess, startRedis } from '../support/redis-server.js';
import { startRedisStore } from '../support/redis-store.js';
import { scriptCalls as scriptCallsIn } from '../support/script-calls.js';
import { readStoredExpiry, readStoredState, replyOf } from '../support/stored-state.js';

const NOW = 1_700_000_000_000_000;
const LIMITS = [
  tokenBucket({ capacity: 5, refillTokens: 4, periodUs: 1_000_000 }),
  tokenBucket({ capacity: 3, refillTokens: 1, periodUs: 3_000_000, overdraft: true }),
  fixedWindow(4, 1_000_000),
] as const;

let redis: RedisProcess;
let store: RedisStore;
let stop: () => Promise<void>;

beforeAll(async () => {
  ({ server: redis, store, stop } = await startRedisStore());
});
afterAll(() => stop());

/** Script calls Redis ran so far (test/support/script-calls.ts). */
async function scriptCalls(): Promise<number> {
  return scriptCallsIn(String(await redis.command('INFO', 'commandstats')));
}

/** Decides all plans at NOW in one turn of the event loop (so they queue together); counts the script calls. */
async function decideTogether(plans: readonly Plan[]): Promise<{ outcomes: PromiseSettledResult<Decision>[]; calls: number }> {
  const before = await scriptCalls();
  const outcomes = await Promise.allSettled(plans.map((plan) => store.decideAt(plan, NOW)));
  return { outcomes, calls: (await scriptCalls()) - before };
}

let run = 0;

describe('a batch of plans in one script call', () => {
  it('decides like the same plans one after another (MemoryStore at the same time), in two calls, on random plans', async () => {
    const bucket = fc.record({
      key: fc.integer({ min: 0, max: 3 }),
      limit: fc.integer({ min: 0, max: 2 }),
      cost: fc.integer({ min: 0, max: 4 }),
      shadow: fc.boolean(),
    });
    const plan = fc.record({ mode: fc.constantFrom<ChargeMode>('all_or_nothing', 'independent'), buckets: fc.array(bucket, { minLength: 1, maxLength: 4 }) });
    // `again`: a caller with the previous plan's buckets (its own objects), so runs of repeats (sent as `=`) occur.
    const step = fc.oneof(plan, fc.constant('again' as const));
    await fc.assert(
      fc.asyncProperty(plan, fc.array(step, { minLength: 1, maxLength: 29 }), async (firstPlan, steps) => {
        run += 1;
        const drawn = [firstPlan];
        for (const s of steps) drawn.push(s === 'again' ? drawn[drawn.length - 1]! : s);
        // A key holds one limit (its id is part of real keys), so the key names its limit.
        const plans: Plan[] = drawn.map(({ mode, buckets }) => ({
          mode,
          buckets: buckets.map((b) => ({ key: `batch:${run}:${b.key}:${b.limit}`, limit: LIMITS[b.limit]!, cost: b.cost, shadow: b.shadow })),
        }));
        const memory = new MemoryStore({ clock: () => NOW });
        try {
          const expected = plans.map((p) => memory.decideNow(p));
          const { outcomes, calls } = await decideTogether(plans);
          expect(calls).toBe(2); // an idle queue goes as two halves
          expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value : o.reason))).toEqual(expected);
          // And the stored states are the ones the sequence left: a look at every key agrees.
          const keys = [...new Set(plans.flatMap((p) => p.buckets.map((b) => `${b.key}|${LIMITS.indexOf(b.limit as (typeof LIMITS)[number])}`)))];
          const looks: Plan[] = keys.map((k) => {
            const [key, limit] = k.split('|') as [string, string];
            return { mode: 'all_or_nothing', buckets: [{ key, limit: LIMITS[Number(limit)]!, cost: 0 }] };
          });
          expect(await Promise.all(looks.map((p) => store.decideAt(p, NOW)))).toEqual(looks.map((p) => memory.decideNow(p)));
        } finally {
          await memory.close();
        }
      }),
      { numRuns: 60 },
    );
  });

  it(`sends at most ${MAX_PLANS} plans and ${MAX_KEYS} keys per call`, async () => {
    run += 1;
    const limit = LIMITS[0];
    const small = Array.from({ length: 150 }, (_, i): Plan => ({ mode: 'all_or_nothing', buckets: [{ key: `cap:${run}:${i}`, limit, cost: 1 }] }));
    expect((await decideTogether(small)).calls).toBe(3); // halves of 75, each at most 64: 64 + 64 + 22
    const wide = Array.from(
      { length: 3 },
      (_, p): Plan => ({
        mode: 'all_or_nothing',
        buckets: Array.from({ length: 100 }, (_, b) => ({ key: `wide:${run}:${p}:${b}`, limit, cost: 1 })),
      }),
    );
    const { outcomes, calls } = await decideTogether(wide);
    expect(calls).toBe(2); // 200 keys, then 100
    expect(outcomes.every((o) => o.status === 'fulfilled' && o.value.allowed)).toBe(true);
  });

  it('a plan whose key holds something else fails alone: the plans beside it are decided and charged', async () => {
    run += 1;
    const limit = LIMITS[0];
    const probe = redis.client();
    await probe.rpush(`odd:${run}:list`, 'not a bucket');
    const plans: Plan[] = ['a', 'list', 'b', 'c', 'd'].map((name) => ({ mode: 'all_or_nothing', buckets: [{ key: `odd:${run}:${name}`, limit, cost: 2 }] }));
    const { outcomes, calls } = await decideTogether(plans);
    expect(calls).toBe(2); // a, list, b; then c, d
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
    const error = (outcomes[1] as PromiseRejectedResult).reason as StoreError;
    expect(error).toBeInstanceOf(StoreError);
    expect(error.kind).toBe('failed');
    expect(error.message).toMatch(/^redis: WRONGTYPE/);
    expect(await readStoredState(probe, `odd:${run}:a`)).toEqual({ level: 3, stamp: NOW });
    expect(await readStoredState(probe, `odd:${run}:b`)).toEqual({ level: 3, stamp: NOW });
    expect(await probe.lrange(`odd:${run}:list`, 0, -1)).toEqual(['not a bucket']);
  });

  it('an idle queue goes as two calls of half each, which Redis answers apart; a lone plan as one', async () => {
    run += 1;
    const limit = LIMITS[0];
    const plans = (n: number) =>
      Array.from({ length: n }, (_, i): Plan => ({ mode: 'all_or_nothing', buckets: [{ key: `halves:${run}:${n}:${i}`, limit, cost: 1 }] }));
    expect((await decideTogether(plans(1))).calls).toBe(1);
    expect((await decideTogether(plans(2))).calls).toBe(2);
    expect((await decideTogether(plans(64))).calls).toBe(2);
    expect((await decideTogether(plans(129))).calls).toBe(3); // halves of 65, each at most 64: 64 + 64 + 1
  });

  it('callers of the same buckets one after another are sent as `=` and decided in turn: exactly 5 of 9 allowed', async () => {
    run += 1;
    const limit = LIMITS[0]; // 5 tokens
    const buckets = () => [
      { key: `again:${run}:a`, limit, cost: 1 },
      { key: `again:${run}:b`, limit: LIMITS[2], cost: 1, shadow: true },
    ];
    const plans = Array.from({ length: 9 }, (): Plan => ({ mode: 'all_or_nothing', buckets: buckets() }));
    const scriptPlans = plans.map((p) => ({ mode: 'a' as const, buckets: p.buckets }));
    // One header and two keys, then eight repeats.
    expect(decideScriptArguments(scriptPlans.slice(0, 5), NOW)).toEqual([
      2,
      `again:${run}:a`,
      `again:${run}:b`,
      String(NOW),
      'a2',
      't-- 5 4 1000000 1',
      'fs- 4 4 1000000 1',
      '=',
      '=',
      '=',
      '=',
    ]);
    const { outcomes, calls } = await decideTogether(plans);
    expect(calls).toBe(2); // 5, then 4: the second half starts with its own header
    const decisions = outcomes.map((o) => (o as PromiseFulfilledResult<Decision>).value);
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, true, true, false, false, false, false]);
    expect(decisions.map((d) => d.buckets[0]!.remaining)).toEqual([4, 3, 2, 1, 0, 0, 0, 0, 0]);
    // The shadow window (4 a second) runs out at the 4th call; its denials do not deny, and it is charged only with the plan.
    expect(decisions.map((d) => d.buckets[1]!.remaining)).toEqual([3, 2, 1, 0, 0, 0, 0, 0, 0]);
    const probe = redis.client();
    expect(await readStoredState(probe, `again:${run}:a`)).toEqual({ level: 0, stamp: NOW });
  });

  it('a plan differing from the one before in any of mode, key, limit, cost or shadow is sent whole', () => {
    const limit = LIMITS[0];
    const base = { mode: 'a' as const, buckets: [{ key: 'k', limit, cost: 1 }] };
    const variants = [
      { ...base, mode: 'i' as const },
      { ...base, buckets: [{ key: 'other', limit, cost: 1 }] },
      { ...base, buckets: [{ key: 'k', limit: tokenBucket({ capacity: 5, refillTokens: 4, periodUs: 1_000_000 }), cost: 1 }] },
      { ...base, buckets: [{ key: 'k', limit, cost: 2 }] },
      { ...base, buckets: [{ key: 'k', limit, cost: 1, shadow: true }] },
      {
        ...base,
        buckets: [
          { key: 'k', limit, cost: 1 },
          { key: 'k', limit, cost: 1 },
        ],
      },
    ];
    for (const variant of variants) expect(decideScriptArguments([base, variant]).filter((arg) => arg === '=')).toEqual([]);
    expect(decideScriptArguments([base, { ...base, buckets: [{ key: 'k', limit, cost: 1, shadow: false }] }]).filter((arg) => arg === '=')).toEqual(['=']);
  });

  it('repeated refunds in one call each give back their cost', async () => {
    run += 1;
    const limit = LIMITS[0];
    const key = `again-refund:${run}`;
    await store.decideAt({ mode: 'all_or_nothing', buckets: [{ key, limit, cost: 4 }] }, NOW); // 1 left
    const refund = () => ({ mode: 'r' as const, buckets: [{ key, limit, cost: 1 }] });
    expect(decideScriptArguments([refund(), refund(), refund()], NOW).slice(-3)).toEqual(['t-- 5 4 1000000 1', '=', '=']);
    expect(await runDecideScript(store.client, [refund(), refund(), refund()], NOW)).toEqual(replyOf(NOW, [1, 1, 1]));
    expect(await readStoredState(redis.client(), key)).toEqual({ level: 4, stamp: NOW });
  });

  it("sets a key's expiry once per call, from its last state: after two charges, and after a charge and a refund", async () => {
    run += 1;
    const probe = redis.client();
    const limit = tokenBucket({ capacity: 100, refillTokens: 1, periodUs: 1_000_000 }); // a token back per second
    const charge = (key: string, cost: number): ScriptPlan => ({ mode: 'a', buckets: [{ key, limit, cost }] });
    const nowMs = Math.floor(NOW / 1000);
    // 100 − 10 − 20 = 70: full again in 30 s, so PX 30 s + 30 s of slack (spec, step 6); the first charge alone needs 10 s.
    const charged = `expiry-charged:${run}`;
    await runDecideScript(store.client, [charge(charged, 10), charge(charged, 20)], NOW);
    expect(await readStoredExpiry(probe, charged)).toBe(nowMs + 60_000 - 1);
    expect(await probe.pttl(charged)).toBeGreaterThan(59_000);
    // 100 − 30 + 20 = 90: full in 10 s, so PX 20 s, not the 60 s the charge alone would set.
    const refunded = `expiry-refunded:${run}`;
    await runDecideScript(store.client, [charge(refunded, 30), { mode: 'r', buckets: [{ key: refunded, limit, cost: 20 }] }], NOW);
    expect(await readStoredState(probe, refunded)).toEqual({ level: 90, stamp: NOW });
    expect(await readStoredExpiry(probe, refunded)).toBe(nowMs + 20_000 - 1);
    const pttl = await probe.pttl(refunded);
    expect(pttl).toBeLessThanOrEqual(20_000);
    expect(pttl).toBeGreaterThan(19_000);
  });

  it('reads a bucket stored by an earlier rateguard (a hash of l and s) as its state, and stores it anew', async () => {
    run += 1;
    const probe = redis.client();
    const key = `hash:${run}`;
    await probe.hset(key, 'l', '2.5', 's', String(NOW - 250_000)); // 2.5 tokens, a quarter second ago: 3.5 now
    const decision = await store.decideAt({ mode: 'all_or_nothing', buckets: [{ key, limit: LIMITS[0], cost: 1 }] }, NOW);
    expect(decision.buckets[0]!.level).toBe(2.5);
    expect(await readStoredState(probe, key)).toEqual({ level: 2.5, stamp: NOW });
  });
});

describe('the window of a call in flight', () => {
  it('plans queued by separate callbacks while a call is in flight join one call at the end of the turn', async () => {
    const own = await startRedis();
    const quick = new RedisStore({ url: own.url, timeoutMs: 5000 });
    const limit = tokenBucket({ capacity: 10, refillTokens: 1, periodUs: 3_600_000_000 });
    const plan = (i: number): Plan => ({ mode: 'all_or_nothing', buckets: [{ key: `window:${i}`, limit, cost: 1 }] });
    const calls = async () => scriptCallsIn(String(await own.command('INFO', 'commandstats')));
    try {
      await quick.ready();
      await quick.decide(plan(-1)); // the library loaded: one call per batch from here on
      const before = await calls();
      // A first call goes out at once; Redis, paused, leaves it unanswered, so it stays in flight.
      own.pause();
      const first = quick.decide(plan(0));
      // Ten decisions, each from a callback of its own (as a sidecar reads each stream in its own
      // callback), all in one turn of the event loop: immediates queued together run in one check
      // phase. (Zero-ms timers may not: each reads the clock when it is set, so a busy machine
      // spreads them over two turns.)
      const later = await new Promise<Promise<Decision>[]>((resolve) => {
        const issued: Promise<Decision>[] = [];
        for (let i = 1; i <= 10; i++) setImmediate(() => issued.push(quick.decide(plan(i))));
        setImmediate(() => resolve(issued));
      });
      own.resume();
      const decisions = await Promise.all([first, ...later]);
      expect(decisions.map((d) => d.buckets[0]!.remaining)).toEqual(decisions.map(() => 9));
      expect((await calls()) - before).toBe(2);
    } finally {
      own.resume();
      await quick.close();
      await own.stop();
    }
  });
});

describe('a batch lost with Redis', () => {
  it('fails every plan in it, and is never sent again: after Redis resumes each bucket holds exactly one charge', async () => {
    const own = await startRedis();
    const quick = new RedisStore({ url: own.url, timeoutMs: 100 });
    const limit = tokenBucket({ capacity: 10, refillTokens: 1, periodUs: 3_600_000_000 });
    const plans = Array.from({ length: 20 }, (_, i): Plan => ({ mode: 'all_or_nothing', buckets: [{ key: `lost:${i}`, limit, cost: 1 }] }));
    try {
      await quick.ready();
      await quick.decide({ mode: 'all_or_nothing', buckets: [{ key: 'warm', limit, cost: 0 }] }); // script loaded
      own.pause();
      const outcomes = await Promise.allSettled(plans.map((plan) => quick.decide(plan)));
      expect(outcomes.map((o) => (o.status === 'rejected' && o.reason instanceof StoreError ? o.reason.kind : o.status))).toEqual(plans.map(() => 'timeout'));
      own.resume();
      // Looks on the same connection, so Redis reads them after the lost call.
      const looks = plans.map((plan): Plan => ({ ...plan, buckets: [{ ...plan.buckets[0]!, cost: 0 }] }));
      const left = (await Promise.all(looks.map((look) => quick.decide(look)))).map((d) => d.buckets[0]!.remaining);
      expect(left).toEqual(plans.map(() => 9));
    } finally {
      own.resume();
      await quick.close();
      await own.stop();
    }
  });
});
