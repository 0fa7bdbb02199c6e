/**
 * Every call decided under load: a real sidecar process with default flags on a real redis-server,
 * loaded by a status-counting generator in its own process (bench/grpc-load.ts reads every
 * answer's grpc-status and overall_code; h2load would count errors as successes). With a healthy
 * Redis: zero error answers, the breaker never opens, no Redis error counted, exact limits.
 * `npm test` runs this file last and alone: it saturates the 2 cores on purpose, and another suite
 * beside it would starve Redis of CPU, which no client can tell from a silent Redis (docs/redis.md).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grpcFrame } from '../../bench/grpc-bodies.js';
import { spawnLoad } from '../../bench/spawn-load.js';
import { bucketKey, encodeIdentity } from '../../src/engine/keys.js';
import { tokenBucket } from '../../src/engine/limit.js';
import { encodeRateLimitRequest, type RateLimitRequest } from '../../src/rls/codec.js';
import { type RedisProcess, startRedis } from '../support/redis-server.js';
import { type SidecarProcess, startSidecarProcess } from '../support/sidecar-process.js';
import { readStoredState } from '../support/stored-state.js';
import { DEBIAN_PYTHON } from '../support/system-packages.js';

const run = promisify(execFile);

const CONFIG = [
  'domain: load',
  'descriptors:',
  '  - key: roomy',
  '    rate_limit: { unit: second, requests_per_unit: 4000000000 }',
  '  - key: hundred',
  '    rate_limit: { unit: hour, requests_per_unit: 100 }',
  // A burst of 100,000 that refills 1 per year: what it was charged is what it lacks.
  '  - key: big',
  '    rate_limit: { unit: year, requests_per_unit: 1, capacity: 100000 }',
  '',
].join('\n');

const YEAR_US = 365 * 24 * 3_600_000_000;

let dir: string;
let redis: RedisProcess;
let sidecar: SidecarProcess;

/** Writes the frame of a one-descriptor request to a file for the generator; returns its body option. */
function body(key: string, value: string): { file: string } {
  const request: RateLimitRequest = { domain: 'load', descriptors: [{ entries: [{ key, value }] }], hitsAddend: 0 };
  const file = join(dir, `${key}-${value}.bin`);
  writeFileSync(file, grpcFrame(request));
  return { file };
}

const url = (s: SidecarProcess) => `http://127.0.0.1:${s.grpcPort}`;

