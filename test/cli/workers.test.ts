/** `rateguard serve --workers N`: node:cluster workers sharing the ports, Redis mode only. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workersProblem } from '../../src/cli/workers.js';
import { Code, RateLimitServiceClient, shouldRateLimit } from '../../src/rls/codec.js';
import { resolveSettings, type Settings } from '../../src/settings/settings.js';
import { spawnNode } from '../support/processes.js';
import { findFreePort, type RedisProcess, startRedis } from '../support/redis-server.js';
import { request } from '../support/sidecar.js';

function settings(argv: string[], env: NodeJS.ProcessEnv = {}): Settings {
  const resolved = resolveSettings(argv, env);
  if (!resolved.ok) throw new Error(resolved.errors.join('; '));
  return resolved.settings;
}

describe('workersProblem', () => {
  it('accepts one worker without Redis and several with Redis', () => {
    expect(workersProblem(settings([]))).toBeUndefined();
    expect(workersProblem(settings(['--workers', '3', '--redis', 'redis://127.0.0.1:6379']))).toBeUndefined();
  });

  it('refuses several workers on the memory store, from the flag or from WORKERS', () => {
    expect(workersProblem(settings(['--workers', '2']))).toMatch(/^--workers 2 needs --redis: .* 2x its limit$/);
    expect(workersProblem(settings([], { WORKERS: '4' }))).toMatch(/^--workers 4 needs --redis/);
  });

  it('rejects 0 workers', () => {
    expect(resolveSettings(['--workers', '0'], {})).toEqual({ ok: false, errors: ['--workers: expected a whole number from 1 to 256, got "0"'] });
  });
});

describe('rateguard serve --workers', () => {
  let redis: RedisProcess;
  let dir: string;
  beforeAll(async () => {
    redis = await startRedis();
    dir = mkdtempSync(join(tmpdir(), 'rg-workers-'));
    writeFileSync(join(dir, 'w.yaml'), 'domain: w\ndescriptors:\n  - key: k\n    rate_limit: { unit: hour, requests_per_unit: 10 }\n');
  });
  afterAll(async () => {
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('exits 2 with a clear message for the memory store', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--workers', '2', '--config', dir], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('rateguard serve: --workers 2 needs --redis: with the memory store each worker would keep its own buckets');
  });

  it('two workers on one Redis share the port and the limits: 10 of 20 calls over 4 connections are OK; SIGTERM exits 0', async () => {
    const grpcPort = await findFreePort();
    const httpPort = await findFreePort();
    const child = spawnNode('src/cli/main.ts', [
      'serve',
      '--workers',
      '2',
      '--redis',
      redis.url,
      '--config',
      dir,
      '--grpc-port',
      String(grpcPort),
      '--http-port',
      String(httpPort),
      '--debug-port',
      '0',
      '--host',
      '127.0.0.1',
    ]);
    // A local subchannel pool per client: four real connections, which the cluster deals out round-robin.
    const clients = [0, 1, 2, 3].map(
      () => new RateLimitServiceClient(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }),
    );
    try {
      await child.waitForLine(/"msg":"workers serving"/);
      const req = request('w', [['k', 'shared']]);
      const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => shouldRateLimit(clients[i % 4]!, req, { deadline: Date.now() + 10_000 })));
      expect(responses.filter((r) => r.overallCode === Code.OK)).toHaveLength(10);
      expect(responses.filter((r) => r.overallCode === Code.OVER_LIMIT)).toHaveLength(10);
      // Both workers decided: each has its own Redis connection whose last command ran the decide code (FCALL).
      const clientList = String(await redis.command('CLIENT', 'LIST'));
      expect(clientList.split('\n').filter((line) => /cmd=fcall/.test(line))).toHaveLength(2);
    } finally {
      for (const client of clients) client.close();
    }
    const exited = new Promise<number | null>((resolve) => child.process.once('exit', (code) => resolve(code)));
    child.process.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
