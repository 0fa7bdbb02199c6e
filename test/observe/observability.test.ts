import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, startTestSidecar, type TestSidecar } from '../support/sidecar.js';
import { sample } from './prometheus-text.js';
import { WEB_CONFIG } from './web-config.js';

let rg: TestSidecar;
let metrics: string;

async function scrape(): Promise<string> {
  const res = await fetch(`${rg.httpUrl}/metrics`);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

beforeAll(async () => {
  // Identities in full: the expected top-K below names them.
  rg = await startTestSidecar({ 'web.yaml': WEB_CONFIG }, ['--stats-identities', 'full']);
  // Known traffic (each token bucket refills 1 token per 6 s or slower: far longer than this takes).
  for (let i = 0; i < 12; i++) await rg.call(request('web', [['user', 'alice']]));
  for (let i = 0; i < 3; i++) await rg.call(request('web', [['path', '/beta']]));
  for (let i = 0; i < 2; i++) await rg.call({ ...request('web', [['plan', 'gold']]), hitsAddend: 5 });
  await rg.callError(request(''));
  metrics = await scrape();
});
afterAll(async () => {
  await rg.stop();
});

/** With the reference's key1 (first level) and key2 (the rest) beside rateguard's whole `key`. */
const limitLabels = (key: string) => ({ domain: 'web', key, key1: key.split('.')[0]!, key2: key.split('.').slice(1).join('.') });
const limit = (name: string, key: string) => sample(metrics, `ratelimit_service_rate_limit_${name}`, limitLabels(key));

describe('GET /metrics after known traffic', () => {
  it('counts each limit as envoyproxy/ratelimit does (near_limit at 0.8)', () => {
    const counters = ['total_hits', 'within_limit', 'near_limit', 'over_limit', 'shadow_mode', 'over_limit_with_local_cache'];
    expect(counters.map((c) => limit(c, 'user'))).toEqual([12, 10, 2, 2, 0, 0]);
    // Shadow limit of 2: the second hit is near (threshold 1), the third over and shadowed.
    expect(counters.map((c) => limit(c, 'path_/beta'))).toEqual([3, 2, 1, 1, 1, 0]);
    // detailed_metric keeps the value in the key; hits_addend 5 counts 5 hits.
    expect(counters.map((c) => limit(c, 'plan_gold'))).toEqual([10, 10, 0, 0, 0, 0]);
  });

  it('counts requests by result, their latency, and gRPC calls by status code', () => {
    expect(['allowed', 'over_limit', 'shadow_over_limit'].map((result) => sample(metrics, 'rateguard_requests_total', { domain: 'web', result }))).toEqual([
      14, 2, 1,
    ]);
    expect(sample(metrics, 'rateguard_failure_mode_decisions_total', { domain: 'web' })).toBe(0);
    expect(sample(metrics, 'rateguard_should_rate_limit_duration_seconds_count', { source: 'store' })).toBe(17);
    const handled = (code: string) =>
      sample(metrics, 'grpc_server_handled_total', {
        grpc_service: 'envoy.service.ratelimit.v3.RateLimitService',
        grpc_method: 'ShouldRateLimit',
        grpc_code: code,
      });
    expect([handled('OK'), handled('INVALID_ARGUMENT')]).toEqual([17, 1]);
  });

  it('has process metrics, and no Redis families on the memory store', () => {
    expect(sample(metrics, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(sample(metrics, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(metrics).not.toContain('rateguard_redis_');
  });

  it('counts config loads and rejections', async () => {
    expect([sample(metrics, 'ratelimit_service_config_load_success'), sample(metrics, 'ratelimit_service_config_load_error')]).toEqual([1, 0]);
    writeFileSync(join(rg.dir, 'web.yaml'), 'domain: web\ndescriptors: [ {key: ');
    const deadline = Date.now() + 10_000;
    let text = await scrape();
    while (sample(text, 'ratelimit_service_config_load_error') !== 1 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      text = await scrape();
    }
    expect([sample(text, 'ratelimit_service_config_load_success'), sample(text, 'ratelimit_service_config_load_error')]).toEqual([1, 1]);
    // The rejected config changed nothing else.
    expect(sample(text, 'ratelimit_service_rate_limit_total_hits', limitLabels('user'))).toBe(12);
  });

  it('/stats reports the same numbers', async () => {
    const stats = (await (await fetch(`${rg.httpUrl}/stats`)).json()) as Record<string, unknown>;
    expect(stats.totals).toEqual({ requests: 17, allowed: 14, overLimit: 2, shadowOverLimit: 1, failureMode: 0, localCache: 0, domainNotFound: 0 });
    expect(stats.limits).toEqual([
      { domain: 'web', key: 'user', total_hits: 12, within_limit: 10, near_limit: 2, over_limit: 2, shadow_mode: 0, over_limit_with_local_cache: 0 },
      { domain: 'web', key: 'path_/beta', total_hits: 3, within_limit: 2, near_limit: 1, over_limit: 1, shadow_mode: 1, over_limit_with_local_cache: 0 },
      { domain: 'web', key: 'plan_gold', total_hits: 10, within_limit: 10, near_limit: 0, over_limit: 0, shadow_mode: 0, over_limit_with_local_cache: 0 },
    ]);
    expect(stats.topLimited).toEqual([{ domain: 'web', descriptor: [{ key: 'user', value: 'alice' }], limited: 2, error: 0 }]);
    expect(stats.store).toEqual({ kind: 'memory' });
    expect(stats.config).toMatchObject({ domains: ['web'], limits: 3, loads: { success: 1, error: 1, last: { type: 'rejected', reason: 'change' } } });
  });
});
