/**
 * The statsd push end to end: a sidecar pushing to a real listener (TCP for plain statsd, UDP for
 * DogStatsD, as the reference), exact counters after a known sequence of decisions, with the extra tags.
 */
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { DecisionStats } from '../../src/observe/decision-stats.js';
import { formatLine, packDatagrams } from '../../src/observe/statsd-format.js';
import { StatsdPush } from '../../src/observe/statsd-push.js';
import { Code } from '../../src/rls/codec.js';
import { request, startTestSidecar, type TestSidecar } from '../support/sidecar.js';
import { type StatsdListener, startTcpListener, startUdpListener } from '../support/statsd-listener.js';

// 2 an hour: OK, OK (near the limit: above 0.8 * 2), OVER_LIMIT.
const CONFIG = 'domain: s\ndescriptors:\n  - key: k\n    rate_limit: { unit: hour, requests_per_unit: 2 }\n';
const RESPONSE_TIME = /^ratelimit_server\.ShouldRateLimit\.response_time(\.__env=test)?:\d+(\.\d+)?\|ms(\|#env:test)?$/;

let listener: StatsdListener;
let rg: TestSidecar;

/** What the known sequence counts, in push order (stats that stay 0 are not pushed). */
const SEQUENCE_LIMIT_COUNTS = [
  ['total_hits', 3],
  ['over_limit', 1],
  ['near_limit', 1],
  ['within_limit', 2],
] as const;
const SEQUENCE_SERVICE_COUNTS = [
  ['ratelimit_server.ShouldRateLimit.total_requests', 4],
  ['ratelimit.service.call.should_rate_limit.service_error', 1],
  ['ratelimit.service.config_load_success', 1],
] as const;

/** Three decisions (OK, OK, OVER_LIMIT) and one refused call (timed too, as the reference times every call). */
async function knownSequence(): Promise<void> {
  const codes = [];
  for (let i = 0; i < 3; i++) codes.push((await rg.call(request('s', [['k', 'v']]))).overallCode);
  expect(codes).toEqual([Code.OK, Code.OK, Code.OVER_LIMIT]);
  expect((await rg.callError({ domain: '', descriptors: [], hitsAddend: 0 })).code).toBe(grpc.status.INVALID_ARGUMENT);
}

/** Flushes, waits for `count` lines and returns them without the response-time samples (checked apart). */
async function flushed(count: number, responseTimes: number): Promise<string[]> {
  await rg.sidecar.observability.statsd!.flush();
  const lines = (await listener.waitForLines(count)).splice(0);
  expect(lines.filter((l) => RESPONSE_TIME.test(l))).toHaveLength(responseTimes);
  return lines.filter((l) => !RESPONSE_TIME.test(l));
}

const start = (...flags: string[]) =>
  startTestSidecar({ 's.yaml': CONFIG }, [
    '--statsd-host',
    '127.0.0.1',
    '--statsd-port',
    String(listener.port),
    '--stats-flush-interval',
    '1h',
    '--extra-tags',
    'env:test',
    ...flags,
  ]);

describe('statsd push', () => {
  afterEach(async () => {
    await rg.stop();
    await listener.close();
  });

  it('pushes the reference names over TCP with the change since the last flush', async () => {
    listener = await startTcpListener();
    rg = await start('--statsd');
    await knownSequence();
    expect(await flushed(11, 4)).toEqual([
      ...SEQUENCE_LIMIT_COUNTS.map(([stat, n]) => `ratelimit.service.rate_limit.s.k.${stat}.__env=test:${n}|c`),
      ...SEQUENCE_SERVICE_COUNTS.map(([name, n]) => `${name}.__env=test:${n}|c`),
    ]);
    await rg.call(request('s', [['k', 'v']]));
    for (let i = 0; i < 2; i++) expect((await rg.call(request('nowhere', [['k', 'v']]))).overallCode).toBe(Code.OK);
    expect(await flushed(7, 3)).toEqual([
      'ratelimit.service.rate_limit.s.k.total_hits.__env=test:1|c',
      'ratelimit.service.rate_limit.s.k.over_limit.__env=test:1|c',
      'ratelimit_server.ShouldRateLimit.total_requests.__env=test:3|c',
      'ratelimit.service.rate_limit.nowhere.domain_not_found.__env=test:2|c',
    ]);
    const metrics = await (await fetch(`${rg.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/^ratelimit_service_rate_limit_domain_not_found\{domain="nowhere"\} 2$/m);
  });

  it('DogStatsD over UDP: per-limit stats carry domain and descriptor tags (USE_DOG_STATSD alone turns the push on)', async () => {
    listener = await startUdpListener();
    rg = await start('--dog-statsd');
    await knownSequence();
    expect(await flushed(11, 4)).toEqual([
      ...SEQUENCE_LIMIT_COUNTS.map(([stat, n]) => `ratelimit.service.rate_limit.${stat}:${n}|c|#descriptor:k,domain:s,env:test`),
      ...SEQUENCE_SERVICE_COUNTS.map(([name, n]) => `${name}:${n}|c|#env:test`),
    ]);
  });

  it('a statsd that is not there delays nothing: decisions are answered, the flush is dropped', async () => {
    listener = await startTcpListener();
    await listener.close();
    rg = await start('--statsd');
    await knownSequence();
    await rg.sidecar.observability.statsd!.flush();
    expect((await rg.call(request('s', [['k', 'w']]))).overallCode).toBe(Code.OK);
  });

  it('refuses both sinks at once, as the reference', async () => {
    listener = await startUdpListener();
    await expect(start('--statsd', '--dog-statsd')).rejects.toThrow('--statsd (USE_STATSD) and --dog-statsd (USE_DOG_STATSD) are two sinks: set one');
    rg = await start();
  });

  it('off by default: no push', async () => {
    listener = await startUdpListener();
    rg = await start();
    expect(rg.sidecar.observability.statsd).toBeUndefined();
  });
});

describe('a flood of distinct metric keys', () => {
  it('pushes no more series than the Prometheus side keeps: the rest fold into _other', async () => {
    const flood = await startUdpListener();
    const stats = new DecisionStats({ nearLimitRatio: 0.8, chargeMode: 'all_or_nothing', maxSeries: 2 });
    const push = new StatsdPush(
      {
        stats,
        calls: {
          callsByCode: async () => new Map(),
          failureModeDecisions: () => 0,
          unconfiguredCalls: () => 0,
          jsonErrors: () => ({ redis_error: 0, service_error: 0 }),
        },
        configLoads: () => ({ success: 0, error: 0 }),
      },
      { host: '127.0.0.1', port: flood.port, flushIntervalMs: 3_600_000, extraTags: {}, dogStatsd: true },
    );
    for (let i = 0; i < 1000; i++) {
      const limit = { domain: 'f', metricKey: `f.user_${i}`, entries: [], hits: 1, limit: 10, remaining: 9, allowed: true, shadow: false };
      stats.observe({ domain: 'f', overLimit: false, source: 'store', limits: [limit], durationSeconds: 0 });
    }
    await push.close();
    const totals = (await flood.waitForLines(6)).filter((l) => l.includes('.total_hits:'));
    await flood.close();
    expect(totals).toEqual([
      'ratelimit.service.rate_limit.total_hits:1|c|#descriptor:user_0,domain:f',
      'ratelimit.service.rate_limit.total_hits:1|c|#descriptor:user_1,domain:f',
      'ratelimit.service.rate_limit.total_hits:998|c|#descriptor:_other,domain:_other',
    ]);
  });
});

describe('statsd lines', () => {
  it('client-chosen characters cannot end a name or a tag', () => {
    expect(formatLine({ name: 'a.b:c|d', value: 1, type: 'c', tags: { 'x#': 'y,z' } }, true)).toBe('a.b_c_d:1|c|#x_:y_z');
    expect(formatLine({ name: 't', value: 2.5, type: 'ms', sampleRate: 0.25 }, false)).toBe('t:2.5|ms|@0.25');
  });

  it('packs lines into datagrams no larger than the limit', () => {
    const lines = Array.from({ length: 100 }, (_, i) => `stat.${i}:1|c`);
    const datagrams = packDatagrams(lines, 100);
    expect(datagrams.every((d) => d.length <= 100)).toBe(true);
    expect(datagrams.flatMap((d) => d.toString().split('\n'))).toEqual(lines);
  });
});
