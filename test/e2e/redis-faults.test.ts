/**
 * Redis faults under steady load, against a real sidecar process: kill -9 and restart, a paused
 * (SIGSTOP) Redis, SCRIPT FLUSH. Every call must be answered, within the Redis timeout plus a
 * margin, with the configured failure mode; decisions must come from Redis again soon after it
 * returns; nothing may be counted twice; errors are logged per state change, not per request.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Code, RateLimitServiceClient, type RateLimitRequest, shouldRateLimit } from '../../src/rls/codec.js';
import { spawnNode } from '../support/processes.js';
import { type RedisProcess, startRedis } from '../support/redis-server.js';
import { LOOPBACK_FREE_PORTS } from '../support/serve-args.js';

/** A burst this large, refilling 1000 per year: no refill to speak of while the test runs. */
const CAPACITY = 1_000_000;
const TIMEOUT_MS = 50;
/** Scheduling noise on a shared 2-core machine; the point is "bounded", not "fast". */
const MARGIN_MS = 300;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rg-faults-'));
  writeFileSync(
    join(dir, 'f.yaml'),
    `domain: faults\ndescriptors:\n  - key: k\n    rate_limit: { unit: year, requests_per_unit: 1000, capacity: ${CAPACITY} }\n`,
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Call {
  at: number;
  ms: number;
  outcome: 'store' | 'failure_mode' | 'error';
  remaining: number;
}

/** A sidecar process, a client and a steady load of `workers` concurrent call loops. */
async function harness(redis: RedisProcess, failureMode: string) {
  const child = spawnNode('src/cli/main.ts', [
    'serve',
    '--config',
    dir,
    ...LOOPBACK_FREE_PORTS,
    '--redis',
    redis.url,
    '--redis-timeout',
    String(TIMEOUT_MS),
    '--failure-mode',
    failureMode,
    '--breaker-threshold',
    '3',
    '--breaker-probe-interval',
    '100',
    '--local-cache-size',
    '0',
  ]);
  const logLevels: number[] = [];
  child.process.stdout.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.startsWith('{')) logLevels.push((JSON.parse(line) as { level: number }).level);
  });
  const { grpcPort } = JSON.parse(await child.waitForLine(/"msg":"rateguard serving"/)) as { grpcPort: number };
  await child.waitForLine(/"msg":"redis available"/);
  const client = new RateLimitServiceClient(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure());
  const calls: Call[] = [];
  const key = `load-${Math.random()}`;
  const call = async (hits?: number): Promise<Call> => {
    const req: RateLimitRequest = {
      domain: 'faults',
      descriptors: [{ entries: [{ key: 'k', value: key }], ...(hits === undefined ? {} : { hitsAddend: hits }) }],
      hitsAddend: 0,
    };
    const started = performance.now();
    try {
      const res = await shouldRateLimit(client, req, { deadline: Date.now() + 5000 });
      const remaining = res.statuses[0]!.limitRemaining;
      // A failure-mode "allow" reports the full capacity; Redis always reports what is left.
      const outcome = res.overallCode === Code.OK && remaining < CAPACITY ? 'store' : 'failure_mode';
      return { at: started, ms: performance.now() - started, outcome, remaining };
    } catch {
      return { at: started, ms: performance.now() - started, outcome: 'error', remaining: -1 };
    }
  };
  let running = true;
  const loops = Array.from({ length: 4 }, async () => {
    while (running) calls.push(await call());
  });
  await new Promise((resolve) => setTimeout(resolve, 0));
  return {
    calls,
    logLevels,
    /** Waits until a call after `since` was decided by Redis; resolves with that call's time. */
    async firstStoreCallAfter(since: number, timeoutMs: number): Promise<number> {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const found = calls.find((c) => c.at > since && c.outcome === 'store');
        if (found !== undefined) return found.at;
        if (performance.now() > deadline) throw new Error(`no decision from Redis within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    async stopLoad() {
      running = false;
      await Promise.all(loops);
    },
    /** A look at the bucket (hits_addend 0 on the descriptor): what Redis holds now. */
    peek: () => call(0),
    async stop() {
      client.close();
      await child.stop();
    },
    child,
  };
}

async function waitForCalls(calls: Call[], since: number, count: number): Promise<void> {
  while (calls.filter((c) => c.at > since).length < count) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe('Redis faults under steady load', () => {
  let redis: RedisProcess;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });

  it('kill -9 and restart: every call answered in time by the failure mode, Redis back within 2 s, nothing counted twice', async () => {
    const h = await harness(redis, 'allow');
    try {
      await waitForCalls(h.calls, 0, 200);
      const killedAt = performance.now();
      await redis.kill9();
      await waitForCalls(h.calls, killedAt, 300);
      const restartedAt = performance.now();
      await redis.restart();
      const backAt = await h.firstStoreCallAfter(restartedAt, 2000);
      expect(backAt - restartedAt).toBeLessThan(2000);
      await waitForCalls(h.calls, backAt, 200);
      await h.stopLoad();
      const peek = await h.peek();

      expect(h.calls.filter((c) => c.outcome === 'error')).toEqual([]);
      const slowest = h.calls.reduce((a, b) => (b.ms > a.ms ? b : a));
      const when = { ms: Math.round(slowest.ms), sinceKill: Math.round(slowest.at - killedAt), sinceRestart: Math.round(slowest.at - restartedAt) };
      expect(when.ms, JSON.stringify(when)).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
      // Redis restarted empty: exactly the store-decided calls since then were charged, once each.
      const chargedSinceRestart = h.calls.filter((c) => c.at > restartedAt && c.outcome === 'store').length;
      expect(peek.remaining).toBe(CAPACITY - chargedSinceRestart);
      // Warnings per state change (breaker open/closed, Redis down/up), not per request.
      const outageCalls = h.calls.filter((c) => c.at > killedAt && c.at < backAt).length;
      expect(outageCalls).toBeGreaterThan(300);
      expect(h.logLevels.filter((level) => level >= 40).length).toBeLessThan(6);
    } finally {
      await h.stop();
    }
  });

  it('a paused Redis (SIGSTOP for 1 s): every call answered within the timeout plus margin', async () => {
    const h = await harness(redis, 'deny');
    try {
      await waitForCalls(h.calls, 0, 100);
      const pausedAt = performance.now();
      redis.pause();
      await new Promise((resolve) => setTimeout(resolve, 1000)); // the fault itself lasts 1 s
      redis.resume();
      const backAt = await h.firstStoreCallAfter(performance.now(), 2000);
      await waitForCalls(h.calls, backAt, 50);
      await h.stopLoad();
      expect(h.calls.filter((c) => c.outcome === 'error')).toEqual([]);
      expect(Math.max(...h.calls.map((c) => c.ms))).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
      expect(h.calls.filter((c) => c.at > pausedAt && c.outcome === 'failure_mode').length).toBeGreaterThan(0);
    } finally {
      await h.stop();
    }
  });

  it('SCRIPT FLUSH under load: nothing surfaces to callers', async () => {
    const h = await harness(redis, 'error');
    try {
      await waitForCalls(h.calls, 0, 100);
      const probe = redis.client();
      for (let i = 0; i < 5; i++) {
        await probe.script('FLUSH');
        await waitForCalls(h.calls, performance.now(), 20);
      }
      await h.stopLoad();
      expect(h.calls.filter((c) => c.outcome !== 'store')).toEqual([]);
    } finally {
      await h.stop();
    }
  });
});
