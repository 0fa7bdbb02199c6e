import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfigSources } from '../../src/config/load.js';
import type { DescriptorEntry } from '../../src/config/types.js';

interface GenDescriptor {
  key: string;
  value?: string;
  rate_limit?: { unit: string; requests_per_unit: number };
  descriptors?: GenDescriptor[];
}

const KEYS = ['a', 'b', 'c'];
const CONFIG_VALUES = ['', 'x', 'y', 'xy', 'x*', '*y', '*', 'x*y'];
const REQUEST_VALUES = ['', 'x', 'y', 'xy', 'xzy', 'zy', 'x*', 'q'];

const descriptorTree = (depth: number): fc.Arbitrary<GenDescriptor[]> =>
  fc
    .array(
      fc.record({
        key: fc.constantFrom(...KEYS),
        value: fc.constantFrom(...CONFIG_VALUES),
        limited: fc.boolean(),
        rpu: fc.nat({ max: 100 }),
        unit: fc.constantFrom('second', 'MINUTE', 'Hour', 'day', 'week', 'month', 'year'),
        children: depth > 1 ? descriptorTree(depth - 1) : fc.constant([] as GenDescriptor[]),
      }),
      { maxLength: 5 },
    )
    .map((items) => {
      // Keep the config valid: one node per key/value at a level.
      const seen = new Set<string>();
      const out: GenDescriptor[] = [];
      for (const item of items) {
        const id = `${item.key}_${item.value}`;
        if (seen.has(id)) continue;
        seen.add(id);
        const d: GenDescriptor = { key: item.key };
        if (item.value !== '') d.value = item.value;
        if (item.limited) d.rate_limit = { unit: item.unit, requests_per_unit: item.rpu };
        if (item.children.length > 0) d.descriptors = item.children;
        out.push(d);
      }
      return out;
    });

const MAX_DEPTH = 3;

const request = fc.array(fc.record({ key: fc.constantFrom(...KEYS, 'z'), value: fc.constantFrom(...REQUEST_VALUES) }), { maxLength: MAX_DEPTH + 2 });

function globToRegExp(pattern: string): RegExp {
  const escaped = pattern.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join('.*')}$`, 's');
}

/** An independent, naive model of the reference's walk (regex wildcards, linear scans). */
function modelMatch(descriptors: GenDescriptor[], entries: DescriptorEntry[], path: string): string | undefined {
  let level = descriptors;
  let fullKey = path;
  for (let i = 0; i < entries.length; i++) {
    const { key, value } = entries[i]!;
    const sameKey = level.filter((d) => d.key === key);
    const node =
      sameKey.find((d) => d.value !== undefined && !d.value.includes('*') && d.value === value) ??
      sameKey.find((d) => d.value?.includes('*') && globToRegExp(d.value).test(value)) ??
      sameKey.find((d) => d.value === undefined);
    if (node === undefined) return undefined;
    fullKey += node.value === undefined ? `.${node.key}` : `.${node.key}_${node.value}`;
    if (i === entries.length - 1) return node.rate_limit === undefined ? undefined : fullKey;
    if (node.descriptors === undefined) return undefined;
    level = node.descriptors;
  }
  return undefined;
}

describe('matching properties', () => {
  it('agrees with a naive model, never throws, and never matches deeper than the config', () => {
    fc.assert(
      fc.property(descriptorTree(MAX_DEPTH), fc.array(request, { minLength: 1, maxLength: 10 }), (descriptors, requests) => {
        const result = loadConfigSources([{ file: 'gen.yaml', text: stringify({ domain: 'gen', descriptors }) }]);
        expect(result.ok).toBe(true);
        if (!result.ok) return;
        for (const entries of requests) {
          const match = result.config.match('gen', entries);
          expect(match?.rule?.fullKey).toBe(modelMatch(descriptors, entries, 'gen'));
          if (entries.length > MAX_DEPTH) expect(match).toBeUndefined();
          if (match !== undefined) expect(match.rule?.depth).toBe(entries.length);
          expect(result.config.match('other', entries)).toBeUndefined();
        }
      }),
      { numRuns: 300 },
    );
  });
});
