import { execFileSync } from 'node:child_process';
import { expect, it } from 'vitest';

const probe = "console.log([typeof m.rateLimiter, typeof m.MemoryStore, typeof m.RedisStore, typeof m.rlsRateLimiter].join(','))";

it('the built package exports rateLimiter, MemoryStore, RedisStore and rlsRateLimiter to import', () => {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', `import * as m from 'rateguard'; ${probe}`], { encoding: 'utf8' });
  expect(out.trim()).toBe('function,function,function,function');
});

it('... and to await import() from CommonJS', () => {
  const out = execFileSync(process.execPath, ['--input-type=commonjs', '-e', `import('rateguard').then((m) => { ${probe} })`], { encoding: 'utf8' });
  expect(out.trim()).toBe('function,function,function,function');
});
