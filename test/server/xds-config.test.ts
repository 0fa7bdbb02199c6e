/**
 * Config pushed over xDS (`--config-type GRPC_XDS_SOTW`), against the test xDS server over real
 * gRPC: subscription, ACK after apply, updates that keep buckets, NACK with the validation message
 * while the old config decides, a killed and restarted server, and a forced start without a config.
 */
import { Writable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Code } from '../../src/rls/codec.js';
import { sample } from '../observe/prometheus-text.js';
import { findFreePort } from '../support/redis-server.js';
import { request, startTestSidecar, type TestSidecar } from '../support/sidecar.js';
import { RATE_LIMIT_CONFIG_TYPE, TestXdsServer, type TestRateLimitConfig } from '../support/xds/xds-server.js';

/** Retry waits short enough for a test; the sequence itself is tested in xds-backoff.test.ts. */
const FAST_RETRY = ['--xds-connect-retry-interval', '20ms', '--xds-backoff-initial-interval', '20ms', '--xds-backoff-max-interval', '100ms'];

function xdsFlags(server: string, ...more: string[]): string[] {
  return ['--config-type', 'GRPC_XDS_SOTW', '--xds-server-url', server, ...FAST_RETRY, ...more];
}

function limits(userPerMinute: number, pathPerMinute: number): TestRateLimitConfig[] {
  return [
    {
      name: 'xds',
      domain: 'xds',
      descriptors: [
        { key: 'user', rateLimit: { unit: 'MINUTE', requestsPerUnit: userPerMinute } },
        { key: 'path', value: '/a', rateLimit: { unit: 'MINUTE', requestsPerUnit: pathPerMinute } },
      ],
    },
  ];
}

const OTHER_DOMAIN: TestRateLimitConfig = { name: 'other', domain: 'other', descriptors: [{ key: 'k', rateLimit: { unit: 'HOUR', requestsPerUnit: 1 } }] };

async function metrics(rg: TestSidecar): Promise<string> {
  return (await fetch(`${rg.httpUrl}/metrics`)).text();
}

