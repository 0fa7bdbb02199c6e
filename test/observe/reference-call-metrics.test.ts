/**
 * The reference's per-call Prometheus families, scraped from the sidecar's own Prometheus listener
 * (`--prometheus`, as USE_PROMETHEUS) after real gRPC calls: exact values and labels.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { Code } from '../../src/rls/codec.js';
import { startRedis } from '../support/redis-server.js';
import { request, startTestSidecar, type TestSidecar } from '../support/sidecar.js';
import { sample } from './prometheus-text.js';

// 2 an hour: OK, OK, OVER_LIMIT.
const CONFIG = 'domain: s\ndescriptors:\n  - key: k\n    rate_limit: { unit: hour, requests_per_unit: 2 }\n';
const PROMETHEUS = ['--prometheus', '--prometheus-addr', '127.0.0.1:0'];
const METHOD = { grpc_method: 'ShouldRateLimit' };

let rg: TestSidecar;
afterEach(async () => {
  await rg.stop();
});

async function scrape(): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${rg.sidecar.prometheusPort}/metrics`);
  expect(response.status).toBe(200);
  return response.text();
}

/** `curl -d` to POST /json: its HTTP status. */
async function json(body: object): Promise<number> {
  return (await fetch(`${rg.httpUrl}/json`, { method: 'POST', body: new TextEncoder().encode(JSON.stringify(body)) })).status;
}

const errors = (text: string) =>
  ['redis_error', 'service_error'].map((errType) => sample(text, 'ratelimit_service_should_rate_limit_error', { err_type: errType }));

describe("the reference's call families on the Prometheus listener", () => {
  it("total_requests, should_rate_limit_error, response_time_seconds (the reference's buckets), config loads, global_shadow_mode", async () => {
    rg = await startTestSidecar({ 's.yaml': CONFIG }, PROMETHEUS);
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push((await rg.call(request('s', [['k', 'v']]))).overallCode);
    expect(codes).toEqual([Code.OK, Code.OK, Code.OVER_LIMIT]);
    // The reference's service error: an empty domain, over gRPC and over /json.
    expect((await rg.callError({ domain: '', descriptors: [], hitsAddend: 0 })).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(await json({ domain: '', descriptors: [] })).toBe(400);

    const text = await scrape();
    // total_requests counts gRPC calls only (the reference's is a gRPC interceptor); errors count /json too.
    expect(sample(text, 'ratelimit_service_total_requests', METHOD)).toBe(4);
    expect(errors(text)).toEqual([0, 2]);
    // Every call the service answered is timed, as the reference times every call: three decisions and
    // the two refusals, each well under 10 s, so every bucket up to +Inf holds them.
    expect(sample(text, 'ratelimit_service_response_time_seconds_count', METHOD)).toBe(5);
    const buckets = [...text.matchAll(/^ratelimit_service_response_time_seconds_bucket\{le="([^"]+)",grpc_method="ShouldRateLimit"\} (\d+)$/gm)];
    expect(buckets.map((m) => m[1])).toEqual(['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf']);
    expect(sample(text, 'ratelimit_service_response_time_seconds_bucket', { ...METHOD, le: '10' })).toBe(5);
    expect(sample(text, 'ratelimit_service_config_load_success')).toBe(1);
    expect(sample(text, 'ratelimit_service_config_load_error')).toBe(0);
    expect(sample(text, 'ratelimit_service_global_shadow_mode')).toBe(0);
    // rateguard's own families stay beside them.
    expect(
      sample(text, 'grpc_server_handled_total', {
        grpc_service: 'envoy.service.ratelimit.v3.RateLimitService',
        grpc_method: 'ShouldRateLimit',
        grpc_code: 'OK',
      }),
    ).toBe(3);
  });

  it('global shadow mode: an over-limit request answered OK counts in global_shadow_mode', async () => {
    rg = await startTestSidecar({ 's.yaml': CONFIG }, [...PROMETHEUS, '--shadow-mode']);
    for (let i = 0; i < 3; i++) expect((await rg.call(request('s', [['k', 'v']]))).overallCode).toBe(Code.OK);
    expect(sample(await scrape(), 'ratelimit_service_global_shadow_mode')).toBe(1);
  });

  it.each([
    ['error', 'the call fails UNAVAILABLE'],
    ['allow', 'the failure mode answers OK'],
  ])('a Redis that stopped answering is a redis_error (--failure-mode %s: %s)', async (failureMode) => {
    const redis = await startRedis();
    rg = await startTestSidecar({ 's.yaml': CONFIG }, [
      ...PROMETHEUS,
      '--redis',
      `redis://127.0.0.1:${redis.port}`,
      '--failure-mode',
      failureMode,
      '--local-cache-size',
      '0',
    ]);
    expect((await rg.call(request('s', [['k', 'v']]))).overallCode).toBe(Code.OK);
    await redis.stop();
    if (failureMode === 'error') expect((await rg.callError(request('s', [['k', 'v']]))).code).toBe(grpc.status.UNAVAILABLE);
    else expect((await rg.call(request('s', [['k', 'v']]))).overallCode).toBe(Code.OK);
    expect(await json({ domain: 's', descriptors: [{ entries: [{ key: 'k', value: 'v' }] }] })).toBe(failureMode === 'error' ? 503 : 200);
    const text = await scrape();
    expect([sample(text, 'ratelimit_service_total_requests', METHOD), ...errors(text)]).toEqual([2, 2, 0]);
    // Every call the service answered is timed, the failed ones too (as the reference times every call).
    expect(sample(text, 'ratelimit_service_response_time_seconds_count', METHOD)).toBe(3);
  });

  it('before a first config (a forced start), UNAVAILABLE answers are service errors, as the reference counts them', async () => {
    rg = await startTestSidecar({ 's.yaml': 'domain: s\ndescriptors: [ {key: ' }, [...PROMETHEUS, '--force-start-without-initial-config']);
    expect((await rg.callError(request('s', [['k', 'v']]))).code).toBe(grpc.status.UNAVAILABLE);
    writeFileSync(join(rg.dir, 's.yaml'), CONFIG);
    expect((await rg.sidecar.watcher.reload()).event.type).toBe('loaded');
    expect((await rg.call(request('s', [['k', 'v']]))).overallCode).toBe(Code.OK);
    const text = await scrape();
    expect([sample(text, 'ratelimit_service_total_requests', METHOD), ...errors(text)]).toEqual([2, 0, 1]);
    expect(sample(text, 'ratelimit_service_response_time_seconds_count', METHOD)).toBe(2);
    expect(sample(text, 'ratelimit_service_config_load_error')).toBe(1);
  });
});
