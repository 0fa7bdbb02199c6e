/**
 * Overdraft in the config (docs/config.md, "overdraft"): the per-limit key, the server default
 * (`--overdraft`, for configs without extension keys such as Envoy Gateway's over xDS), and what
 * the rules refuse. The decisions themselves are in the shared vectors (test/engine/vectors.ts).
 */
import { describe, expect, it } from 'vitest';
import { loadConfigSources, type LoadOptions } from '../../src/config/load.js';
import { resolveSettings } from '../../src/settings/settings.js';
import { entries, snapshotOf } from './helpers.js';

const CONFIG = `domain: llm
descriptors:
  - key: tokens
    rate_limit: {unit: minute, requests_per_unit: 1000, overdraft: true}
  - key: requests
    rate_limit: {unit: minute, requests_per_unit: 1000}
  - key: opted_out
    rate_limit: {unit: minute, requests_per_unit: 1000, overdraft: false}
  - key: window
    rate_limit: {unit: minute, requests_per_unit: 1000, algorithm: fixed_window}
  - key: blocked
    rate_limit: {unit: minute, requests_per_unit: 0}
`;

/** Each descriptor key's engine limit id, under `options`. */
function limitIds(options: LoadOptions): Record<string, string | undefined> {
  const snapshot = snapshotOf(CONFIG, options);
  const idOf = (key: string) => snapshot.match('llm', entries(key, 'x'))?.limits[0]?.limit?.id;
  return Object.fromEntries(['tokens', 'requests', 'opted_out', 'window', 'blocked'].map((key) => [key, idOf(key)]));
}

describe('overdraft in the config', () => {
  it('is off unless a limit asks for it; the key marks the limit id, so its buckets are its own', () => {
    expect(limitIds({})).toEqual({
      tokens: 'tb:1000:1000:60000000:od',
      requests: 'tb:1000:1000:60000000',
      opted_out: 'tb:1000:1000:60000000',
      window: 'fw:1000:60000000',
      blocked: 'tb:0:1:60000000',
    });
  });

  it('the server default applies to every limit without the key, fixed windows too, but not to requests_per_unit: 0', () => {
    expect(limitIds({ overdraft: true })).toEqual({
      tokens: 'tb:1000:1000:60000000:od',
      requests: 'tb:1000:1000:60000000:od',
      opted_out: 'tb:1000:1000:60000000',
      window: 'fw:1000:60000000:od',
      blocked: 'tb:0:1:60000000',
    });
  });

  it('the server default applies to a limit the request supplies', () => {
    const withDefault = snapshotOf(CONFIG, { overdraft: true }).matchOverride('llm', entries('any', 'x'), { requestsPerUnit: 10, unit: 'second' });
    const without = snapshotOf(CONFIG).matchOverride('llm', entries('any', 'x'), { requestsPerUnit: 10, unit: 'second' });
    expect([withDefault?.limits[0]?.limit?.overdraft, without?.limits[0]?.limit?.overdraft]).toEqual([true, false]);
  });

  it('changes the config digest only when on', () => {
    const digest = (options: LoadOptions) => {
      const result = loadConfigSources([{ file: 'a.yaml', text: CONFIG }], options);
      return result.digest;
    };
    expect(digest({ overdraft: false })).toBe(digest({}));
    expect(digest({ overdraft: true })).not.toBe(digest({}));
  });

  it('/rlconfig says which limits take overdraft', () => {
    const lines = snapshotOf(CONFIG).dump().split('\n');
    expect(lines[0]).toBe(
      'llm.tokens: unit=MINUTE requests_per_unit=1000, shadow_mode: false, quota_mode: false, algorithm: token_bucket, capacity: 1000, overdraft: true',
    );
    expect(lines[1]).toBe('llm.requests: unit=MINUTE requests_per_unit=1000, shadow_mode: false, quota_mode: false, algorithm: token_bucket, capacity: 1000');
  });

  it.each([
    [
      'overdraft: true, requests_per_unit: 0',
      'RG_CONFIG_BAD_OVERDRAFT',
      'overdraft cannot be given with requests_per_unit: 0 (a limit that admits nothing has no debt to repay)',
    ],
    ['unlimited: true, overdraft: false', 'RG_CONFIG_UNLIMITED_WITH_LIMIT', '"overdraft" cannot be given with unlimited: true'],
    ['overdraft: 3, requests_per_unit: 1', 'RG_CONFIG_WRONG_TYPE', 'expected true or false, got number "3"'],
  ])('refuses %s', (fields, code, message) => {
    const text = `domain: d\ndescriptors:\n  - key: k\n    rate_limit:\n      unit: second\n      ${fields.replace(/, /g, '\n      ')}\n`;
    const result = loadConfigSources([{ file: 'd.yaml', text }], { overdraft: true });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const atOverdraft = result.errors.filter((e) => e.path === 'descriptors[0].rate_limit.overdraft');
    expect(atOverdraft.map((e) => [e.code, e.message])).toEqual([[code, message]]);
  });
});

describe('the --overdraft setting', () => {
  it('is off by default, and set by the flag or OVERDRAFT=true', () => {
    const overdraftOf = (argv: string[], env: NodeJS.ProcessEnv) => {
      const resolved = resolveSettings(argv, env);
      return resolved.ok ? resolved.settings.overdraft : resolved.errors;
    };
    expect([overdraftOf([], {}), overdraftOf(['--overdraft'], {}), overdraftOf([], { OVERDRAFT: 'true' })]).toEqual([false, true, true]);
  });
});
