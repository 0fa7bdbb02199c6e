/** The sidecar as an OS process: shared limits across processes on one Redis, SIGHUP, SIGTERM. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Code, RateLimitServiceClient, shouldRateLimit } from '../../src/rls/codec.js';
import { type RedisProcess, startRedis } from '../support/redis-server.js';
import { type SidecarProcess, startSidecarProcess } from '../support/sidecar-process.js';
import { request } from '../support/sidecar.js';

let redis: RedisProcess;
let dir: string;
beforeAll(async () => {
  redis = await startRedis();
  dir = mkdtempSync(join(tmpdir(), 'rg-proc-'));
  writeFileSync(join(dir, 'shared.yaml'), 'domain: shared\ndescriptors:\n  - key: k\n    rate_limit: { unit: hour, requests_per_unit: 100 }\n');
});
afterAll(async () => {
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
});

function startServe(extra: string[] = []): Promise<SidecarProcess> {
  return startSidecarProcess(['--config', dir, ...extra]);
}

it('two sidecar processes on one Redis, default flags: 400 concurrent calls on a limit of 100 give exactly 100 OK', async () => {
  const sidecars = await Promise.all([0, 1].map(() => startServe(['--redis', redis.url])));
  const clients = sidecars.map((s) => new RateLimitServiceClient(`127.0.0.1:${s.grpcPort}`, grpc.credentials.createInsecure()));
  try {
    const req = request('shared', [['k', 'exact']]);
    const responses = await Promise.all(Array.from({ length: 400 }, (_, i) => shouldRateLimit(clients[i % 2]!, req, { deadline: Date.now() + 10_000 })));
    expect(responses.filter((r) => r.overallCode === Code.OK)).toHaveLength(100);
    expect(responses.filter((r) => r.overallCode === Code.OVER_LIMIT)).toHaveLength(300);
  } finally {
    for (const client of clients) client.close();
    await Promise.all(sidecars.map((s) => s.child.stop()));
  }
});

it('SIGHUP reloads the config; SIGTERM turns health NOT_SERVING and exits 0', async () => {
  const file = join(dir, 'hup.yaml');
  writeFileSync(file, 'domain: hup\ndescriptors:\n  - key: k\n    rate_limit: { unit: hour, requests_per_unit: 7 }\n');
  const { child, httpPort } = await startServe();
  const rlconfig = async () => (await fetch(`http://127.0.0.1:${httpPort}/rlconfig`)).text();
  expect(await rlconfig()).toContain('hup.k: unit=HOUR requests_per_unit=7');
  writeFileSync(file, 'domain: hup\ndescriptors:\n  - key: k\n    rate_limit: { unit: hour, requests_per_unit: 8 }\n');
  child.process.kill('SIGHUP');
  await child.waitForLine(/"msg":"config loaded".*"reason":"(reload|change)"|"reason":"(reload|change)".*"msg":"config loaded"/);
  expect(await rlconfig()).toContain('hup.k: unit=HOUR requests_per_unit=8');

  const exited = new Promise<number | null>((resolve) => child.process.once('exit', (code) => resolve(code)));
  child.process.kill('SIGTERM');
  await child.waitForLine(/"msg":"draining"/);
  expect(await exited).toBe(0);
  rmSync(file);
});
