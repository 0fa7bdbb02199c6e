import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileWildcard, isWildcard, matchWildcard } from '../../src/config/wildcard.js';

describe('wildcard values', () => {
  it.each([
    ['foo*', 'foo', true],
    ['foo*', 'foobar', true],
    ['foo*', 'fo', false],
    ['*bar', 'bar', true],
    ['*bar', 'foobar', true],
    ['*bar', 'barfoo', false],
    ['a*c', 'ac', true],
    ['a*c', 'abbc', true],
    ['a*c', 'acb', false],
    ['a*b*a', 'aba', true],
    ['a*b*a', 'aa', false],
    ['ab*ba', 'aba', false],
    ['*', '', true],
    ['**', 'anything', true],
    ['*a*', 'xyz', false],
  ])('%j on %j → %s', (pattern, text, expected) => {
    expect(matchWildcard(compileWildcard(pattern), text)).toBe(expected);
  });

  it('detects stars anywhere', () => {
    expect([isWildcard('a*'), isWildcard('*a'), isWildcard('a*b'), isWildcard('ab')]).toEqual([true, true, true, false]);
  });

  it('agrees with a regular expression on random patterns', () => {
    const text = fc.string({ unit: fc.constantFrom('a', 'b', '.', '\n'), maxLength: 8 });
    const pattern = fc.string({ unit: fc.constantFrom('a', 'b', '*', '.'), maxLength: 6 });
    fc.assert(
      fc.property(pattern, text, (p, t) => {
        const regex = new RegExp(
          `^${p
            .split('*')
            .map((s) => s.replace(/\./g, '\\.'))
            .join('.*')}$`,
          's',
        );
        expect(matchWildcard(compileWildcard(p), t)).toBe(regex.test(t));
      }),
      { numRuns: 2000 },
    );
  });
});
