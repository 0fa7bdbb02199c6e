/**
 * BucketTable against a plain LRU model (a Map re-inserted on every use): whatever the operations,
 * the same keys hold the same states, so the newest-key shortcut of `touch` never changes what is
 * evicted.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BucketTable } from '../../src/stores/bucket-table.js';

const KEYS = ['a', 'b', 'c', 'd', 'e'];

type Op =
  | { kind: 'touch'; key: string }
  | { kind: 'set'; key: string; level: number; ttl: number }
  | { kind: 'delete'; key: string }
  | { kind: 'sweep' }
  | { kind: 'clear' }
  | { kind: 'tick'; by: number };

const key = fc.constantFrom(...KEYS);
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: key.map((k) => ({ kind: 'touch' as const, key: k })) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('set' as const), key, level: fc.integer({ min: 0, max: 9 }), ttl: fc.integer({ min: 1, max: 400 }) }) },
  { weight: 1, arbitrary: key.map((k) => ({ kind: 'delete' as const, key: k })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'sweep' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'clear' as const }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 40 }).map((by) => ({ kind: 'tick' as const, by })) },
);

/** The model: insertion order is recency; a use re-inserts; a new key past the bound evicts the oldest. */
class ModelLru {
  readonly entries = new Map<string, { level: number; expiresAt: number }>();
  constructor(private readonly maxKeys: number) {}
  touch(k: string) {
    const entry = this.entries.get(k);
    if (entry === undefined) return;
    this.entries.delete(k);
    this.entries.set(k, entry);
  }
  set(k: string, level: number, expiresAt: number) {
    const entry = this.entries.get(k);
    if (entry !== undefined) {
      entry.level = level;
      entry.expiresAt = expiresAt;
      return;
    }
    this.entries.set(k, { level, expiresAt });
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.maxKeys) break;
      this.entries.delete(oldest);
    }
  }
}

describe('BucketTable', () => {
  it('holds exactly what a plain LRU holds, after any operations (bound 1 to 4)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.array(op, { maxLength: 60 }), (maxKeys, ops) => {
        const table = new BucketTable(maxKeys);
        const model = new ModelLru(maxKeys);
        let now = 100;
        for (const o of ops) {
          if (o.kind === 'touch') {
            const state = table.touch(o.key, now);
            const entry = model.entries.get(o.key);
            expect(state?.level).toBe(entry !== undefined && entry.expiresAt > now ? entry.level : undefined);
            model.touch(o.key);
          } else if (o.kind === 'set') {
            table.set(o.key, { level: o.level, stamp: now }, now + o.ttl);
            model.set(o.key, o.level, now + o.ttl);
          } else if (o.kind === 'delete') {
            expect(table.delete(o.key)).toBe(model.entries.delete(o.key));
          } else if (o.kind === 'sweep') {
            table.sweep(now, 1_000);
            for (const [k, entry] of model.entries) if (entry.expiresAt <= now) model.entries.delete(k);
          } else if (o.kind === 'clear') {
            table.clear();
            model.entries.clear();
          } else now += o.by;
          expect(table.size).toBe(model.entries.size);
          for (const k of KEYS) {
            const entry = model.entries.get(k);
            const live = entry !== undefined && entry.expiresAt > now ? { state: { level: entry.level }, expiresAt: entry.expiresAt } : undefined;
            const peeked = table.peek(k, now);
            expect(peeked === undefined ? undefined : { state: { level: peeked.state.level }, expiresAt: peeked.expiresAt }).toEqual(live);
          }
        }
      }),
      { numRuns: 3_000 },
    );
  });
});
