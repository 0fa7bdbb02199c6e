/**
 * Quota-aware routing end to end, without Envoy: requests go through the interpreter of
 * quota-routing/envoy.yaml (rate limit filter, route cache cleared, routes matching the rate limit
 * service's dynamic metadata), whose rate limit calls go over gRPC, round robin, to two real
 * `rateguard serve` processes on one real Redis, with quota-routing/config and
 * --response-dynamic-metadata. Backend A has 3 per minute per tenant, backend B 5, both in
 * quota_mode; every request counts against both (quota mode charges every descriptor, as the
 * reference), so B has 2 left once A is spent.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateLimitServiceClient, type RateLimitResponse, shouldRateLimit } from '../../src/rls/codec.js';
import { type RedisProcess, startRedis } from '../support/redis-server.js';
import { type SidecarProcess, startSidecarProcess } from '../support/sidecar-process.js';
import { readEnvoyFront, repoFile } from './deploy-files.js';
import { type Forwarded, throughFilters } from './envoy-filter-chain.js';

const front = readEnvoyFront('test/deploy/quota-routing/envoy.yaml');

let redis: RedisProcess;
const sidecars: SidecarProcess[] = [];
const clients: grpc.Client[] = [];
let calls = 0;
/** Every answer of the rate limit service, in call order. */
const answers: RateLimitResponse[] = [];

beforeAll(async () => {
  redis = await startRedis();
  // A generous Redis timeout: exactness is the subject here, not latency on a busy 2-core machine.
  const args = ['--config', repoFile('test/deploy/quota-routing/config'), '--redis', redis.url, '--redis-timeout', '2000', '--response-dynamic-metadata'];
  sidecars.push(...(await Promise.all([startSidecarProcess(args), startSidecarProcess(args)])));
  clients.push(...sidecars.map((s) => new RateLimitServiceClient(`127.0.0.1:${s.grpcPort}`, grpc.credentials.createInsecure())));
}, 30_000);

afterAll(async () => {
  for (const client of clients) client.close();
  await Promise.all(sidecars.map((s) => s.stop()));
  await redis?.stop();
});

async function send(tenant: string | undefined): Promise<Forwarded> {
  const headers = tenant === undefined ? {} : { 'x-tenant': tenant };
  return throughFilters(front, { path: '/v1/chat', peer: '198.51.100.7', headers }, async (request) => {
    const response = await shouldRateLimit(clients[calls++ % clients.length]!, request, { deadline: Date.now() + 5000 });
    answers.push(response);
    return response;
  });
}

/** Where each request went: a cluster, or Envoy's status when it answered itself. */
const destination = (forwarded: Forwarded) => forwarded.cluster ?? forwarded.status;

describe('quota-aware routing through the rate limit service', () => {
  it('spills to the backend that still has quota: 3 requests to A, the next 2 to B, then 429', async () => {
    const destinations = [];
    for (let i = 0; i < 7; i++) destinations.push(destination(await send('t1')));
    expect(destinations).toEqual(['backend_a', 'backend_a', 'backend_a', 'backend_b', 'backend_b', 429, 429]);
    // The answer that sent the 4th request to B: A over its quota (its metadata left out), B not.
    expect(answers[3]!.statuses.map((s) => [s.code, s.limitRemaining])).toEqual([
      [2 /* OVER_LIMIT */, 0],
      [1 /* OK */, 1],
    ]);
    expect(answers[3]!.overallCode).toBe(1);
    expect(answers[3]!.dynamicMetadata).toEqual({
      domain: 'quota_routing',
      descriptors: [{ entries: ['tenant=t1', 'backend=backend_a'] }, { entries: ['tenant=t1', 'backend=backend_b'] }],
      metadata: { backend: 'backend_b' },
    });
  });

  it('30 requests of one tenant at once, over both sidecars: exactly 3 to A, 2 to B, 25 answered 429', async () => {
    const destinations = await Promise.all(Array.from({ length: 30 }, () => send('t2')));
    const counts = new Map<string | number, number>();
    for (const d of destinations.map(destination)) counts.set(d, (counts.get(d) ?? 0) + 1);
    expect(Object.fromEntries(counts)).toEqual({ backend_a: 3, backend_b: 2, 429: 25 });
  });

  it('each tenant has its own quotas; a request without x-tenant sends no descriptor and takes pick_backend to A', async () => {
    expect(destination(await send('t3'))).toBe('backend_a');
    const before = calls;
    expect(await send(undefined)).toEqual({ status: 200, route: 'pick_backend', cluster: 'backend_a' });
    expect(calls).toBe(before); // no rate limit call
  });
});