describe('config over xDS', () => {
  let xds: TestXdsServer;
  let rg: TestSidecar;
  let port: number;

  beforeAll(async () => {
    xds = await TestXdsServer.start();
    port = xds.port;
    xds.setSnapshot('1', [...limits(3, 2), OTHER_DOMAIN]);
    rg = await startTestSidecar(
      {},
      xdsFlags(xds.address, '--xds-node-id', 'envoy-ratelimit', '--xds-node-metadata', 'zone=a,team=x', '--xds-headers', 'x-token:secret,x-team:rl'),
    );
  });
  afterAll(async () => {
    await rg.stop();
    await xds.stop();
  });

  it('subscribes with a wildcard request carrying node id, metadata and the additional headers', async () => {
    const first = xds.requests[0]!;
    expect(first).toMatchObject({
      versionInfo: '',
      responseNonce: '',
      typeUrl: RATE_LIMIT_CONFIG_TYPE,
      resourceNames: [],
      nodeId: 'envoy-ratelimit',
      nodeMetadata: { zone: 'a', team: 'x' },
      userAgentName: 'rateguard',
      errorDetail: undefined,
    });
    expect(first.headers).toMatchObject({ 'x-token': 'secret', 'x-team': 'rl' });
  });

  it('applies the first config, then ACKs it with its version and nonce', async () => {
    const ack = await xds.answerTo('1');
    expect(ack).toMatchObject({ versionInfo: '1', responseNonce: '1', errorDetail: undefined, nodeId: 'envoy-ratelimit' });
    const answer = await rg.call(request('xds', [['user', 'alice']]));
    expect(answer.statuses[0]).toMatchObject({ code: Code.OK, limitRemaining: 2, currentLimit: { requestsPerUnit: 3 } });
    expect(rg.sidecar.watcher.origin).toEqual({ source: 'xds', location: xds.address, version: '1' });
  });

  it('applies an update as a whole: unchanged limits keep their buckets, changed ones start fresh, dropped domains are gone', async () => {
    expect((await rg.call(request('xds', [['path', '/a']]))).statuses[0]).toMatchObject({ limitRemaining: 1 });
    xds.setSnapshot('2', limits(3, 5));
    expect(await xds.answerTo('2')).toMatchObject({ versionInfo: '2', errorDetail: undefined });
    // alice spent 1 of 3 under version 1: the same limit keeps that bucket.
    expect((await rg.call(request('xds', [['user', 'alice']]))).statuses[0]).toMatchObject({ code: Code.OK, limitRemaining: 1 });
    // path /a changed from 2 to 5 per minute: a new bucket.
    expect((await rg.call(request('xds', [['path', '/a']]))).statuses[0]).toMatchObject({
      code: Code.OK,
      limitRemaining: 4,
      currentLimit: { requestsPerUnit: 5 },
    });
    // `other` is not in version 2: the domain is unknown now, so nothing limits it.
    const other = await rg.call(request('other', [['k', 'v']]));
    expect(other.overallCode).toBe(Code.OK);
    expect(other.statuses[0]!.currentLimit).toBeUndefined();
    expect(rg.sidecar.watcher.origin.version).toBe('2');
  });

  it('NACKs an invalid config with the validation message and the version still served; the old limits decide', async () => {
    xds.setSnapshot('3', [{ name: 'xds', domain: 'xds', descriptors: [{ key: 'user', rateLimit: { requestsPerUnit: 10 } }] }]);
    const nack = await xds.answerTo('3');
    expect(nack.versionInfo).toBe('2');
    expect(nack.responseNonce).toBe(xds.sent.find((r) => r.version === '3')!.nonce);
    expect(nack.errorDetail?.code).toBe(3);
    expect(nack.errorDetail?.message).toMatch(
      /^xds:xds:\d+: descriptors\[0\]\.rate_limit\.unit: unknown unit "UNKNOWN" \(expected second, minute, hour, day, week, month, year\)$/,
    );
    expect((await rg.call(request('xds', [['user', 'bob']]))).statuses[0]).toMatchObject({
      code: Code.OK,
      limitRemaining: 2,
      currentLimit: { requestsPerUnit: 3 },
    });
    expect(rg.sidecar.watcher.origin.version).toBe('2');
    const text = await metrics(rg);
    expect([
      sample(text, 'rateguard_config_loads_total', { source: 'xds', outcome: 'loaded' }),
      sample(text, 'rateguard_config_loads_total', { source: 'xds', outcome: 'rejected' }),
    ]).toEqual([2, 1]);
    expect([sample(text, 'ratelimit_service_config_load_success'), sample(text, 'ratelimit_service_config_load_error')]).toEqual([2, 1]);
    const rlconfig = await fetch(`${rg.httpUrl}/rlconfig`);
    expect([rlconfig.headers.get('x-rateguard-config-source'), rlconfig.headers.get('x-rateguard-config-version')]).toEqual([`xds ${xds.address}`, '2']);
    const stats = (await (await fetch(`${rg.httpUrl}/stats`)).json()) as { config: { loads: { last: unknown } } };
    expect(stats.config.loads.last).toMatchObject({ type: 'rejected', reason: 'push', source: 'xds', version: '3' });
  });

  it('NACKs a resource of another type, or bytes that are not a RateLimitConfig, naming the resource', async () => {
    xds.setRawSnapshot('3b', [
      { typeUrl: 'type.googleapis.com/envoy.config.cluster.v3.Cluster', value: new Uint8Array() },
      { typeUrl: RATE_LIMIT_CONFIG_TYPE, value: Uint8Array.of(0x0a, 0x05, 0x61) },
    ]);
    const nack = await xds.answerTo('3b');
    expect([nack.versionInfo, nack.errorDetail]).toEqual([
      '2',
      {
        code: 3,
        message: [
          `xds:resources[0]: resource of type "type.googleapis.com/envoy.config.cluster.v3.Cluster", expected ${RATE_LIMIT_CONFIG_TYPE}`,
          'xds:resources[1]: invalid RateLimitConfig: name: length 5 at offset 1 exceeds the 1 remaining bytes',
        ].join('\n'),
      },
    ]);
    expect((await rg.call(request('xds', [['user', 'erin']]))).statuses[0]).toMatchObject({ code: Code.OK, limitRemaining: 2 });
  });

  it('keeps enforcing while the server is gone, re-dials, and applies the next version from the restarted server', async () => {
    await xds.stop();
    expect((await rg.call(request('xds', [['user', 'carol']]))).statuses[0]).toMatchObject({ code: Code.OK, limitRemaining: 2 });
    xds = await TestXdsServer.start({ port });
    xds.setSnapshot('4', limits(10, 5));
    // A new stream subscribes from scratch and ACKs the restarted server's version.
    const ack = await xds.answerTo('4');
    expect(ack.versionInfo).toBe('4');
    expect(ack).toMatchObject({ errorDetail: undefined, nodeId: 'envoy-ratelimit' });
    expect(xds.requests[0]).toMatchObject({ versionInfo: '', responseNonce: '' });
    expect((await rg.call(request('xds', [['user', 'dave']]))).statuses[0]).toMatchObject({ code: Code.OK, limitRemaining: 9 });
  });

  it('never splits a request between two configs while pushes land', async () => {
    const both = (n: number): TestRateLimitConfig[] => [
      {
        name: 'split',
        domain: 'split',
        descriptors: [
          { key: 'a', rateLimit: { unit: 'MINUTE', requestsPerUnit: n } },
          { key: 'b', rateLimit: { unit: 'MINUTE', requestsPerUnit: n } },
        ],
      },
    ];
    const seen: number[][] = [];
    let stop = false;
    let probe = 0;
    const caller = async () => {
      while (!stop) {
        const answer = await rg.call(request('split', [['a', `${++probe}`]], [['b', `${probe}`]]));
        seen.push(answer.statuses.map((s) => s.currentLimit?.requestsPerUnit ?? -1));
      }
    };
    const callers = [caller(), caller(), caller()];
    for (let version = 10; version < 30; version++) {
      xds.setSnapshot(String(version), both(version));
      expect(await xds.answerTo(String(version))).toMatchObject({ versionInfo: String(version), errorDetail: undefined });
    }
    stop = true;
    await Promise.all(callers);
    expect(seen.length).toBeGreaterThan(0);
    // -1: a call before `split` existed (both descriptors unknown together).
    for (const [a, b] of seen) expect(a).toBe(b);
    expect((await rg.call(request('split', [['a', 'last']], [['b', 'last']]))).statuses.map((s) => s.currentLimit?.requestsPerUnit)).toEqual([29, 29]);
  });
});

