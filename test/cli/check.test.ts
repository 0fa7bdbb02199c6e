import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestSidecar, type TestSidecar } from '../support/sidecar.js';

const run = promisify(execFile);
const rateguard = (...args: string[]) =>
  run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args]).then(
    ({ stdout }) => ({ code: 0, stdout, stderr: '' }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );

let rg: TestSidecar;
beforeAll(async () => {
  rg = await startTestSidecar({
    'c.yaml':
      'domain: cli\ndescriptors:\n  - key: k\n    value: v\n    descriptors:\n      - key: user\n        rate_limit: { unit: minute, requests_per_unit: 4 }\n',
  });
});
afterAll(async () => {
  await rg.stop();
});

it('rateguard check makes one call and prints the response as proto3 JSON', async () => {
  const addr = `127.0.0.1:${rg.sidecar.grpcPort}`;
  const result = await rateguard('check', '--addr', addr, '--domain', 'cli', '--descriptor', 'k=v,user=a=b', '--hits', '3');
  expect(result.code).toBe(0);
  expect(JSON.parse(result.stdout)).toEqual({
    overallCode: 'OK',
    statuses: [{ code: 'OK', currentLimit: { requestsPerUnit: 4, unit: 'MINUTE' }, limitRemaining: 1, durationUntilReset: '45s' }],
  });
});

it('rateguard check explains bad arguments and unreachable servers', async () => {
  const bad = await rateguard('check', '--addr', '127.0.0.1:1', '--domain', 'cli', '--descriptor', 'novalue');
  expect([bad.code, bad.stderr]).toEqual([2, expect.stringContaining('descriptor entry "novalue" is not key=value')]);
  const down = await rateguard('check', '--addr', '127.0.0.1:1', '--domain', 'cli', '--descriptor', 'k=v', '--timeout', '500');
  expect(down.code).toBe(1);
  expect(down.stderr).toMatch(/ShouldRateLimit failed: (UNAVAILABLE|DEADLINE_EXCEEDED)/);
});

it('rateguard check exits 3 on OVER_LIMIT and says limitRemaining 0', async () => {
  const addr = `127.0.0.1:${rg.sidecar.grpcPort}`;
  const args = ['check', '--addr', addr, '--domain', 'cli', '--descriptor', 'k=v,user=spent'];
  expect((await rateguard(...args, '--hits', '4')).code).toBe(0);
  const over = await rateguard(...args);
  expect(over.code).toBe(3);
  expect(JSON.parse(over.stdout).statuses[0]).toMatchObject({ code: 'OVER_LIMIT', limitRemaining: 0 });
});

it('rateguard check names what is wrong with an argument', async () => {
  const bad = await rateguard('check', '--domain', 'cli', '--descriptor', 'k=v', '--hits', 'abc');
  expect([bad.code, bad.stderr.split('\n')[0]]).toEqual([2, '--hits must be a whole number, got "abc"']);
  const none = await rateguard('check', '--descriptor', 'k=v');
  expect([none.code, none.stderr.split('\n')[0]]).toEqual([2, '--domain is required']);
});

it.each(['serve', 'validate', 'check', 'start', 'options'])('rateguard %s --help and -h print its usage and exit 0', async (command) => {
  for (const flag of ['--help', '-h']) {
    const result = await rateguard(command, flag);
    expect([result.code, result.stdout.startsWith(`usage: rateguard ${command}`)]).toEqual([0, true]);
  }
});

it('rateguard --version prints the package version', async () => {
  const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
  expect(await rateguard('--version')).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
});
