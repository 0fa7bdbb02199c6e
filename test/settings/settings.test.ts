import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { resolveSettings, SETTINGS, settingsTable } from '../../src/settings/settings.js';

describe('settings', () => {
  it('takes a flag over the environment over the default', () => {
    const fromEnv = resolveSettings([], { GRPC_PORT: '9001' });
    const fromFlag = resolveSettings(['--grpc-port', '9002'], { GRPC_PORT: '9001' });
    const fromDefault = resolveSettings([], {});
    expect([fromEnv, fromFlag, fromDefault].map((r) => (r.ok ? r.settings.grpcPort : r.errors))).toEqual([9001, 9002, 8081]);
  });

  it("reads the reference service's environment names where they mean the same", () => {
    const result = resolveSettings([], { REDIS_TYPE: 'cluster', PORT: '9090', CACHE_KEY_PREFIX: 'x:' });
    expect(result.ok && [result.settings.redisMode, result.settings.httpPort, result.settings.keyPrefix]).toEqual(['cluster', 9090, 'x:']);
  });

  it('accepts --flag=value and bare boolean flags, and returns the other arguments', () => {
    const result = resolveSettings(['--redis-timeout=25', '--shadow-mode', 'extra'], {});
    expect(result.ok && [result.settings.redisTimeoutMs, result.settings.shadowMode, result.rest]).toEqual([25, true, ['extra']]);
  });

  it('names every bad value and unknown flag, and changes nothing', () => {
    const result = resolveSettings(['--grpc-port', '70000', '--no-such-flag', '--failure-mode', 'maybe'], { SHADOW_MODE: 'perhaps' });
    expect(result).toEqual({
      ok: false,
      errors: [
        'unknown option --no-such-flag',
        '--grpc-port: expected a whole number from 0 to 65535, got "70000"',
        '--failure-mode: expected one of error, allow, deny, local, got "maybe"',
        'SHADOW_MODE: expected true or false, got "perhaps"',
      ],
    });
  });

  it('has one row per option in the README, generated from this table (npm run docs:options)', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(`<!-- options:start -->\n${settingsTable()}\n<!-- options:end -->`);
    expect(settingsTable().split('\n')).toHaveLength(Object.keys(SETTINGS).length + 2);
  });
});
