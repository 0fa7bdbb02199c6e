import { describe, expect, it } from 'vitest';
import { decidePlan } from '../../src/engine/bucket-math.js';
import { expectedResult, NOW, VECTORS } from './vectors.js';

describe('decidePlan (the TypeScript twin) on the shared vectors', () => {
  for (const vector of VECTORS) {
    it(vector.name, () => {
      const plan = { mode: vector.mode, buckets: vector.buckets.map((b, i) => ({ key: `k${i}`, limit: b.limit, cost: b.cost, shadow: b.shadow === true })) };
      const { decision, writes } = decidePlan(plan, vector.buckets.map((b) => b.state), NOW);
      expect(decision.allowed).toBe(vector.allowed);
      decision.buckets.forEach((result, i) => expect(result).toEqual(expectedResult(vector, i)));
      const expectedWrites = vector.expect.flatMap((want, index) => (want.write ? [{ index, ...want.write }] : []));
      expect(writes).toEqual(expectedWrites);
    });
  }
});
