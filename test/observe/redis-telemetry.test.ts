/**
 * Redis telemetry against a real, password-protected redis-server: round trips, errors by kind,
 * breaker state and local cache on /metrics and /stats, through an outage and back; and the logs
 * of it all: one line per state change, with neither the Redis password nor the admin token.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observe/logger.js';
import { Code, RateLimitServiceClient, shouldRateLimit } from '../../src/rls/codec.js';
import { type Sidecar, startSidecar } from '../../src/server/sidecar.js';
import { resolveSettings } from '../../src/settings/settings.js';
import { type RedisProcess, startRedis } from '../support/redis-server.js';
import { request } from '../support/sidecar.js';
import { sample } from './prometheus-text.js';
import { LOOPBACK_FREE_PORTS } from '../support/serve-args.js';

const PASSWORD = 'pw-Zq81-never-logged';
const TOKEN = 'tok-Hh27-never-logged';
const CONFIG = 'domain: web\ndescriptors:\n  - key: user\n    rate_limit: { unit: minute, requests_per_unit: 2 }\n';

let redis: RedisProcess;
let sidecar: Sidecar;
let client: grpc.Client;
let dir: string | undefined;
let http: string;
const logLines: string[] = [];

beforeAll(async () => {
  redis = await startRedis();
  // Set after start: the harness probes PING without credentials.
  await redis.command('CONFIG', 'SET', 'requirepass', PASSWORD);
  dir = mkdtempSync(join(tmpdir(), 'rg-telemetry-'));
  writeFileSync(join(dir, 'web.yaml'), CONFIG);
  const resolved = resolveSettings(
    [
      '--config',
      dir,
      ...LOOPBACK_FREE_PORTS,
      '--redis',
      `redis://:${PASSWORD}@127.0.0.1:${redis.port}`,
      '--redis-timeout',
      '200',
      '--failure-mode',
      'allow',
      '--breaker-threshold',
      '2',
      '--breaker-probe-interval',
      '50',
      '--admin-token',
      TOKEN,
    ],
    {},
  );
  if (!resolved.ok) throw new Error(resolved.errors.join('; '));
  const logger = createLogger({ level: 'info', destination: { write: (line: string) => void logLines.push(line) } });
  sidecar = await startSidecar(resolved.settings, logger);
  await sidecar.health.whenServing();
  client = new RateLimitServiceClient(`127.0.0.1:${sidecar.grpcPort}`, grpc.credentials.createInsecure());
  http = `http://127.0.0.1:${sidecar.httpPort}`;
});
afterAll(async () => {
  client?.close();
  await sidecar?.drain();
  await redis?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

const call = async (user: string) => (await shouldRateLimit(client, request('web', [['user', user]]), { deadline: Date.now() + 5000 })).overallCode;
const scrape = async () => (await fetch(`${http}/metrics`)).text();
const reset = (auth: string | undefined) =>
  fetch(`${http}/reset`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(auth === undefined ? {} : { authorization: auth }) },
    body: JSON.stringify({ domain: 'web', descriptor: 'user=bob' }),
  });

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('Redis telemetry', () => {
  it('times round trips and counts local-cache answers', async () => {
    expect([await call('bob'), await call('bob'), await call('bob'), await call('bob')]).toEqual([Code.OK, Code.OK, Code.OVER_LIMIT, Code.OVER_LIMIT]);
    const text = await scrape();
    // The fourth call was answered by the local over-limit cache, without Redis.
    expect(sample(text, 'rateguard_redis_round_trip_seconds_count', { operation: 'decide' })).toBe(3);
    expect(sample(text, 'ratelimit_service_rate_limit_over_limit', { domain: 'web', key: 'user', key1: 'user', key2: '' })).toBe(2);
    expect(sample(text, 'ratelimit_service_rate_limit_over_limit_with_local_cache', { domain: 'web', key: 'user', key1: 'user', key2: '' })).toBe(1);
    expect(sample(text, 'rateguard_local_cache_hits_total')).toBe(1);
    expect(sample(text, 'rateguard_local_cache_entries')).toBe(1);
    expect(sample(text, 'rateguard_redis_breaker_state', { state: 'closed' })).toBe(1);
    expect(sample(text, 'rateguard_redis_up')).toBe(1);
    expect(['timeout', 'unavailable', 'failed'].map((kind) => sample(text, 'rateguard_redis_errors_total', { kind }))).toEqual([0, 0, 0]);
  });

  it('resets through the store and its local cache, with the token only', async () => {
    expect((await reset(undefined)).status).toBe(401);
    expect((await reset(`Bearer ${TOKEN}x`)).status).toBe(401);
    expect(await call('bob')).toBe(Code.OVER_LIMIT);
    const ok = await reset(`Bearer ${TOKEN}`);
    expect([ok.status, await ok.json()]).toEqual([200, { domain: 'web', descriptor: [{ key: 'user', value: 'bob' }], buckets: 1, cleared: 1 }]);
    expect(await call('bob')).toBe(Code.OK);
  });

  it('counts every failed round trip through an outage, and shows the breaker', async () => {
    const before = await scrape();
    const okDecides = sample(before, 'rateguard_redis_round_trip_seconds_count', { operation: 'decide' })!;
    await redis.terminate();
    for (let i = 0; i < 4; i++) expect(await call('carol')).toBe(Code.OK);
    const text = await scrape();
    const errors = ['timeout', 'unavailable', 'failed'].map((kind) => sample(text, 'rateguard_redis_errors_total', { kind })!);
    const failedTrips =
      sample(text, 'rateguard_redis_round_trip_seconds_count', { operation: 'decide' })! -
      okDecides +
      (sample(text, 'rateguard_redis_round_trip_seconds_count', { operation: 'probe' }) ?? 0);
    expect(errors.reduce((a, b) => a + b, 0)).toBe(failedTrips);
    expect(failedTrips).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'rateguard_failure_mode_decisions_total', { domain: 'web' })).toBe(4);
    expect(sample(text, 'rateguard_redis_breaker_state', { state: 'open' })).toBe(1);
    expect(sample(text, 'rateguard_redis_up')).toBe(0);
    const stats = (await (await fetch(`${http}/stats`)).json()) as { store: { kind: string; redis: { up: boolean; breaker: string } } };
    expect(stats.store).toMatchObject({ kind: 'redis', redis: { up: false, breaker: 'open' } });

    await redis.restart();
    await redis.command('CONFIG', 'SET', 'requirepass', PASSWORD);
    await until('the breaker to close', async () => {
      const s = (await (await fetch(`${http}/stats`)).json()) as typeof stats;
      return s.store.redis.breaker === 'closed' && s.store.redis.up;
    });
    expect(await call('dave')).toBe(Code.OK);
    expect(sample(await scrape(), 'rateguard_redis_up')).toBe(1);
  });

  it('logged each state change once, and no secret', () => {
    const all = logLines.join('');
    expect(all).not.toContain(PASSWORD);
    expect(all).not.toContain(TOKEN);
    expect(logLines.filter((l) => /circuit breaker open/.test(l))).toHaveLength(1);
    expect(logLines.filter((l) => /circuit breaker closed/.test(l))).toHaveLength(1);
    // Nothing per request.
    expect(logLines.filter((l) => /bob|carol|dave/.test(l))).toEqual([]);
  });
});
