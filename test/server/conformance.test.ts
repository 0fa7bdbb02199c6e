/**
 * RLS conformance over real gRPC: every decision rule of the sidecar, on the memory store and on
 * Redis. Each case uses its own descriptor values, so cases never share buckets.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Code, type RateLimitRequest } from '../../src/rls/codec.js';
import { GRPC_SERVERS, grpcServerFlags } from '../support/grpc-servers.js';
import { type RedisProcess, startRedis } from '../support/redis-server.js';
import { request, startTestSidecar, type TestSidecar } from '../support/sidecar.js';

const CONFIG = `
domain: conformance
descriptors:
  - key: basic
    rate_limit: { unit: minute, requests_per_unit: 3 }
  - key: nested
    value: a
    descriptors:
      - key: user
        rate_limit: { unit: hour, requests_per_unit: 2 }
  - key: per_value
    rate_limit: { unit: hour, requests_per_unit: 1 }
  - key: wild
    value: "foo*"
    rate_limit: { unit: hour, requests_per_unit: 1 }
  - key: wild
    value: foobar
    rate_limit: { unit: hour, requests_per_unit: 5 }
  - key: free
    rate_limit: { unlimited: true }
  - key: blocked
    rate_limit: { unit: second, requests_per_unit: 0 }
  - key: quota_a
    quota_mode: true
    metadata: { backend: a, weights: { a: 1 } }
    rate_limit: { unit: hour, requests_per_unit: 1 }
  - key: quota_b
    quota_mode: true
    metadata: { backend: b, weights: { b: 2 } }
    rate_limit: { unit: hour, requests_per_unit: 1 }
  - key: shadowed
    shadow_mode: true
    rate_limit: { unit: hour, requests_per_unit: 1 }
  - key: replaced
    rate_limit: { name: old, unit: hour, requests_per_unit: 1 }
  - key: replacer
    rate_limit: { unit: hour, requests_per_unit: 100, replaces: [{ name: old }] }
  - key: multi
    rate_limits:
      - { unit: hour, requests_per_unit: 5 }
      - { unit: day, requests_per_unit: 2, name: daily }
  - key: burst
    rate_limit: { unit: hour, requests_per_unit: 1, capacity: 4 }
  - key: window
    rate_limit: { unit: day, requests_per_unit: 2, algorithm: fixed_window }
  - key: weekly
    rate_limit: { unit: week, requests_per_unit: 1 }
`;

const D = 'conformance';
const codes = (statuses: { code: number }[]) => statuses.map((s) => s.code);
const { OK, OVER_LIMIT } = Code;

const backends: [string, () => Promise<string[]>, () => Promise<void>][] = [];
let redis: RedisProcess | undefined;
backends.push(['memory store', async () => [], async () => {}]);
backends.push([
  'Redis store',
  async () => {
    redis = await startRedis();
    return ['--redis', redis.url, '--redis-timeout', '1000'];
  },
  async () => redis?.stop(),
]);

const cases = GRPC_SERVERS.flatMap((server) =>
  backends.map(([name, setup, teardown]) => [`${name} (${server})`, async () => [...(await setup()), ...grpcServerFlags(server)], teardown] as const),
);

describe.each(cases)('ShouldRateLimit on the %s', (_name, setup, teardown) => {
  let rg: TestSidecar;
  let altered: TestSidecar | undefined;
  /** The store flags of this backend, so sidecar variants share its store. */
  let storeFlags: string[] = [];
  const callN = async (req: RateLimitRequest, n: number) => {
    const out = [];
    for (let i = 0; i < n; i++) out.push(await rg.call(req));
    return out;
  };

  beforeAll(async () => {
    storeFlags = await setup();
    rg = await startTestSidecar({ 'conformance.yaml': CONFIG }, storeFlags);
  });
  afterAll(async () => {
    await rg.stop();
    await altered?.stop();
    await teardown();
  });

  it('allows up to the limit, then OVER_LIMIT, with current_limit, limit_remaining and duration_until_reset', async () => {
    const responses = await callN(request(D, [['basic', 'b1']]), 4);
    expect(responses.map((r) => r.overallCode)).toEqual([OK, OK, OK, OVER_LIMIT]);
    expect(responses.map((r) => r.statuses[0]!.limitRemaining)).toEqual([2, 1, 0, 0]);
    expect(responses[0]!.statuses[0]).toEqual({
      code: OK,
      currentLimit: { requestsPerUnit: 3, unit: 2 /* MINUTE */, name: '' },
      limitRemaining: 2,
      durationUntilReset: { seconds: 20, nanos: 0 }, // one token at 3/minute
    });
    expect(responses[3]!.statuses[0]!.currentLimit).toEqual({ requestsPerUnit: 3, unit: 2, name: '' });
    // Denied: when the next request can pass (one token back at 3/minute), not when the bucket is full (60 s).
    const denied = responses[3]!.statuses[0]!.durationUntilReset!;
    expect(denied.seconds * 1e9 + denied.nanos).toBeGreaterThan(19e9);
    expect(denied.seconds * 1e9 + denied.nanos).toBeLessThanOrEqual(20e9);
  });

  it('answers OK without current_limit for an unknown domain or an unmatched descriptor', async () => {
    for (const req of [request('no-such-domain', [['basic', 'x']]), request(D, [['nothing', 'x']])]) {
      const response = await rg.call(req);
      expect(response.overallCode).toBe(OK);
      expect(response.statuses).toEqual([{ code: OK, limitRemaining: 0 }]);
    }
  });

  it('rejects an empty domain, no descriptors and empty keys with INVALID_ARGUMENT', async () => {
    const cases: [RateLimitRequest, RegExp][] = [
      [request('', [['basic', 'x']]), /domain must not be empty/],
      [{ domain: D, descriptors: [], hitsAddend: 0 }, /at least one descriptor/],
      [request(D, [['', 'x']]), /key must not be empty/],
    ];
    for (const [req, message] of cases) {
      const error = await rg.callError(req);
      expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(error.details).toMatch(message);
    }
  });

  it('matches nested descriptors only at their exact depth', async () => {
    expect(
      codes(
        (
          await callN(
            request(D, [
              ['nested', 'a'],
              ['user', 'u1'],
            ]),
            3,
          )
        ).map((r) => r.statuses[0]!),
      ),
    ).toEqual([OK, OK, OVER_LIMIT]);
    expect((await rg.call(request(D, [['nested', 'a']]))).statuses[0]).toEqual({ code: OK, limitRemaining: 0 });
    expect(
      (
        await rg.call(
          request(D, [
            ['nested', 'b'],
            ['user', 'u1'],
          ]),
        )
      ).statuses[0],
    ).toEqual({ code: OK, limitRemaining: 0 });
  });

  it('keeps one bucket per value under a key-only descriptor', async () => {
    expect((await callN(request(D, [['per_value', 'x']]), 2)).map((r) => r.overallCode)).toEqual([OK, OVER_LIMIT]);
    expect((await rg.call(request(D, [['per_value', 'y']]))).overallCode).toBe(OK);
  });

  it('prefers an exact value over a wildcard, and matches wildcards anywhere in the value', async () => {
    expect((await callN(request(D, [['wild', 'foozap']]), 2)).map((r) => r.overallCode)).toEqual([OK, OVER_LIMIT]);
    expect((await rg.call(request(D, [['wild', 'foobar']]))).statuses[0]!.currentLimit?.requestsPerUnit).toBe(5);
    expect((await rg.call(request(D, [['wild', 'xfoo']]))).statuses[0]).toEqual({ code: OK, limitRemaining: 0 });
  });

  it('answers unlimited descriptors OK with limit_remaining 4294967295', async () => {
    const response = await rg.call(request(D, [['free', 'x']]));
    expect(response.statuses[0]).toEqual({ code: OK, limitRemaining: 4_294_967_295 });
  });

  it('blocks every request with requests_per_unit: 0', async () => {
    expect((await callN(request(D, [['blocked', 'x']]), 2)).map((r) => r.overallCode)).toEqual([OVER_LIMIT, OVER_LIMIT]);
  });

  it('reports a shadow-mode descriptor OK even when it is over its limit', async () => {
    const responses = await callN(request(D, [['shadowed', 'x']]), 3);
    expect(responses.map((r) => r.overallCode)).toEqual([OK, OK, OK]);
    expect(responses.map((r) => r.statuses[0]!.limitRemaining)).toEqual([0, 0, 0]);
  });

  it('does not evaluate a limit that another matched limit replaces', async () => {
    const both = request(D, [['replaced', 'x']], [['replacer', 'x']]);
    const responses = await callN(both, 3);
    expect(responses.map((r) => r.overallCode)).toEqual([OK, OK, OK]);
    expect(responses[2]!.statuses[0]).toEqual({ code: OK, limitRemaining: 0 });
    // Alone, the replaced limit applies.
    expect((await callN(request(D, [['replaced', 'y']]), 2)).map((r) => r.overallCode)).toEqual([OK, OVER_LIMIT]);
  });

  it('applies several limits on one descriptor: all must allow, the tightest is reported', async () => {
    const responses = await callN(request(D, [['multi', 'x']]), 3);
    expect(responses.map((r) => r.overallCode)).toEqual([OK, OK, OVER_LIMIT]);
    expect(responses[2]!.statuses[0]!.currentLimit).toEqual({ requestsPerUnit: 2, unit: 4 /* DAY */, name: 'daily' });
  });

  it('allows a configured burst above requests_per_unit', async () => {
    expect((await callN(request(D, [['burst', 'x']]), 5)).map((r) => r.overallCode)).toEqual([OK, OK, OK, OK, OVER_LIMIT]);
  });

  it('runs fixed_window limits with the epoch-aligned window end as duration_until_reset', async () => {
    const responses = await callN(request(D, [['window', 'x']]), 3);
    expect(responses.map((r) => r.overallCode)).toEqual([OK, OK, OVER_LIMIT]);
    const untilMidnight = 86_400 - ((Date.now() / 1000) % 86_400);
    const reset = responses[2]!.statuses[0]!.durationUntilReset!;
    expect(Math.abs(reset.seconds - untilMidnight)).toBeLessThan(5);
    // Whole seconds, as the reference service reports a window's end.
    expect(reset.nanos).toBe(0);
  });

  it('quota_mode: an over quota descriptor denies only when every quota-mode descriptor of the request is over', async () => {
    const a: [string, string] = ['quota_a', 'q'];
    const b: [string, string] = ['quota_b', 'q'];
    expect((await rg.call(request(D, [a]))).overallCode).toBe(OK); // quota_a spent
    const partly = await rg.call(request(D, [a], [b]));
    expect([partly.overallCode, ...partly.statuses.map((s) => s.code)]).toEqual([OK, OVER_LIMIT, OK]); // quota_b charged
    const all = await rg.call(request(D, [a], [b]));
    expect([all.overallCode, ...all.statuses.map((s) => s.code)]).toEqual([OVER_LIMIT, OVER_LIMIT, OVER_LIMIT]);
    // A non-quota descriptor over its limit still denies, whatever the quota ones say.
    await callN(request(D, [['basic', 'qm']]), 3);
    const mixed = await rg.call(request(D, [['basic', 'qm']], [['quota_b', 'fresh']]));
    expect([mixed.overallCode, ...mixed.statuses.map((s) => s.code)]).toEqual([OVER_LIMIT, OVER_LIMIT, OK]);
  });

  it('reports the WEEK unit', async () => {
    expect((await rg.call(request(D, [['weekly', 'x']]))).statuses[0]!.currentLimit).toEqual({ requestsPerUnit: 1, unit: 7, name: '' });
  });

  it('charges hits_addend: request level, per-descriptor override, and 0 to look without consuming', async () => {
    const one = (value: string, hitsAddend: number, own?: number): RateLimitRequest => ({
      domain: D,
      descriptors: [{ entries: [{ key: 'basic', value }], ...(own === undefined ? {} : { hitsAddend: own }) }],
      hitsAddend,
    });
    expect((await rg.call(one('h1', 2))).statuses[0]!.limitRemaining).toBe(1);
    expect((await rg.call(one('h1', 2))).overallCode).toBe(OVER_LIMIT); // 2 > 1 left: denied, not charged
    expect((await rg.call(one('h1', 0, 0))).statuses[0]!.limitRemaining).toBe(1); // a look
    expect((await rg.call(one('h1', 5, 1))).statuses[0]!.limitRemaining).toBe(0); // descriptor's 1 wins over 5
  });

  it('uses a limit override from the request instead of the configured limit', async () => {
    const req: RateLimitRequest = {
      domain: D,
      descriptors: [{ entries: [{ key: 'basic', value: 'o1' }], limit: { requestsPerUnit: 1, unit: 3 /* HOUR */ } }],
      hitsAddend: 0,
    };
    const responses = [await rg.call(req), await rg.call(req)];
    expect(responses.map((r) => r.overallCode)).toEqual([OK, OVER_LIMIT]);
    expect(responses[0]!.statuses[0]!.currentLimit).toEqual({ requestsPerUnit: 1, unit: 3, name: '' });
  });

  it('is all-or-nothing: a request denied by one descriptor charges none of the others', async () => {
    const pair = request(D, [['basic', 'aon']], [['per_value', 'aon']]);
    expect((await rg.call(pair)).overallCode).toBe(OK); // per_value now empty
    const denied = await rg.call(pair);
    expect(denied.overallCode).toBe(OVER_LIMIT);
    expect(codes(denied.statuses)).toEqual([OK, OVER_LIMIT]);
    // basic was not charged by the denied request: 2 of 3 left.
    expect((await rg.call(request(D, [['basic', 'aon']]))).statuses[0]!.limitRemaining).toBe(1);
  });

  it('with --charge-rejected, a denied request still charges the allowing descriptors (the reference)', async () => {
    altered = await startTestSidecar({ 'c.yaml': CONFIG }, [...storeFlags, '--charge-rejected', '--key-prefix', 'cr:']);
    const pair = request(D, [['basic', 'cr']], [['per_value', 'cr']]);
    await altered.call(pair);
    await altered.call(pair);
    expect((await altered.call(request(D, [['basic', 'cr']]))).statuses[0]!.limitRemaining).toBe(0);
  });

  it('with --shadow-mode, answers OK while counting; statuses keep their real codes; global_shadow_mode counts', async () => {
    const shadow = await startTestSidecar({ 'c.yaml': CONFIG }, [...storeFlags, '--shadow-mode', '--key-prefix', 'sh:']);
    try {
      const responses = [];
      for (let i = 0; i < 4; i++) responses.push(await shadow.call(request(D, [['basic', 's']])));
      expect(responses.map((r) => r.overallCode)).toEqual([OK, OK, OK, OK]);
      expect(responses.map((r) => r.statuses[0]!.code)).toEqual([OK, OK, OK, OVER_LIMIT]);
      expect(responses.map((r) => r.statuses[0]!.limitRemaining)).toEqual([2, 1, 0, 0]);
      // A limit's own shadow_mode still reports OK.
      const own = [];
      for (let i = 0; i < 3; i++) own.push(await shadow.call(request(D, [['shadowed', 'g']])));
      expect(own.map((r) => [r.overallCode, r.statuses[0]!.code])).toEqual([
        [OK, OK],
        [OK, OK],
        [OK, OK],
      ]);
      const metrics = await (await fetch(`${shadow.httpUrl}/metrics`)).text();
      expect(metrics).toMatch(/^ratelimit_service_global_shadow_mode 1$/m);
    } finally {
      await shadow.stop();
    }
  });

  it('with --response-dynamic-metadata, answers dynamic_metadata as the reference: descriptors, and the metadata of those not over', async () => {
    const dm = await startTestSidecar({ 'c.yaml': CONFIG }, [...storeFlags, '--response-dynamic-metadata', '--key-prefix', 'dm:']);
    try {
      const both = await dm.call({ ...request(D, [['quota_a', 'm']], [['quota_b', 'm']]), hitsAddend: 1 });
      expect(both.dynamicMetadata).toEqual({
        domain: D,
        descriptors: [{ entries: ['quota_a=m'] }, { entries: ['quota_b=m'] }],
        hitsAddend: 1,
        metadata: { backend: 'a', weights: { a: 1, b: 2 } },
      });
      const spill = await dm.call(request(D, [['quota_a', 'm']], [['quota_b', 'n']]));
      expect(spill.statuses.map((s) => s.code)).toEqual([OVER_LIMIT, OK]);
      expect(spill.dynamicMetadata?.metadata).toEqual({ backend: 'b', weights: { b: 2 } });
      const override = await dm.call({
        domain: D,
        descriptors: [{ entries: [{ key: 'basic', value: 'o' }], limit: { requestsPerUnit: 9, unit: 2 }, hitsAddend: 0 }],
        hitsAddend: 0,
      });
      expect(override.dynamicMetadata).toEqual({ domain: D, descriptors: [{ entries: ['basic=o'], limit: 'requests_per_unit:9 unit:MINUTE', hitsAddend: 0 }] });
    } finally {
      await dm.stop();
    }
  });

  it('adds draft-03 and draft-10 headers, and Retry-After on OVER_LIMIT, when asked', async () => {
    const headers = await startTestSidecar({ 'c.yaml': CONFIG }, [...storeFlags, '--response-headers', 'draft-03', '--key-prefix', 'hd:']);
    try {
      const first = await headers.call(request(D, [['basic', 'h']]));
      expect(first.responseHeadersToAdd).toEqual([
        { key: 'x-ratelimit-limit', value: '3, 3;w=60;name="conformance.basic"' },
        { key: 'x-ratelimit-remaining', value: '2' },
        { key: 'x-ratelimit-reset', value: '20' },
      ]);
      await headers.call(request(D, [['basic', 'h']]));
      await headers.call(request(D, [['basic', 'h']]));
      const denied = await headers.call(request(D, [['basic', 'h']]));
      expect(denied.responseHeadersToAdd.find((h) => h.key === 'Retry-After')?.value).toBe('20');
    } finally {
      await headers.stop();
    }
  });
});
