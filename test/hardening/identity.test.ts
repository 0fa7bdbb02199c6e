/**
 * Identity safety: crafted values cannot collide two descriptors into one bucket, cannot reach
 * another domain's buckets, and cannot pick a Redis Cluster slot (src/engine/keys.ts), checked on
 * the key function with fast-check and end to end through a running sidecar.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketKey, encodeIdentity, type IdentityEntry, slotTag } from '../../src/engine/keys.js';
import { Code } from '../../src/rls/codec.js';
import { keySlot } from '../support/redis-cluster.js';
import { request, startTestSidecar, type TestSidecar } from '../support/sidecar.js';

/** Characters that could confuse a naive encoding: separators, digits, braces, NUL. */
const tricky = fc.string({ unit: fc.constantFrom('1', '2', ':', '|', '{', '}', '#', '\u0000', 'a', 'é', '😀'), maxLength: 8 });
const entries = fc.array(fc.record({ key: tricky, value: tricky }), { minLength: 1, maxLength: 3 });
const sameIdentity = (a: [string, readonly IdentityEntry[]], b: [string, readonly IdentityEntry[]]) =>
  a[0] === b[0] && a[1].length === b[1].length && a[1].every((e, i) => e.key === b[1][i]!.key && e.value === b[1][i]!.value);

describe('bucket keys', () => {
  it('different (domain, entries) never share an identity', () => {
    fc.assert(
      fc.property(fc.tuple(tricky, entries), fc.tuple(tricky, entries), (a, b) => {
        fc.pre(!sameIdentity(a, b));
        expect(encodeIdentity(...a)).not.toBe(encodeIdentity(...b));
      }),
      { numRuns: 20_000 },
    );
  });

  it('the classic shifts do not collide: a value that looks like the next entry, or like the domain', () => {
    const pairs: [string, IdentityEntry[], string, IdentityEntry[]][] = [
      [
        'd',
        [{ key: 'a', value: '1:b' }],
        'd',
        [
          { key: 'a', value: '' },
          { key: 'b', value: '' },
        ],
      ],
      ['d', [{ key: 'ab', value: 'c' }], 'd', [{ key: 'a', value: 'bc' }]],
      ['d1:a', [{ key: 'b', value: 'c' }], 'd', [{ key: 'a', value: 'b' }]],
      ['d', [{ key: 'k', value: 'x'.repeat(300) }], 'd', [{ key: 'k', value: 'x'.repeat(301) }]],
    ];
    for (const [d1, e1, d2, e2] of pairs) expect(encodeIdentity(d1, e1)).not.toBe(encodeIdentity(d2, e2));
  });

  it('a hashed long identity cannot equal a plain short one, and stays bounded', () => {
    const long = encodeIdentity('d', [{ key: 'k', value: 'v'.repeat(5000) }]);
    expect(long.startsWith('#')).toBe(true);
    expect(long.length).toBeLessThanOrEqual(64);
    // A plain identity starts with the domain's length, a digit; only a hashed one starts with '#'.
    fc.assert(
      fc.property(tricky, entries, (d, e) => {
        expect(encodeIdentity(d, e)).toMatch(/^\d/);
      }),
      { numRuns: 2000 },
    );
  });

  it('the tag is 32-bit FNV-1a in 8 lowercase hex digits: keys stay where older versions put them', () => {
    // Test vectors of the FNV reference (draft-eastlake-fnv, FNV-1a 32-bit).
    expect(slotTag('')).toBe('811c9dc5');
    expect(slotTag('a')).toBe('e40c292c');
    expect(slotTag('foobar')).toBe('bf9cf968');
    expect(bucketKey('rg:', 'L', 'foobar')).toBe('rg:{bf9cf968}L|foobar');
  });

  it('the Redis Cluster slot is the slot of our own tag: braces in values cannot choose it', () => {
    fc.assert(
      fc.property(tricky, entries, (domain, es) => {
        const identity = encodeIdentity(domain, es);
        const key = bucketKey('rg:', 'tb:5:5:3600000000', identity);
        expect(keySlot(key)).toBe(keySlot(slotTag(identity)));
      }),
      { numRuns: 5000 },
    );
    // A value written to aim at slot 0 ("{}" hash tags of a chosen string) lands elsewhere.
    const aimed = encodeIdentity('d', [{ key: '{06S}', value: '{06S}' }]);
    expect(keySlot(bucketKey('rg:', 'x', aimed))).toBe(keySlot(slotTag(aimed)));
  });
});

describe('through a running sidecar', () => {
  let rg: TestSidecar;
  const config = (domain: string) => `
domain: ${domain}
descriptors:
  - key: a
    rate_limit: { unit: hour, requests_per_unit: 2 }
    descriptors:
      - key: b
        rate_limit: { unit: hour, requests_per_unit: 2 }
  - key: ab
    rate_limit: { unit: hour, requests_per_unit: 2 }
`;
  beforeAll(async () => {
    rg = await startTestSidecar({ 'one.yaml': config('one'), 'two.yaml': config('two'), 'one1.yaml': config('one1:a') });
  });
  afterAll(async () => {
    await rg.stop();
  });

  const exhaust = async (req: ReturnType<typeof request>) => {
    for (let i = 0; i < 2; i++) expect((await rg.call(req)).overallCode).toBe(Code.OK);
    expect((await rg.call(req)).overallCode).toBe(Code.OVER_LIMIT);
  };

  it('exhausting one crafted identity leaves every look-alike untouched', async () => {
    await exhaust(request('one', [['a', '1:b']]));
    for (const other of [
      request('one', [
        ['a', '1:b'],
        ['b', ''],
      ]),
      request('one', [['ab', '']]),
      request('one', [['a', '']]),
      request('two', [['a', '1:b']]),
      request('one1:a', [['a', '1:b']]),
    ]) {
      expect((await rg.call(other)).statuses).toEqual([expect.objectContaining({ code: Code.OK, limitRemaining: 1 })]);
    }
  });

  it('another domain with the same descriptors has its own buckets', async () => {
    await exhaust(request('two', [['a', 'shared']]));
    expect((await rg.call(request('one', [['a', 'shared']]))).statuses[0]).toMatchObject({ code: Code.OK, limitRemaining: 1 });
  });
});
