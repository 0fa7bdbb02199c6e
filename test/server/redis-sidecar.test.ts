/** The sidecar's Redis stack end to end: resets reach every sidecar's local cache; health while Redis is away. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketKey, encodeIdentity } from '../../src/engine/keys.js';
import { tokenBucket } from '../../src/engine/limit.js';
import { Code } from '../../src/rls/codec.js';
import { startSidecar } from '../../src/server/sidecar.js';
import { resolveSettings } from '../../src/settings/settings.js';
import { findFreePort, type RedisProcess, startRedis } from '../support/redis-server.js';
import { request, startTestSidecar, type TestSidecar } from '../support/sidecar.js';

const CONFIG = 'domain: r\ndescriptors:\n  - key: k\n    rate_limit: { unit: hour, requests_per_unit: 2 }\n';
const key = (value: string) =>
  bucketKey('rg:', tokenBucket({ capacity: 2, refillTokens: 2, periodUs: 3_600_000_000 }).id, encodeIdentity('r', [{ key: 'k', value }]));

let redis: RedisProcess;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

describe('a sidecar fleet on one Redis', () => {
  let a: TestSidecar;
  let b: TestSidecar;
  beforeAll(async () => {
    const start = () => startTestSidecar({ 'r.yaml': CONFIG }, ['--redis', redis.url, '--redis-timeout', '1000']);
    [a, b] = await Promise.all([start(), start()]);
  });
  afterAll(async () => {
    await Promise.all([a.stop(), b.stop()]);
  });

  it('a reset on one sidecar clears the client in every sidecar local cache', async () => {
    const req = request('r', [['k', 'client']]);
    const codes = [];
    for (const rg of [a, a, a, b, b]) codes.push((await rg.call(req)).overallCode);
    expect(codes).toEqual([Code.OK, Code.OK, Code.OVER_LIMIT, Code.OVER_LIMIT, Code.OVER_LIMIT]);
    // b now answers this client from its local cache; the reset goes through a.
    expect(await a.sidecar.store.reset([key('client')])).toBe(1);
    const deadline = Date.now() + 5000;
    let answer = Code.OVER_LIMIT as number;
    while (answer !== Code.OK && Date.now() < deadline) answer = (await b.call(req)).overallCode;
    expect(answer).toBe(Code.OK);
  });
});

describe('health while Redis is away', () => {
  it('stays SERVING for the server, turns the redis service NOT_SERVING while the breaker is open, and back', async () => {
    const own = await startRedis();
    const rg = await startTestSidecar({ 'r.yaml': CONFIG }, [
      '--redis',
      own.url,
      '--failure-mode',
      'allow',
      '--breaker-threshold',
      '2',
      '--breaker-probe-interval',
      '50',
    ]);
    try {
      expect((await rg.call(request('r', [['k', 'h']]))).overallCode).toBe(Code.OK);
      await own.kill9();
      while (rg.sidecar.health.statusOf('redis') === 'SERVING') await rg.call(request('r', [['k', 'h']]));
      expect(rg.sidecar.health.statusOf('ratelimit')).toBe('SERVING');
      expect((await fetch(`${rg.httpUrl}/healthcheck`)).status).toBe(200);
      await own.restart();
      const deadline = Date.now() + 5000;
      while (rg.sidecar.health.statusOf('redis') !== 'SERVING' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(rg.sidecar.health.statusOf('redis')).toBe('SERVING');
    } finally {
      await rg.stop();
      await own.stop();
    }
  });
});

describe('health before and without traffic', () => {
  it('NOT_SERVING until Redis first answered; calls meanwhile fail at once, named; then SERVING', async () => {
    const port = await findFreePort();
    const dir = mkdtempSync(join(tmpdir(), 'rg-health-'));
    writeFileSync(join(dir, 'r.yaml'), CONFIG);
    const resolved = resolveSettings(
      ['--config', dir, '--grpc-port', '0', '--http-port', '0', '--debug-port', '0', '--host', '127.0.0.1', '--redis', `redis://127.0.0.1:${port}`],
      {},
    );
    if (!resolved.ok) throw new Error(resolved.errors.join('; '));
    const sidecar = await startSidecar(resolved.settings, pino({ level: 'silent' }));
    let own: RedisProcess | undefined;
    try {
      expect([sidecar.health.statusOf('ratelimit'), sidecar.health.statusOf('redis')]).toEqual(['NOT_SERVING', 'NOT_SERVING']);
      expect((await fetch(`http://127.0.0.1:${sidecar.httpPort}/healthcheck`)).status).toBe(500);
      const answer = await fetch(`http://127.0.0.1:${sidecar.httpPort}/json`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ domain: 'r', descriptors: [{ entries: [{ key: 'k', value: 'early' }] }] }),
      });
      expect([answer.status, await answer.text()]).toEqual([503, expect.stringMatching(/redis: not connected/)]);
      const serving = new Promise<void>((resolve) => sidecar.health.on('change', () => sidecar.health.status === 'SERVING' && resolve()));
      own = await startRedis({ port });
      await serving;
      expect([sidecar.health.statusOf('ratelimit'), sidecar.health.statusOf('redis')]).toEqual(['SERVING', 'SERVING']);
    } finally {
      await sidecar.drain();
      await own?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the redis service turns NOT_SERVING when Redis stops answering, with no call at all, and back', async () => {
    const own = await startRedis();
    const rg = await startTestSidecar({ 'r.yaml': CONFIG }, ['--redis', own.url]);
    const redisStatus = () => rg.sidecar.health.statusOf('redis');
    const becomes = (status: string) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (redisStatus() !== status) return;
          rg.sidecar.health.off('change', check);
          resolve();
        };
        rg.sidecar.health.on('change', check);
        check();
      });
    try {
      expect(redisStatus()).toBe('SERVING');
      own.pause(); // the idle heartbeat (1 s) finds it silent
      await becomes('NOT_SERVING');
      expect(rg.sidecar.health.statusOf('ratelimit')).toBe('SERVING');
      own.resume();
      await becomes('SERVING');
    } finally {
      if (own.paused) own.resume();
      await rg.stop();
      await own.stop();
    }
  });

  it('after a short silence the breaker closes as soon as Redis answers again, not a probe interval later', async () => {
    const own = await startRedis();
    const rg = await startTestSidecar({ 'r.yaml': CONFIG }, [
      '--redis',
      own.url,
      '--redis-timeout',
      '50',
      '--breaker-threshold',
      '1',
      '--breaker-probe-interval',
      '600000',
      '--failure-mode',
      'allow',
    ]);
    const health = rg.sidecar.health;
    try {
      own.pause();
      expect((await rg.call(request('r', [['k', 'silent']]))).overallCode).toBe(Code.OK); // by the failure mode
      expect(health.statusOf('redis')).toBe('NOT_SERVING');
      const back = new Promise<void>((resolve) => health.on('change', () => health.statusOf('redis') === 'SERVING' && resolve()));
      const resumedAt = performance.now();
      own.resume();
      await back;
      // Ten minutes of probe interval were not waited out.
      expect(performance.now() - resumedAt).toBeLessThan(5000);
    } finally {
      if (own.paused) own.resume();
      await rg.stop();
      await own.stop();
    }
  });
});
