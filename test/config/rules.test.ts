import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_ERROR_CODES, formatConfigError } from '../../src/config/errors.js';
import { loadConfig, loadConfigSources } from '../../src/config/load.js';
import { RULES } from '../../src/config/rules.js';

const BROKEN = 'test/fixtures/config/broken';

/** One problem per file: [file, code, line, path]. Some problems honestly imply a second error. */
const CORPUS: [string, ...[string, number, string][]][] = [
  ['bad-yaml.yaml', ['RG_CONFIG_YAML_SYNTAX', 4, '']],
  ['capacity-and-burst.yaml', ['RG_CONFIG_BAD_CAPACITY', 8, 'descriptors[0].rate_limit.burst']],
  ['capacity-fixed-window.yaml', ['RG_CONFIG_BAD_CAPACITY', 8, 'descriptors[0].rate_limit.burst']],
  ['capacity-rpu-zero.yaml', ['RG_CONFIG_BAD_CAPACITY', 7, 'descriptors[0].rate_limit.capacity']],
  ['capacity-zero.yaml', ['RG_CONFIG_BAD_CAPACITY', 7, 'descriptors[0].rate_limit.capacity']],
  ['duplicate-descriptor.yaml', ['RG_CONFIG_DUPLICATE_DESCRIPTOR', 8, 'descriptors[1]']],
  ['duplicate-limit-in-list.yaml', ['RG_CONFIG_DUPLICATE_LIMIT', 7, 'descriptors[0].rate_limits[1]']],
  ['duplicate-limit-name.yaml', ['RG_CONFIG_DUPLICATE_LIMIT_NAME', 10, 'descriptors[1].rate_limit.name']],
  ['duplicate-nested-default.yaml', ['RG_CONFIG_DUPLICATE_DESCRIPTOR', 9, 'descriptors[0].descriptors[1]']],
  ['duplicate-yaml-key.yaml', ['RG_CONFIG_DUPLICATE_YAML_KEY', 2, 'domain']],
  ['empty-domain.yaml', ['RG_CONFIG_EMPTY_DOMAIN', 1, 'domain']],
  ['empty-file.yaml', ['RG_CONFIG_EMPTY_FILE', 0, '']],
  ['empty-key.yaml', ['RG_CONFIG_EMPTY_KEY', 3, 'descriptors[0].key']],
  ['empty-rate-limits.yaml', ['RG_CONFIG_EMPTY_RATE_LIMITS', 4, 'descriptors[0].rate_limits']],
  ['list-of-strings.yaml', ['RG_CONFIG_WRONG_TYPE', 3, 'descriptors[0]']],
  [
    'merge-key.yaml',
    ['RG_CONFIG_MISSING_KEY', 9, 'descriptors[1].rate_limit'],
    ['RG_CONFIG_MISSING_KEY', 9, 'descriptors[1].rate_limit'],
    ['RG_CONFIG_UNKNOWN_KEY', 9, 'descriptors[1].rate_limit.<<'],
  ],
  ['missing-domain.yaml', ['RG_CONFIG_MISSING_KEY', 1, '']],
  ['missing-key.yaml', ['RG_CONFIG_MISSING_KEY', 3, 'descriptors[0]']],
  ['missing-unit.yaml', ['RG_CONFIG_MISSING_KEY', 5, 'descriptors[0].rate_limit']],
  ['rate-limit-and-rate-limits.yaml', ['RG_CONFIG_RATE_LIMIT_CONFLICT', 8, 'descriptors[0].rate_limits']],
  ['replaces-cycle.yaml', ['RG_CONFIG_REPLACES_CYCLE', 5, 'descriptors[0].rate_limit.name']],
  ['replaces-empty-name.yaml', ['RG_CONFIG_EMPTY_REPLACES_NAME', 8, 'descriptors[0].rate_limit.replaces[0].name']],
  ['replaces-self.yaml', ['RG_CONFIG_REPLACES_SELF', 9, 'descriptors[0].rate_limit.replaces[0].name']],
  ['replaces-unknown.yaml', ['RG_CONFIG_UNKNOWN_REPLACES', 8, 'descriptors[0].rate_limit.replaces[0].name']],
  ['rpu-fraction.yaml', ['RG_CONFIG_BAD_REQUESTS_PER_UNIT', 6, 'descriptors[0].rate_limit.requests_per_unit']],
  ['rpu-negative.yaml', ['RG_CONFIG_BAD_REQUESTS_PER_UNIT', 6, 'descriptors[0].rate_limit.requests_per_unit']],
  ['rpu-over-uint32.yaml', ['RG_CONFIG_BAD_REQUESTS_PER_UNIT', 6, 'descriptors[0].rate_limit.requests_per_unit']],
  ['rpu-string.yaml', ['RG_CONFIG_WRONG_TYPE', 6, 'descriptors[0].rate_limit.requests_per_unit']],
  ['unknown-algorithm.yaml', ['RG_CONFIG_UNKNOWN_ALGORITHM', 5, 'descriptors[0].rate_limit.algorithm']],
  ['unknown-key.yaml', ['RG_CONFIG_UNKNOWN_KEY', 4, 'descriptors[0].ratelimit']],
  [
    'unknown-rate-limit-key.yaml',
    ['RG_CONFIG_MISSING_KEY', 5, 'descriptors[0].rate_limit'],
    ['RG_CONFIG_UNKNOWN_KEY', 6, 'descriptors[0].rate_limit.requestsperunit'],
  ],
  ['unknown-unit.yaml', ['RG_CONFIG_UNKNOWN_UNIT', 9, 'descriptors[1].rate_limit.unit']],
  ['unlimited-in-list.yaml', ['RG_CONFIG_UNLIMITED_IN_LIST', 5, 'descriptors[0].rate_limits[0].unlimited']],
  ['unlimited-with-rpu.yaml', ['RG_CONFIG_UNLIMITED_WITH_LIMIT', 6, 'descriptors[0].rate_limit.requests_per_unit']],
  ['unlimited-with-unit.yaml', ['RG_CONFIG_UNLIMITED_WITH_LIMIT', 6, 'descriptors[0].rate_limit.unit']],
  ['wrong-type-descriptors.yaml', ['RG_CONFIG_WRONG_TYPE', 3, 'descriptors']],
  ['wrong-type-shadow.yaml', ['RG_CONFIG_WRONG_TYPE', 4, 'descriptors[0].shadow_mode']],
];

