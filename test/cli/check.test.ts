import { execFile } from 'node:child_process';
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
  rg = await startTestSidecar({ 'c.yaml': 'domain: cli\ndescriptors:\n  - key: k\n    value: v\n    descriptors:\n      - key: user\n        rate_limit: { unit: minute, requests_per_unit: 4 }\n' });
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
