/** The one stack builder: which layers it puts over which store, and a refund that reaches through the cache. */
import { afterEach, describe, expect, it } from 'vitest';
import { tokenBucket } from '../../src/engine/limit.js';
import type { Plan } from '../../src/engine/plan.js';
import { buildDecisionStack, type DecisionStack } from '../../src/stores/decision-stack.js';
import { FailureModeStore } from '../../src/stores/failure-mode-store.js';
import { InFlightLimit } from '../../src/stores/in-flight-limit.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import { OverLimitCache } from '../../src/stores/over-limit-cache.js';
import { ResetBroadcastStore } from '../../src/stores/redis/reset-broadcast.js';
import { startRedis } from '../support/redis-server.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function onRedis(options: Omit<Parameters<typeof buildDecisionStack>[0], 'redis' | 'store'>): Promise<DecisionStack> {
  const server = await startRedis();
  const stack = buildDecisionStack({ redis: { url: server.url, timeoutMs: 2000 }, ...options });
  cleanups.push(async () => {
    await stack.store.close();
    await server.stop();
  });
  await stack.redis!.ready();
  return stack;
}

// One token, refilled once an hour: a second request is denied for the rest of the test.
const one = tokenBucket({ capacity: 1, refillTokens: 1, periodUs: 3_600_000_000 });
const plan: Plan = { mode: 'all_or_nothing', buckets: [{ key: 'rg:test:one', limit: one, cost: 1 }] };

describe('buildDecisionStack', () => {
  it('puts nothing over a MemoryStore (it cannot fail)', () => {
    const memory = new MemoryStore();
    cleanups.push(() => memory.close());
    const stack = buildDecisionStack({ store: memory, failureMode: 'allow', localCacheSize: 100 });
    expect([stack.store === memory, stack.failureMode, stack.cache, stack.redis]).toEqual([true, undefined, undefined, undefined]);
  });

  it('stacks the reset broadcast, the cache, the in-flight bound and the failure mode over Redis, each as asked', async () => {
    const full = await onRedis({ failureMode: 'allow', maxInFlight: 10, localCacheSize: 100, resetChannel: 'rg:resets' });
    expect(full.store).toBeInstanceOf(ResetBroadcastStore);
    expect(full.cache).toBeInstanceOf(OverLimitCache);
    expect(full.failureMode).toBeInstanceOf(FailureModeStore);
    const noBroadcast = await onRedis({ localCacheSize: 100 });
    expect(noBroadcast.store).toBe(noBroadcast.cache);
    const bounded = await onRedis({ maxInFlight: 10 });
    expect([bounded.store instanceof InFlightLimit, bounded.cache]).toEqual([true, undefined]);
    const bare = await onRedis({});
    expect(bare.store).toBe(bare.failureMode);
  });

  it('a refund reaches the store and forgets the denial the cache remembered', async () => {
    const stack = await onRedis({ localCacheSize: 100 });
    expect((await stack.store.decide(plan)).allowed).toBe(true);
    const denied = await stack.store.decide(plan);
    expect([denied.allowed, denied.source]).toEqual([false, undefined]);
    expect((await stack.store.decide(plan)).source).toBe('local_cache');
    await stack.refund!(plan.buckets);
    const again = await stack.store.decide(plan);
    expect([again.allowed, again.source]).toEqual([true, undefined]);
  });

  it('has no refund over a store that cannot give one', () => {
    const memory = new MemoryStore();
    cleanups.push(() => memory.close());
    const plain = {
      decide: (p: Plan) => memory.decide(p),
      reset: (k: readonly string[]) => memory.reset(k),
      probe: () => memory.probe(),
      close: () => memory.close(),
    };
    expect(buildDecisionStack({ store: plain }).refund).toBeUndefined();
  });
});
