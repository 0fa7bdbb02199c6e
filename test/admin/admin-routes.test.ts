import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, startTestSidecar, type TestSidecar } from '../support/sidecar.js';

const CONFIG = `domain: web
descriptors:
  - key: user
    rate_limit: { unit: minute, requests_per_unit: 10 }
    descriptors:
      - key: path
        rate_limit: { unit: second, requests_per_unit: 5 }
  - key: free
    rate_limit: { unlimited: true }
`;

/** This host's first non-loopback IPv4 address: a peer the guard must not treat as local. */
function externalAddress(): string {
  const address = Object.values(networkInterfaces())
    .flat()
    .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal)?.address;
  if (address === undefined) throw new Error('this test needs a non-loopback IPv4 interface to connect from');
  return address;
}

interface Bucket {
  limit: string;
  remaining: number;
  tokens: number;
  capacity: number;
  refillPerSecond: number;
  secondsToFull: number;
}

async function buckets(rg: TestSidecar, descriptor: string): Promise<Bucket[]> {
  const res = await fetch(`${rg.httpUrl}/buckets?domain=web&descriptor=${encodeURIComponent(descriptor)}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { buckets: Bucket[] }).buckets;
}

const remaining = async (rg: TestSidecar, descriptor: string) => (await buckets(rg, descriptor)).map((b) => b.remaining);

function postReset(base: string, body: unknown, authorization?: string) {
  return fetch(`${base}/reset`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization === undefined ? {} : { authorization }) },
    body: JSON.stringify(body),
  });
}

describe('without an admin token (loopback only)', () => {
  let rg: TestSidecar;
  let external: string;
  beforeAll(async () => {
    // Bound on every interface so a non-loopback peer can reach it.
    rg = await startTestSidecar({ 'web.yaml': CONFIG }, ['--host', '0.0.0.0']);
    external = `http://${externalAddress()}:${rg.sidecar.httpPort}`;
    for (let i = 0; i < 3; i++) await rg.call(request('web', [['user', 'alice']]));
  });
  afterAll(async () => {
    await rg.stop();
  });

  it('GET /buckets shows a bucket without charging it', async () => {
    const [bucket] = await buckets(rg, 'user=alice');
    expect(bucket).toMatchObject({ limit: 'web.user', capacity: 10, remaining: 7, refillPerSecond: 10 / 60 });
    // A token refills every 6 s: well under one has come back while this runs.
    expect(bucket!.tokens).toBeGreaterThanOrEqual(7);
    expect(bucket!.tokens).toBeLessThan(7.5);
    expect(bucket!.secondsToFull).toBeGreaterThan(15);
    expect(bucket!.secondsToFull).toBeLessThanOrEqual(18);
    expect(await remaining(rg, 'user=alice')).toEqual([7]);
    const next = await rg.call(request('web', [['user', 'alice']]));
    expect(next.statuses[0]!.limitRemaining).toBe(6);
  });

  it('GET /buckets: a nested descriptor, an unlimited one, and clear errors', async () => {
    expect(await buckets(rg, 'user=alice,path=/x')).toMatchObject([{ limit: 'web.user.path', capacity: 5, remaining: 5 }]);
    expect(await buckets(rg, 'free=x')).toEqual([]);
    const cases: [string, number, RegExp][] = [
      ['domain=nope&descriptor=user=a', 404, /unknown domain/],
      ['domain=web&descriptor=other=a', 404, /no limit/],
      ['domain=web&descriptor=user', 400, /key=value/],
      ['domain=web', 400, /descriptor is required/],
      [`domain=web&descriptor=user=${'x'.repeat(2000)}`, 400, /at most 1024/],
    ];
    for (const [query, status, message] of cases) {
      const res = await fetch(`${rg.httpUrl}/buckets?${query}`);
      expect([res.status, ((await res.json()) as { error: string }).error]).toEqual([status, expect.stringMatching(message)]);
    }
  });

  it('POST /reset from a non-loopback peer is refused and changes nothing', async () => {
    const res = await postReset(external, { domain: 'web', descriptor: 'user=alice' });
    expect(res.status).toBe(403);
    // Forwarded headers are not the peer: still refused.
    const forged = await fetch(`${external}/reset`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '127.0.0.1' },
      body: JSON.stringify({ domain: 'web', descriptor: 'user=alice' }),
    });
    expect(forged.status).toBe(403);
    expect(await remaining(rg, 'user=alice')).toEqual([6]);
    // Reads stay open to any peer (probes, Prometheus).
    expect((await fetch(`${external}/stats`)).status).toBe(200);
    expect(((await (await fetch(`${external}/stats`)).json()) as { admin: unknown }).admin).toEqual({ tokenRequired: false, mayReset: false });
  });

  it('POST /reset from loopback clears the buckets (JSON list form)', async () => {
    expect(((await (await fetch(`${rg.httpUrl}/stats`)).json()) as { admin: unknown }).admin).toEqual({ tokenRequired: false, mayReset: true });
    const res = await postReset(rg.httpUrl, { domain: 'web', descriptor: [{ key: 'user', value: 'alice' }] });
    expect([res.status, await res.json()]).toEqual([200, { domain: 'web', descriptor: [{ key: 'user', value: 'alice' }], buckets: 1, cleared: 1 }]);
    expect(await remaining(rg, 'user=alice')).toEqual([10]);
    const again = await postReset(rg.httpUrl, { domain: 'web', descriptor: 'user=alice' });
    expect(await again.json()).toMatchObject({ buckets: 1, cleared: 0 });
    expect((await postReset(rg.httpUrl, { domain: 'web' })).status).toBe(400);
  });
});

describe('with an admin token', () => {
  const TOKEN = 'sesame-2f9c';
  let rg: TestSidecar;
  beforeAll(async () => {
    rg = await startTestSidecar({ 'web.yaml': CONFIG }, ['--admin-token', TOKEN]);
    for (let i = 0; i < 4; i++) await rg.call(request('web', [['user', 'bob']]));
  });
  afterAll(async () => {
    await rg.stop();
  });

  it('a missing or wrong token is 401, even from loopback, and changes nothing', async () => {
    for (const auth of [undefined, 'Bearer nope', `Bearer ${TOKEN}x`, `Basic ${TOKEN}`, TOKEN]) {
      const res = await postReset(rg.httpUrl, { domain: 'web', descriptor: 'user=bob' }, auth);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
    }
    expect(await remaining(rg, 'user=bob')).toEqual([6]);
  });

  it('the right token resets, and /stats says whether the caller may', async () => {
    const stats = async (auth?: string) =>
      ((await (await fetch(`${rg.httpUrl}/stats`, { headers: auth === undefined ? {} : { authorization: auth } })).json()) as { admin: unknown }).admin;
    expect(await stats()).toEqual({ tokenRequired: true, mayReset: false });
    expect(await stats(`Bearer ${TOKEN}`)).toEqual({ tokenRequired: true, mayReset: true });
    const res = await postReset(rg.httpUrl, { domain: 'web', descriptor: 'user=bob' }, `Bearer ${TOKEN}`);
    expect(res.status).toBe(200);
    expect(await remaining(rg, 'user=bob')).toEqual([10]);
  });
});
