/**
 * Answers the store did not give are marked as such wherever they are shown, and never reach the
 * store. Redis here is running but refuses every write (`min-replicas-to-write 1` with no replica:
 * NOREPLICAS error replies), so the sidecar's `--failure-mode local` decides, and Redis provably
 * executes none of those decisions. A cost-0 read (/buckets) writes nothing, so Redis still answers
 * it; to see /buckets answered by the failure mode Redis is then stopped (SIGSTOP) for one read.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Code } from '../../src/rls/codec.js';
import { startRedis, type RedisProcess } from '../support/redis-server.js';
import { request, startTestSidecar, type TestSidecar } from '../support/sidecar.js';

const CONFIG = `domain: web
descriptors:
  - key: user
    rate_limit: { unit: minute, requests_per_unit: 5 }
`;

let redis: RedisProcess;
let rg: TestSidecar;
const logs: { msg: string; source?: string; failureMode?: string }[] = [];

interface BucketsAnswer {
  source: string;
  buckets: { capacity: number; remaining: number }[];
}

const buckets = async () => (await (await fetch(`${rg.debugUrl}/buckets?domain=web&descriptor=user=zoe`)).json()) as BucketsAnswer;
const metricLine = async (prefix: string) => (await (await fetch(`${rg.httpUrl}/metrics`)).text()).split('\n').find((line) => line.startsWith(prefix));

beforeAll(async () => {
  redis = await startRedis();
  rg = await startTestSidecar(
    { 'web.yaml': CONFIG },
    [
      '--redis',
      redis.url,
      '--failure-mode',
      'local',
      '--local-fallback-share',
      '10',
      '--stats-identities',
      'full',
      // The breaker stays closed: every call asks Redis, so every refusal is a real one.
      '--breaker-threshold',
      '1000',
    ],
    pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line) as (typeof logs)[number]) }),
  );
}, 30_000);
afterAll(async () => {
  await rg?.stop();
  await redis?.stop();
});

describe('results not from the store', () => {
  it('are marked in /buckets, /stats and /metrics while Redis refuses, and Redis ran none of them', async () => {
    expect(await redis.command('CONFIG', 'SET', 'min-replicas-to-write', '1')).toBe('OK');
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push((await rg.call(request('web', [['user', 'zoe']]))).overallCode);
    // 5/min shared by 10 sidecars: a local bucket of one request (never 0.5, which would deny all).
    expect(answers).toEqual([Code.OK, Code.OVER_LIMIT, Code.OVER_LIMIT]);
    // One line when invented answers begin, not one per request.
    const marked = () => logs.filter((l) => l.msg.includes('answers come from')).map((l) => [l.msg, l.source]);
    expect(marked()).toEqual([['redis failed: answers come from the failure mode, not from the store', 'failure_mode']]);

    const fromRedis = await buckets();
    expect([fromRedis.source, fromRedis.buckets.map((b) => [b.capacity, b.remaining])]).toEqual(['store', [[5, 5]]]);
    redis.pause();
    const during = await buckets();
    redis.resume();
    // The local share's bucket, as the failure mode sees it: one request, spent.
    expect([during.source, during.buckets.map((b) => [b.capacity, b.remaining])]).toEqual(['failure_mode', [[1, 0]]]);
    const stats = (await (await fetch(`${rg.debugUrl}/stats`)).json()) as { totals: Record<string, number>; topLimited: unknown[] };
    expect(stats.totals).toMatchObject({ requests: 3, failureMode: 3, localCache: 0 });
    // Failure-mode denials say nothing about the client: the top limited identities stay empty.
    expect(stats.topLimited).toEqual([]);
    expect(await metricLine('rateguard_failure_mode_decisions_total{domain="web"}')).toBe('rateguard_failure_mode_decisions_total{domain="web"} 3');
    expect(await metricLine('rateguard_should_rate_limit_duration_seconds_count{source="failure_mode"}')).toBe(
      'rateguard_should_rate_limit_duration_seconds_count{source="failure_mode"} 3',
    );
    // Failure-mode denials are not remembered by the local over-limit cache either.
    expect(await metricLine('rateguard_local_cache_entries')).toBe('rateguard_local_cache_entries 0');

    expect(await redis.command('CONFIG', 'SET', 'min-replicas-to-write', '0')).toBe('OK');
    // Back from the store (once the connection the stop disturbed answers again): the full 5,
    // untouched by the three local decisions, and no key written.
    await expect
      .poll(
        async () => {
          const after = await buckets();
          return [after.source, after.buckets.map((b) => [b.capacity, b.remaining])];
        },
        { timeout: 10_000 },
      )
      .toEqual(['store', [[5, 5]]]);
    expect(await redis.command('DBSIZE')).toBe(0);
    expect(marked().map(([, source]) => source)).toEqual(['failure_mode', 'store', 'failure_mode', 'store']);
    expect((await rg.call(request('web', [['user', 'zoe']]))).statuses[0]).toMatchObject({ code: Code.OK, limitRemaining: 4 });
  });
});
