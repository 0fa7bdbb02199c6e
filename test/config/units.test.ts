import { describe, expect, it } from 'vitest';
import { parseUnit, UNIT_ENUM, unitFromEnum, unitProtoName } from '../../src/config/units.js';

describe('units', () => {
  it('parses case-insensitively and rejects plurals', () => {
    expect(['second', 'MINUTE', 'Hour', 'dAy', 'WEEK', 'month', 'Year'].map(parseUnit)).toEqual(['second', 'minute', 'hour', 'day', 'week', 'month', 'year']);
    expect(parseUnit('minutes')).toBeUndefined();
    expect(parseUnit('toString')).toBeUndefined();
    expect(parseUnit('')).toBeUndefined();
  });

  it('maps to the RLS v3 enum, where WEEK is 7', () => {
    expect(unitProtoName('week')).toBe('WEEK');
    expect(UNIT_ENUM).toEqual({ UNKNOWN: 0, SECOND: 1, MINUTE: 2, HOUR: 3, DAY: 4, MONTH: 5, YEAR: 6, WEEK: 7 });
    expect([1, 2, 3, 4, 5, 6, 7].map(unitFromEnum)).toEqual(['second', 'minute', 'hour', 'day', 'month', 'year', 'week']);
    expect(unitFromEnum(0)).toBeUndefined();
    expect(unitFromEnum(8)).toBeUndefined();
  });
});