describe('broken config corpus', () => {
  it('lists every fixture file', () => {
    const files = readdirSync(BROKEN)
      .filter((f) => f.endsWith('.yaml'))
      .sort();
    expect(CORPUS.map(([file]) => file).sort()).toEqual(files);
  });

  it.each(CORPUS)('%s', async (file, ...expected) => {
    const path = join(BROKEN, file);
    const result = await loadConfig(path);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map((e) => [e.code, e.line, e.path])).toEqual(expected);
    for (const error of result.errors) expect(error.file).toBe(path);
  });
});

describe('error reporting', () => {
  it('formats file, line, path and message like a compiler', async () => {
    const result = await loadConfig(join(BROKEN, 'unknown-unit.yaml'));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(formatConfigError(result.errors[0]!)).toBe(
      'test/fixtures/config/broken/unknown-unit.yaml:9: descriptors[1].rate_limit.unit: unknown unit "minutes" (expected second, minute, hour, day, week, month, year)',
    );
  });

  it('collects every error of a load, across files, in reading order', () => {
    const a = ['domain: one', 'descriptors:', '  - key: k', '    rate_limit: {unit: fortnight, requests_per_unit: -3}', '  - key: k', '    extra: 1'].join(
      '\n',
    );
    const b = 'domain: one\ndescriptors: []\n';
    const result = loadConfigSources([
      { file: 'a.yaml', text: a },
      { file: 'b.yaml', text: b },
    ]);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map((e) => `${e.file}:${e.line}:${e.code}`)).toEqual([
      'a.yaml:4:RG_CONFIG_BAD_REQUESTS_PER_UNIT',
      'a.yaml:4:RG_CONFIG_UNKNOWN_UNIT',
      'a.yaml:5:RG_CONFIG_DUPLICATE_DESCRIPTOR',
      'a.yaml:6:RG_CONFIG_UNKNOWN_KEY',
      'b.yaml:1:RG_CONFIG_DUPLICATE_DOMAIN',
    ]);
    expect(result.errors.at(-1)!.message).toBe('domain "one" is already defined in a.yaml');
  });

  it('names a key written twice, with its file:line, path and first line, anywhere in the document', () => {
    const text = [
      'domain: dup',
      'descriptors:',
      '  - key: k',
      '    rate_limit:',
      '      unit: minute',
      '      "unit": hour',
      '      requests_per_unit: 5',
      '    metadata: { owner: a, owner: b }',
    ].join('\n');
    const result = loadConfigSources([{ file: 'config/dup.yaml', text }]);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map(formatConfigError)).toEqual([
      'config/dup.yaml:6: descriptors[0].rate_limit.unit: key "unit" written twice in one mapping (first at line 5)',
      'config/dup.yaml:8: descriptors[0].metadata.owner: key "owner" written twice in one mapping (first at line 8)',
    ]);
  });

  it('every rule reports a declared code, and the codes are unique names', () => {
    for (const rule of RULES) expect(CONFIG_ERROR_CODES).toContain(rule.code);
    expect(new Set(CONFIG_ERROR_CODES).size).toBe(CONFIG_ERROR_CODES.length);
  });

  it('accepts what the reference accepts: a descriptor with neither a limit nor children, no descriptors at all', () => {
    const result = loadConfigSources([
      { file: 'a.yaml', text: 'domain: a\ndescriptors:\n  - key: whitelisted\n' },
      { file: 'b.yaml', text: 'domain: b\n' },
    ]);
    expect(result.ok).toBe(true);
  });

  it('treats a key with no value as absent, like Go zero values, but still requires unit', () => {
    const result = loadConfigSources([
      { file: 'a.yaml', text: 'domain: a\ndescriptors:\n  - key: k\n    value:\n    rate_limit:\n      unit:\n      requests_per_unit: 1\n' },
    ]);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map((e) => [e.code, e.line, e.path])).toEqual([['RG_CONFIG_MISSING_KEY', 6, 'descriptors[0].rate_limit']]);
  });

  it('reports the replaced name of an unknown replaces only once per entry, and a 3-cycle once', () => {
    const text = `
domain: d
descriptors:
  - key: a
    rate_limit: {name: x, unit: second, requests_per_unit: 1, replaces: [{name: y}]}
  - key: b
    rate_limit: {name: y, unit: second, requests_per_unit: 1, replaces: [{name: z}]}
  - key: c
    rate_limit: {name: z, unit: second, requests_per_unit: 1, replaces: [{name: x}]}
`;
    const result = loadConfigSources([{ file: 'c.yaml', text }]);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map((e) => [e.code, e.line, e.message])).toEqual([['RG_CONFIG_REPLACES_CYCLE', 5, 'replaces form a cycle: x -> y -> z -> x']]);
  });
});