describe('--force-start-without-initial-config with no xDS server', () => {
  let rg: TestSidecar;
  let port: number;
  let xds: TestXdsServer | undefined;

  beforeAll(async () => {
    port = await findFreePort();
    rg = await startTestSidecar({}, xdsFlags(`127.0.0.1:${port}`, '--force-start-without-initial-config'));
  });
  afterAll(async () => {
    await rg.stop();
    await xds?.stop();
  });

  it('serves at once: every call is UNAVAILABLE "no rate limit configuration loaded", health is SERVING', async () => {
    const error = await rg.callError(request('xds', [['user', 'alice']]));
    expect([error.code, error.details]).toEqual([grpc.status.UNAVAILABLE, 'no rate limit configuration loaded']);
    const health = await fetch(`${rg.httpUrl}/healthcheck`);
    expect([health.status, await health.text()]).toEqual([200, 'OK']);
    const json = await fetch(`${rg.httpUrl}/json`, {
      method: 'POST',
      body: JSON.stringify({ domain: 'xds', descriptors: [{ entries: [{ key: 'user', value: 'a' }] }] }),
      headers: { 'content-type': 'application/json' },
    });
    expect([json.status, await json.json()]).toEqual([503, { error: 'no rate limit configuration loaded' }]);
    expect(rg.sidecar.watcher.current).toBeUndefined();
  });

  it('picks up the first config once a server appears on the address, then decides', async () => {
    xds = await TestXdsServer.start({ port });
    xds.setSnapshot('1', limits(3, 2));
    expect(await xds.answerTo('1')).toMatchObject({ versionInfo: '1', errorDetail: undefined });
    expect((await rg.call(request('xds', [['user', 'alice']]))).statuses[0]).toMatchObject({ code: Code.OK, limitRemaining: 2 });
  });
});

describe('an xDS sidecar without --force-start-without-initial-config', () => {
  it('does not start serving on a refused first config; it starts with the first valid one', async () => {
    const xds = await TestXdsServer.start();
    try {
      xds.setSnapshot('1', [{ name: 'bad', domain: 'bad', descriptors: [{ key: '' }] }]);
      const lines: { level: number; msg: string }[] = [];
      const stream = new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string });
          done();
        },
      });
      const logger = pino({ level: 'info' }, stream);
      const starting = startTestSidecar({}, xdsFlags(xds.address), logger);
      const nack = await xds.answerTo('1');
      expect([nack.versionInfo, nack.errorDetail?.code]).toEqual(['', 3]);
      // No config has loaded: the log says what is true, not "the last good config keeps serving".
      await expect
        .poll(() => lines.filter((l) => l.level === 50).map((l) => l.msg))
        .toEqual(['config rejected; not serving until the xDS server sends a valid config']);
      xds.setSnapshot('2', limits(3, 2));
      const rg = await starting;
      try {
        expect(await xds.answerTo('2')).toMatchObject({ versionInfo: '2', errorDetail: undefined });
        expect((await rg.call(request('xds', [['user', 'alice']]))).statuses[0]).toMatchObject({ code: Code.OK, limitRemaining: 2 });
      } finally {
        await rg.stop();
      }
    } finally {
      await xds.stop();
    }
  });
});
