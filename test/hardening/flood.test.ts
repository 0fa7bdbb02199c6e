/**
 * Key-cardinality floods through the MemoryStore (bounded by maxKeys) and the local over-limit cache
 * (bounded by maxEntries): memory stays under the bound docs/hardening.md states and stops growing
 * once full, and decisions stay exact for live keys. Each flood runs in a child process so the heap
 * is measured after a real GC, free of the test runner's own allocations.
 *
 * In `npm test` each flood sends 10x its bound in distinct identities; the full 1M run is
 * `node --expose-gc --import tsx test/hardening/fixtures/memory-flood.ts 1000000 100000` (numbers in
 * docs/hardening.md). The eviction path, not the count, is what the bound depends on.
 */
import { describe, expect, it } from 'vitest';
import { spawnNode } from '../support/processes.js';

/** Documented bound (docs/hardening.md): heap bytes per bucket held, ~70-character keys included. */
const BYTES_PER_KEY_BOUND = 500;
const FLOOD_TIMEOUT_MS = 120_000;

async function runFixture(name: string, args: string[]): Promise<unknown> {
  const child = spawnNode(new URL(`./fixtures/${name}`, import.meta.url).pathname, args, { NODE_OPTIONS: '--expose-gc' });
  try {
    return JSON.parse(await child.waitForLine(/^\{/, FLOOD_TIMEOUT_MS)) as unknown;
  } finally {
    await child.stop();
  }
}

/** An LRU bound of `max` holds between max − ⌊max/128⌋ and max entries: it evicts in batches (src/stores/lru.ts). */
function expectBounded(size: number, max: number): void {
  expect(size).toBeLessThanOrEqual(max);
  expect(size).toBeGreaterThanOrEqual(max - Math.floor(max / 128));
}

/** Full from the first checkpoint on: the heap no longer grows with identities seen (10% + 1 MB slack). */
function expectFlat(heapBytes: number[]): void {
  expect(Math.max(...heapBytes)).toBeLessThan(heapBytes[0]! * 1.1 + 1_000_000);
}

describe('floods of distinct identities', () => {
  it(
    'MemoryStore, maxKeys 20,000, 200,000 identities: bounded, flat, the live key exact, recent keys kept',
    async () => {
      const report = (await runFixture('memory-flood.ts', ['200000', '20000'])) as {
        checkpoints: { identities: number; heapBytes: number; size: number }[];
        liveCharges: number;
        liveWrong: number;
        recent: number;
        evicted: number;
        size: number;
      };
      expectBounded(report.size, 20_000);
      for (const c of report.checkpoints) {
        expectBounded(c.size, 20_000);
        expect(c.heapBytes).toBeLessThan(20_000 * BYTES_PER_KEY_BOUND);
      }
      expectFlat(report.checkpoints.map((c) => c.heapBytes));
      expect(report.liveCharges).toBe(2_000);
      expect(report.liveWrong).toBe(0);
      expect(report.recent).toBe(3);
      expect(report.evicted).toBe(4); // forgotten by the LRU: a fresh bucket
    },
    FLOOD_TIMEOUT_MS,
  );

  it(
    'OverLimitCache, maxEntries 10,000, 100,000 over-limit identities: bounded, flat, never a wrong answer',
    async () => {
      const report = (await runFixture('over-limit-cache-flood.ts', ['100000', '10000'])) as {
        checkpoints: { identities: number; cacheSize: number; heapBytes: number }[];
        wrong: number;
        size: number;
        last: { allowed: boolean; source: string };
        first: { allowed: boolean; source: string };
      };
      expect(report.wrong).toBe(0);
      for (const c of report.checkpoints) expectBounded(c.cacheSize, 10_000);
      // Store (20,000 buckets) and cache (10,000 denials) together.
      for (const c of report.checkpoints) expect(c.heapBytes).toBeLessThan(30_000 * BYTES_PER_KEY_BOUND);
      expectFlat(report.checkpoints.slice(1).map((c) => c.heapBytes));
      expect(report.last).toEqual({ allowed: false, source: 'local_cache' });
      // Evicted from the cache and from the store's LRU long ago: a fresh bucket from the store.
      expect(report.first).toEqual({ allowed: true, source: 'store' });
    },
    FLOOD_TIMEOUT_MS,
  );
});
