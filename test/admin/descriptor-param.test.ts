import { describe, expect, it } from 'vitest';
import { parseDescriptorTarget } from '../../src/admin/descriptor-param.js';

const LIMITS = { maxDescriptors: 64, maxEntries: 2, maxKeyLength: 8, maxValueLength: 16, maxHitsAddend: 1000 };

describe('parseDescriptorTarget', () => {
  it('reads k=v lists (values may hold "=") and JSON entry lists', () => {
    expect(parseDescriptorTarget({ domain: 'd', descriptor: 'a=1,b=x=y' }, LIMITS)).toEqual({
      ok: true,
      domain: 'd',
      descriptor: [
        { key: 'a', value: '1' },
        { key: 'b', value: 'x=y' },
      ],
    });
    expect(parseDescriptorTarget({ domain: 'd', descriptor: [{ key: 'a', value: '1,2', extra: true }] }, LIMITS)).toEqual({
      ok: true,
      domain: 'd',
      descriptor: [{ key: 'a', value: '1,2' }],
    });
  });

  it('names what is wrong, with the request bounds', () => {
    const error = (source: Record<string, unknown>) => {
      const result = parseDescriptorTarget(source, LIMITS);
      return result.ok ? undefined : result.error;
    };
    expect(error({ descriptor: 'a=1' })).toBe('domain is required');
    expect(error({ domain: 'd' })).toBe('descriptor is required');
    expect(error({ domain: 'd', descriptor: '=1' })).toBe('descriptor entries are key=value, got "=1"');
    expect(error({ domain: 'd', descriptor: 5 })).toMatch(/list of \{"key","value"\}/);
    expect(error({ domain: 'd', descriptor: 'a=1,b=2,c=3' })).toMatch(/3 entries; at most 2/);
    expect(error({ domain: 'd', descriptor: 'a=12345678901234567' })).toMatch(/at most 16/);
  });
});
