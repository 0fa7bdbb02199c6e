import { afterEach, describe, expect, it, vi } from 'vitest';
import { bucketKey, encodeIdentity } from '../../src/engine/keys.js';
import { tokenBucket } from '../../src/engine/limit.js';
import type { Plan } from '../../src/engine/plan.js';
import { MemoryStore } from '../../src/stores/memory-store.js';

const limit = tokenBucket({ capacity: 3, refillTokens: 3, periodUs: 3_000_000 }); // 1 token/s
const keyOf = (id: string) => bucketKey('t:', limit.id, encodeIdentity('test', [{ key: 'id', value: id }]));
const planFor = (id: string, cost = 1): Plan => ({ mode: 'all_or_nothing', buckets: [{ key: keyOf(id), limit, cost }] });

describe('MemoryStore', () => {
  let now = 1_000_000_000;
  const stores: MemoryStore[] = [];
  const make = (maxKeys?: number) => {
    const store = new MemoryStore({ clock: () => now, ...(maxKeys === undefined ? {} : { maxKeys }) });
    stores.push(store);
    return store;
  };
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });

  it('allows exactly the capacity, then denies with the retry time, then refills with the clock', () => {
    const store = make();
    const outcomes = Array.from({ length: 5 }, () => store.decideNow(planFor('a')).allowed);
    expect(outcomes).toEqual([true, true, true, false, false]);
    expect(store.decideNow(planFor('a')).buckets[0]!.retryUs).toBe(1_000_000);
    now += 1_000_000;
    expect(store.decideNow(planFor('a')).allowed).toBe(true);
    expect(store.decideNow(planFor('a')).allowed).toBe(false);
  });

  it('keeps different identities apart', () => {
    const store = make();
    for (let i = 0; i < 3; i++) store.decideNow(planFor('a'));
    expect(store.decideNow(planFor('a')).allowed).toBe(false);
    expect(store.decideNow(planFor('b')).allowed).toBe(true);
  });

  it('reads a bucket that would be full again as new, and its sweep forgets it (no leak)', () => {
    vi.useFakeTimers(); // the sweep's interval, not the store's clock
    try {
      const store = make();
      store.decideNow(planFor('a', 2));
      expect(store.size).toBe(1);
      now += 2_000_000; // exactly the time to refill 2 tokens at 1/s
      expect(store.decideNow(planFor('a', 0)).buckets[0]!.level).toBe(3);
      // Its entry waits for a write to reuse it (a hot key's usual next step) or for the sweep.
      expect(store.size).toBe(1);
      vi.advanceTimersByTime(1000);
      expect(store.size).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a hot key whose state expires between calls keeps one entry, decided as new each time', () => {
    const store = make();
    for (let i = 0; i < 3; i++) {
      expect(store.decideNow(planFor('a', 1)).buckets[0]!.level).toBe(2);
      now += 1_000_000; // full again
    }
    expect(store.size).toBe(1);
  });

  it('evicts the least recently used bucket past maxKeys', () => {
    const store = make(2);
    store.decideNow(planFor('a', 3));
    store.decideNow(planFor('b', 3));
    store.decideNow(planFor('a', 1)); // denied, but used: a is now the most recent
    store.decideNow(planFor('c', 1));
    expect(store.size).toBe(2);
    // b was evicted: it starts full again; a is still empty (and still denied).
    expect(store.decideNow(planFor('b', 0)).buckets[0]!.remaining).toBe(3);
    expect(store.decideNow(planFor('a', 0)).buckets[0]!.remaining).toBe(0);
  });

  it('keeps a denied client denied under a flood of new identities', () => {
    const store = make(100);
    store.decideNow(planFor('hot', 3));
    for (let i = 0; i < 10_000; i++) {
      store.decideNow(planFor(`new-${i}`, 1));
      if (i % 50 === 0) expect(store.decideNow(planFor('hot', 1)).allowed).toBe(false);
    }
  });

  it('keeps every held bucket exact while evicted ones free their room for new ones (1,000 identities, 50 kept)', () => {
    const store = make(50);
    // Identity i is charged 1 + (i mod 3): 2, 1 or 0 tokens left.
    for (let i = 0; i < 1000; i++) store.decideNow(planFor(`slot-${i}`, 1 + (i % 3)));
    expect(store.size).toBeLessThanOrEqual(50);
    // The most recent 50 (a few fewer: eviction goes in batches) hold their exact state...
    const held = Array.from({ length: 40 }, (_, k) => 999 - k);
    expect(held.map((i) => store.decideNow(planFor(`slot-${i}`, 0)).buckets[0]!.remaining)).toEqual(held.map((i) => 2 - (i % 3)));
    // ...and an evicted one starts full again.
    expect(store.decideNow(planFor('slot-0', 0)).buckets[0]!.remaining).toBe(3);
  });

  it('resets one bucket and reports how many existed', async () => {
    const store = make();
    store.decideNow(planFor('a', 3));
    expect(await store.reset([keyOf('a'), keyOf('zz')])).toBe(1);
    expect(store.decideNow(planFor('a', 0)).buckets[0]!.remaining).toBe(3);
  });

  it('rejects a bad maxKeys at construction', () => {
    expect(() => new MemoryStore({ maxKeys: 0 })).toThrow(/maxKeys must be a whole number >= 1/);
  });

  it('does not keep the process alive (its sweep timer is unref-ed)', async () => {
    const { spawnSync } = await import('node:child_process');
    const script = "import('./src/stores/memory-store.ts').then(({ MemoryStore }) => { new MemoryStore(); console.log('made'); })";
    const run = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(run.stdout.trim()).toBe('made');
    expect(run.status).toBe(0);
  });
});
