/**
 * RedisStore through Redis Sentinel (one master, one replica, three sentinels): exactness, and a
 * master failover under load — callers see StoreErrors (the failure mode's input) only while the
 * failover lasts, and replicated charges survive it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenBucket } from '../../src/engine/limit.js';
import type { Plan } from '../../src/engine/plan.js';
import { RedisStore } from '../../src/stores/redis/redis-store.js';
import { StoreError } from '../../src/stores/store.js';
import { type RedisSentinelHandle, startRedisSentinel } from '../support/redis-sentinel.js';

const limit = tokenBucket({ capacity: 100_000, refillTokens: 1, periodUs: 3_600_000_000 });
const plan = (key: string, cost = 1): Plan => ({ mode: 'all_or_nothing', buckets: [{ key, limit, cost }] });

let sentinel: RedisSentinelHandle;
let urls: string;
beforeAll(async () => {
  sentinel = await startRedisSentinel();
  urls = sentinel.sentinels.map((s) => `redis://${s.host}:${s.port}`).join(',');
});
afterAll(async () => {
  await sentinel.stop();
});

describe('RedisStore in sentinel mode', () => {
  it('allows exactly the capacity of concurrent calls', async () => {
    const store = new RedisStore({ url: urls, mode: 'sentinel', sentinelName: sentinel.masterName, timeoutMs: 2000 });
    try {
      await store.ready(10_000);
      const small = tokenBucket({ capacity: 100, refillTokens: 1, periodUs: 3_600_000_000 });
      const decisions = await Promise.all(
        Array.from({ length: 300 }, () => store.decide({ mode: 'all_or_nothing', buckets: [{ key: 'exact', limit: small, cost: 1 }] })),
      );
      expect(decisions.filter((d) => d.allowed)).toHaveLength(100);
    } finally {
      await store.close();
    }
  });

  it('continues after a master failover: errors only during it, replicated charges kept', async () => {
    const store = new RedisStore({ url: urls, mode: 'sentinel', sentinelName: sentinel.masterName, timeoutMs: 200 });
    try {
      await store.ready(10_000);
      for (let i = 0; i < 50; i++) await store.decide(plan('failover'));
      // Make sure the replica has every charge before the master dies (asynchronous replication
      // would otherwise lose the last ones: the documented bound).
      const master = await sentinel.currentMaster();
      await master.process.client().wait(1, 2000);

      const seen = { ok: 0, storeErrors: 0, other: 0 };
      let running = true;
      let lastError = 0;
      const load = (async () => {
        while (running) {
          // Yield to the event loop: a call that fails at once would otherwise starve the client's reconnect timers.
          await new Promise((resolve) => setImmediate(resolve));
          await store.decide(plan('other-key')).then(
            () => seen.ok++,
            (e: unknown) => {
              lastError = performance.now();
              return e instanceof StoreError ? seen.storeErrors++ : seen.other++;
            },
          );
        }
      })();
      const killedAt = performance.now();
      await sentinel.killMaster();
      await sentinel.waitForNewMaster(20_000);
      // Wait until the client itself decides again.
      const deadline = performance.now() + 20_000;
      while (
        performance.now() < deadline &&
        !(await store.decide(plan('probe', 0)).then(
          () => true,
          () => false,
        ))
      ) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      running = false;
      await load;

      expect(seen.other).toBe(0);
      expect(lastError === 0 ? 0 : lastError - killedAt).toBeLessThan(20_000);
      expect((await store.decide(plan('failover', 0))).buckets[0]!.remaining).toBe(100_000 - 50);
    } finally {
      await store.close();
    }
  });
});