/** Redis was never reported as failed: no Redis error of any kind, the breaker never opened. */
async function expectRedisNeverFailed(s: SidecarProcess): Promise<void> {
  for (const kind of ['timeout', 'unavailable', 'auth', 'failed']) {
    expect(await s.metric(`rateguard_redis_errors_total{kind="${kind}"}`), kind).toBe(0);
  }
  expect(await s.metric('rateguard_redis_breaker_state{state="closed"}')).toBe(1);
  expect(s.logs.filter((line) => line.level >= 40).map((line) => line.msg)).toEqual([]);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rg-load-'));
  writeFileSync(join(dir, 'load.yaml'), CONFIG);
  redis = await startRedis();
  sidecar = await startSidecarProcess(['--config', dir, '--redis', redis.url]);
});
afterAll(async () => {
  await sidecar.stop();
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('a sidecar with default flags on a healthy Redis', () => {
  it('at saturation (4 connections x 100 streams, 60,000 calls): 60,000 OK, nothing else', async () => {
    const result = await spawnLoad({ url: url(sidecar), mode: 'closed', connections: 4, streams: 100, calls: 60_000, body: body('roomy', 'saturation') });
    expect({ sent: result.sent, answered: result.answered, codes: result.codes }).toEqual({ sent: 60_000, answered: 60_000, codes: { OK: 60_000 } });
    await expectRedisNeverFailed(sidecar);
  }, 120_000);

  it.each([200, 1000, 3000])(
    'a burst of %i concurrent calls on one connection: all OK',
    async (calls) => {
      const result = await spawnLoad({ url: url(sidecar), mode: 'burst', calls, body: body('roomy', `burst-${calls}`) });
      expect({ answered: result.answered, codes: result.codes }).toEqual({ answered: calls, codes: { OK: calls } });
      await expectRedisNeverFailed(sidecar);
    },
    60_000,
  );

  it('a burst of 400 on a limit of 100: exactly 100 OK and 300 OVER_LIMIT', async () => {
    const result = await spawnLoad({ url: url(sidecar), mode: 'burst', calls: 400, body: body('hundred', 'one-sidecar') });
    expect(result.codes).toEqual({ OK: 100, OVER_LIMIT: 300 });
    await expectRedisNeverFailed(sidecar);
  }, 60_000);

  it('two sidecars, 400 calls at once split over both, on a limit of 100: exactly 100 OK and 300 OVER_LIMIT', async () => {
    const second = await startSidecarProcess(['--config', dir, '--redis', redis.url]);
    try {
      const shared = body('hundred', 'two-sidecars');
      const results = await Promise.all([sidecar, second].map((s) => spawnLoad({ url: url(s), mode: 'burst', calls: 200, body: shared })));
      const ok = results.reduce((n, r) => n + (r.codes.OK ?? 0), 0);
      const over = results.reduce((n, r) => n + (r.codes.OVER_LIMIT ?? 0), 0);
      expect({ ok, over, answered: results[0]!.answered + results[1]!.answered }).toEqual({ ok: 100, over: 300, answered: 400 });
      await expectRedisNeverFailed(second);
    } finally {
      await second.stop();
    }
  }, 60_000);
});

describe('gRPC C-core (grpcio) as the client', () => {
  it('bursts of 100, 200 and 1,000 concurrent calls after a warm-up: all OK', async () => {
    const message = join(dir, 'grpcio-message.bin');
    writeFileSync(message, encodeRateLimitRequest({ domain: 'load', descriptors: [{ entries: [{ key: 'roomy', value: 'grpcio' }] }], hitsAddend: 0 }));
    const { stdout } = await run(DEBIAN_PYTHON, ['test/support/grpcio-burst.py', `127.0.0.1:${sidecar.grpcPort}`, message, '20', '100', '200', '1000'], {
      timeout: 60_000,
    });
    expect(JSON.parse(stdout)).toEqual([{ OK: 100 }, { OK: 200 }, { OK: 1000 }]);
    await expectRedisNeverFailed(sidecar);
  }, 90_000);
});

describe('a sidecar that is itself the bottleneck', () => {
  it('past --max-in-flight calls are shed with RESOURCE_EXHAUSTED and counted as overload, never as a Redis failure', async () => {
    const bounded = await startSidecarProcess(['--config', dir, '--redis', redis.url, '--max-in-flight', '10']);
    try {
      const result = await spawnLoad({ url: url(bounded), mode: 'burst', calls: 1000, body: body('big', 'shed') });
      const { OK: ok = 0, RESOURCE_EXHAUSTED: shed = 0, ...others } = result.codes;
      expect({ others, answered: result.answered, total: ok + shed }).toEqual({ others: {}, answered: 1000, total: 1000 });
      expect(shed).toBeGreaterThan(0);
      expect(await bounded.metric('rateguard_overload_total{reason="in_flight"}')).toBe(shed);
      expect(
        await bounded.metric(
          'grpc_server_handled_total{grpc_service="envoy.service.ratelimit.v3.RateLimitService",grpc_method="ShouldRateLimit",grpc_code="RESOURCE_EXHAUSTED"}',
        ),
      ).toBe(shed);
      await expectRedisNeverFailed(bounded);
      // Shed calls charged nothing: the bucket lacks exactly the OK answers.
      const key = bucketKey(
        'rg:',
        tokenBucket({ capacity: 100_000, refillTokens: 1, periodUs: YEAR_US }).id,
        encodeIdentity('load', [{ key: 'big', value: 'shed' }]),
      );
      expect(Math.round(100_000 - (await readStoredState(redis.client(), key))!.level)).toBe(ok);
    } finally {
      await bounded.stop();
    }
  }, 60_000);
});
