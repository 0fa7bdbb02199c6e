import { afterEach, describe, expect, it } from 'vitest';
import { tokenBucket } from '../../src/engine/limit.js';
import type { Plan } from '../../src/engine/plan.js';
import type { BreakerState } from '../../src/stores/circuit-breaker.js';
import { type FailureMode, FailureModeStore } from '../../src/stores/failure-mode-store.js';
import { RedisStore } from '../../src/stores/redis/redis-store.js';
import { StoreError } from '../../src/stores/store.js';
import { startRedis } from '../support/redis-server.js';

const limit = tokenBucket({ capacity: 4, refillTokens: 1, periodUs: 3_600_000_000 });
const plan = (key = 'k'): Plan => ({ mode: 'all_or_nothing', buckets: [{ key, limit, cost: 1 }] });

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A FailureModeStore over a real Redis that is already dead, and its breaker's transitions. */
async function overDeadRedis(mode: FailureMode, extra: { localShare?: number; breakerThreshold?: number } = {}) {
  const redis = await startRedis();
  const inner = new RedisStore({ url: redis.url, timeoutMs: 100 });
  await inner.ready(5000);
  const changes: BreakerState[] = [];
  const waiters: (() => void)[] = [];
  const store = new FailureModeStore(inner, {
    mode,
    breakerThreshold: extra.breakerThreshold ?? 3,
    breakerProbeIntervalMs: 50,
    ...(extra.localShare === undefined ? {} : { localShare: extra.localShare }),
    onBreakerChange: (state) => {
      changes.push(state);
      for (const w of waiters.splice(0)) w();
    },
  });
  cleanups.push(async () => {
    await store.close();
    await redis.stop();
  });
  await redis.kill9();
  const nextChange = () => new Promise<void>((resolve) => waiters.push(resolve));
  return { redis, store, changes, nextChange, inner };
}

describe('FailureModeStore', () => {
  it('error: rejects with the StoreError (the sidecar answers UNAVAILABLE)', async () => {
    const { store } = await overDeadRedis('error');
    await expect(store.decide(plan())).rejects.toBeInstanceOf(StoreError);
  });

  it('allow / deny: answers every bucket allowed / denied, marked as a failure-mode decision', async () => {
    const allow = await overDeadRedis('allow');
    expect(await allow.store.decide(plan())).toMatchObject({ allowed: true, source: 'failure_mode' });
    const deny = await overDeadRedis('deny');
    const denied = await deny.store.decide(plan());
    expect(denied).toMatchObject({ allowed: false, source: 'failure_mode' });
    expect(denied.buckets[0]).toMatchObject({ allowed: false, remaining: 0, retryUs: 1_000_000 });
  });

  it('local: decides in process with each limit divided by the share', async () => {
    const { store } = await overDeadRedis('local', { localShare: 2 });
    const outcomes = [];
    for (let i = 0; i < 4; i++) outcomes.push((await store.decide(plan('local'))).allowed);
    expect(outcomes).toEqual([true, true, false, false]); // 4 / 2 sidecars = 2 here
  });

  it('local: a share never holds less than one request: 5/min over 10 sidecars admits one, then one per 2 minutes', async () => {
    const { store } = await overDeadRedis('local', { localShare: 10 });
    const fivePerMinute = tokenBucket({ capacity: 5, refillTokens: 5, periodUs: 60_000_000 });
    const once = (): Plan => ({ mode: 'all_or_nothing', buckets: [{ key: 'five', limit: fivePerMinute, cost: 1 }] });
    const first = await store.decide(once());
    expect(first).toMatchObject({ allowed: true, source: 'failure_mode' });
    // The burst is one token (not 0.5), and it refills at 0.5/min: 5/min ÷ 10.
    expect(first.buckets[0]).toMatchObject({ allowed: true, limit: 1, remaining: 0 });
    const second = await store.decide(once());
    expect(second).toMatchObject({ allowed: false, source: 'failure_mode' });
    // Denied with a time to retry (Retry-After): one token takes 120 s at 0.5 per minute.
    expect(second.buckets[0]!.retryUs).toBeGreaterThan(119_000_000);
    expect(second.buckets[0]!.retryUs).toBeLessThanOrEqual(120_000_000);
    // A limit of 0 (requests_per_unit: 0) still blocks everything: the floor is for shares, not for blocks.
    const blocked = tokenBucket({ capacity: 0, refillTokens: 1, periodUs: 60_000_000 }); // as src/config/limits.ts builds it
    expect((await store.decide({ mode: 'all_or_nothing', buckets: [{ key: 'zero', limit: blocked, cost: 1 }] })).allowed).toBe(false);
  });

  it('opens the breaker after the threshold, answers at once while open, and closes when Redis is back', async () => {
    const { store, changes, nextChange, redis } = await overDeadRedis('allow', { breakerThreshold: 3 });
    const opened = nextChange();
    for (let i = 0; i < 3; i++) await store.decide(plan());
    await opened;
    expect(changes).toEqual(['open']);
    const started = performance.now();
    for (let i = 0; i < 100; i++) expect((await store.decide(plan())).source).toBe('failure_mode');
    // No waiting on a dead Redis: 100 calls would take 10 s at the 100 ms timeout.
    expect(performance.now() - started).toBeLessThan(2000);
    const closed = nextChange();
    await redis.restart();
    await closed;
    expect(changes).toEqual(['open', 'closed']);
    expect((await store.decide(plan())).source).toBeUndefined();
  });
});
