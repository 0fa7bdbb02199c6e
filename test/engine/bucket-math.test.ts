import { describe, expect, it } from 'vitest';
import { costOfKey, decidePlan } from '../../src/engine/bucket-math.js';
import { tokenBucket } from '../../src/engine/limit.js';
import { expectedResult, NOW, REPEATED_KEY_VECTORS, storedStates, VECTORS, vectorPlan } from './vectors.js';

describe('decidePlan (the TypeScript twin) on the shared vectors', () => {
  for (const vector of [...VECTORS, ...REPEATED_KEY_VECTORS]) {
    it(vector.name, () => {
      const { decision, writes } = decidePlan(vectorPlan(vector, 'k'), storedStates(vector.buckets), NOW);
      expect(decision.allowed).toBe(vector.allowed);
      decision.buckets.forEach((result, i) => {
        expect(result).toEqual(expectedResult(vector, i));
      });
      const expectedWrites = vector.expect.flatMap((want, index) => (want.write ? [{ index, ...want.write }] : []));
      expect(writes).toEqual(expectedWrites);
    });
  }
});

describe('costOfKey', () => {
  const limit = tokenBucket({ capacity: 5, refillTokens: 5, periodUs: 1_000_000 });
  const buckets = [
    { key: 'a', limit, cost: 5 },
    { key: 'b', limit, cost: 2 },
    { key: 'a', limit, cost: 1 },
  ];

  it('sums the costs of every bucket with the key, and only those', () => {
    expect([costOfKey(buckets, 'a'), costOfKey(buckets, 'b'), costOfKey(buckets, 'c')]).toEqual([6, 2, 0]);
  });
});
