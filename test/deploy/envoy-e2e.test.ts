/**
 * The Envoy demo end to end, without Envoy: sample HTTP requests go through the interpreter of
 * envoy/envoy.yaml (routes, client address, rate_limits actions), and the descriptors it yields are
 * sent — round robin, as Envoy's rateguard cluster balances — to two real `rateguard serve`
 * processes on one real Redis, with the bundled config/. The limits the README promises hold
 * exactly across the two.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Code, RateLimitServiceClient, shouldRateLimit } from '../../src/rls/codec.js';
import { type Child, spawnNode } from '../support/processes.js';
import { type RedisProcess, startRedis } from '../support/redis-server.js';
import { at, readEnvoyFront, repoFile } from './deploy-files.js';
import { routeRequest, type SampleRequest } from './envoy-rate-limits.js';
import { LOOPBACK_FREE_PORTS } from '../support/serve-args.js';

const front = readEnvoyFront();
const domain = String(at(front.rateLimit, 'domain'));

interface Answer {
  readonly status: number;
  /** Which sidecar decided; undefined when Envoy made no call. */
  readonly sidecar: number | undefined;
}

let redis: RedisProcess;
const sidecars: Child[] = [];
const clients: grpc.Client[] = [];
let nextSidecar = 0;

beforeAll(async () => {
  redis = await startRedis();
  for (let i = 0; i < 2; i++) {
    // A generous Redis timeout: exactness is the subject here, not latency on a busy 2-core machine.
    const child = spawnNode('src/cli/main.ts', [
      'serve',
      '--config',
      repoFile('config'),
      ...LOOPBACK_FREE_PORTS,
      '--redis',
      redis.url,
      '--redis-timeout',
      '2000',
    ]);
    sidecars.push(child);
  }
  for (const child of sidecars) {
    const { grpcPort } = JSON.parse(await child.waitForLine(/"msg":"rateguard serving"/)) as { grpcPort: number };
    await child.waitForLine(/"msg":"redis available"/);
    clients.push(new RateLimitServiceClient(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure()));
  }
});

afterAll(async () => {
  for (const client of clients) client.close();
  await Promise.all(sidecars.map((child) => child.stop()));
  await redis?.stop();
});

/** What Envoy answers the client: its own 404s, 200 when nothing is limited or rateguard says OK, 429 on OVER_LIMIT. */
async function throughEnvoy(request: SampleRequest): Promise<Answer> {
  const outcome = routeRequest(front.routes, request, front.addressRules);
  if (outcome.kind === 'no-route') return { status: 404, sidecar: undefined };
  if (outcome.kind === 'direct') return { status: outcome.status, sidecar: undefined };
  if (outcome.descriptors.length === 0) return { status: 200, sidecar: undefined };
  const sidecar = nextSidecar++ % clients.length;
  const response = await shouldRateLimit(
    clients[sidecar]!,
    { domain, descriptors: outcome.descriptors.map((entries) => ({ entries })), hitsAddend: 0 },
    { deadline: Date.now() + 5000 },
  );
  return { status: response.overallCode === Code.OVER_LIMIT ? 429 : 200, sidecar };
}

const statuses = (answers: Answer[]) => answers.map((a) => a.status);
const count = (answers: Answer[], status: number) => answers.filter((a) => a.status === status).length;

async function inSequence(requests: SampleRequest[]): Promise<Answer[]> {
  const answers: Answer[] = [];
  for (const request of requests) answers.push(await throughEnvoy(request));
  return answers;
}

describe('the Envoy demo across two rateguard processes on one Redis', () => {
  it('ten quick GETs of /api/expensive: five 200s, then 429s — whichever sidecar answers; a forged X-Forwarded-For changes nothing', async () => {
    const client = '198.51.100.10';
    const answers = await inSequence(Array.from({ length: 10 }, () => ({ path: '/api/expensive', peer: client })));
    expect(statuses(answers)).toEqual([200, 200, 200, 200, 200, 429, 429, 429, 429, 429]);
    expect(new Set(answers.map((a) => a.sidecar))).toEqual(new Set([0, 1]));

    const forged = await throughEnvoy({ path: '/api/expensive', peer: client, headers: { 'x-forwarded-for': '203.0.113.77' } });
    expect(forged.status).toBe(429);
    const variants = await inSequence(['/api/expensive/', '/API/Expensive?x=1'].map((path) => ({ path, peer: client })));
    expect(statuses(variants)).toEqual([429, 429]);
    // Another client has its own five; /api/hello is not the expensive route.
    expect((await throughEnvoy({ path: '/api/expensive', peer: '198.51.100.11' })).status).toBe(200);
    expect((await throughEnvoy({ path: '/api/hello', peer: client })).status).toBe(200);
  });

  it('60 per minute per client: exactly 60 of 70 concurrent requests to /api/hello, split over both sidecars', async () => {
    const started = performance.now();
    const answers = await Promise.all(Array.from({ length: 70 }, () => throughEnvoy({ path: '/api/hello', peer: '198.51.100.20' })));
    const elapsedMs = performance.now() - started;
    // The bucket refills one request per second: exactly 60 when the batch takes under a second
    // (it takes well under one), one more per second it took on a very busy machine.
    const refilled = Math.floor(elapsedMs / 1000);
    expect(count(answers, 200)).toBeGreaterThanOrEqual(60);
    expect(count(answers, 200)).toBeLessThanOrEqual(60 + refilled);
    expect(count(answers, 200) + count(answers, 429)).toBe(70);
    expect((await throughEnvoy({ path: '/api/hello', peer: '198.51.100.21' })).status).toBe(200);
  });

  it('an API key bursts to 20 per second across clients; another key is untouched; admin paths never reach rateguard', async () => {
    const started = performance.now();
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => throughEnvoy({ path: '/api/hello', peer: `198.51.100.${100 + i}`, headers: { 'x-api-key': 'key-a' } })),
    );
    const elapsedMs = performance.now() - started;
    // 20 at once, then one more every 50 ms: at most 20 + what refilled while the batch ran.
    expect(count(answers, 200)).toBeGreaterThanOrEqual(20);
    expect(count(answers, 200)).toBeLessThanOrEqual(20 + Math.ceil(elapsedMs / 50));
    expect((await throughEnvoy({ path: '/api/hello', peer: '198.51.100.99', headers: { 'x-api-key': 'key-b' } })).status).toBe(200);
    expect(await throughEnvoy({ path: '/api/admin/reset/198.51.100.10', peer: '198.51.100.10' })).toEqual({ status: 404, sidecar: undefined });
  });
});
