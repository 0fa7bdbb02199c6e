import { describe, expect, it } from 'vitest';
import { SpaceSaving } from '../../src/observe/space-saving.js';

describe('Space-Saving top-K', () => {
  it('is exact while the keys fit', () => {
    const top = new SpaceSaving<string>(4);
    for (const [key, n] of [
      ['a', 5],
      ['b', 3],
      ['c', 9],
    ] as const)
      for (let i = 0; i < n; i++) top.add(key, key);
    expect(top.top(10).map(({ key, count, error }) => [key, count, error])).toEqual([
      ['c', 9, 0],
      ['a', 5, 0],
      ['b', 3, 0],
    ]);
  });

  it('keeps every heavy key, with bounds, among 200 000 distinct keys in 64 counters', () => {
    const top = new SpaceSaving<number>(64);
    const heavy = new Map([
      ['heavy-1', 5000],
      ['heavy-2', 4000],
      ['heavy-3', 3000],
    ]);
    const stream: string[] = [];
    for (const [key, n] of heavy) for (let i = 0; i < n; i++) stream.push(key);
    for (let i = 0; i < 200_000; i++) stream.push(`light-${i}`);
    // Deterministic shuffle (LCG) so the heavy keys are spread through the noise.
    let seed = 42;
    for (let i = stream.length - 1; i > 0; i--) {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      const j = seed % (i + 1);
      [stream[i], stream[j]] = [stream[j]!, stream[i]!];
    }
    for (const key of stream) top.add(key, 0);
    expect(top.size).toBe(64);
    const first = top.top(3);
    expect(first.map((h) => h.key)).toEqual(['heavy-1', 'heavy-2', 'heavy-3']);
    for (const h of first) {
      const truth = heavy.get(h.key)!;
      expect(h.count).toBeGreaterThanOrEqual(truth);
      expect(h.count - h.error).toBeLessThanOrEqual(truth);
    }
  });

  it('forgets a key and keeps the heap valid', () => {
    const top = new SpaceSaving<string>(3);
    for (const key of ['a', 'a', 'a', 'b', 'b', 'c']) top.add(key, key);
    expect(top.remove('a')).toBe(true);
    expect(top.remove('a')).toBe(false);
    top.add('d', 'd');
    top.add('e', 'e');
    // Full again (b, c, d): e replaced the smallest (c or d, count 1) and inherits its count.
    expect(top.size).toBe(3);
    expect(top.top(1)[0]).toMatchObject({ key: 'b', count: 2 });
    expect(top.top(3).find((h) => h.key === 'e')).toMatchObject({ count: 2, error: 1 });
  });
});
