import { createHash } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { networkInterfaces, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pino } from 'pino';
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
  const res = await fetch(`${rg.debugUrl}/buckets?domain=web&descriptor=${encodeURIComponent(descriptor)}`);
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

/**
 * One HTTP request over a real socket whose source address is `from`: how a mesh sidecar's
 * inbound connection (from 127.0.0.6) reaches the application.
 */
function requestFrom(
  from: string,
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: init.method ?? 'GET', headers: init.headers, localAddress: from }, (res) => {
      let body = '';
      res
        .setEncoding('utf8')
        .on('data', (chunk: string) => (body += chunk))
        .on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject).end(init.body);
  });
}

const resetJson = JSON.stringify({ domain: 'web', descriptor: 'user=alice' });

describe('without an admin token: the debug port (bound to loopback) only', () => {
  let rg: TestSidecar;
  let mainFromLoopback: string;
  let external: string;
  beforeAll(async () => {
    // The HTTP port on every interface, as a Kubernetes Service reaches it; the debug port stays on 127.0.0.1.
    rg = await startTestSidecar({ 'web.yaml': CONFIG }, ['--host', '0.0.0.0']);
    mainFromLoopback = `http://127.0.0.1:${rg.sidecar.httpPort}`;
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

  it('GET /buckets: the source of the numbers, a nested descriptor, an unlimited one, and clear errors', async () => {
    const res = await fetch(`${rg.debugUrl}/buckets?domain=web&descriptor=user=alice`);
    expect(((await res.json()) as { source: string }).source).toBe('store');
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
      const res = await fetch(`${rg.debugUrl}/buckets?${query}`);
      expect([res.status, ((await res.json()) as { error: string }).error]).toEqual([status, expect.stringMatching(message)]);
    }
  });

  it('the HTTP port (bound to 0.0.0.0) refuses the admin endpoints to every peer, 127.0.0.6 and 127.0.0.1 too, and nothing changes', async () => {
    const peers: [string, string][] = [
      ['127.0.0.6', mainFromLoopback], // Istio's inbound passthrough source
      ['127.0.0.1', mainFromLoopback], // older Istio, or any local process
      [externalAddress(), external],
    ];
    for (const [from, base] of peers) {
      const reset = await requestFrom(from, `${base}/reset`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: resetJson });
      expect([from, reset.status, JSON.parse(reset.body).error]).toEqual([from, 403, expect.stringMatching(/bound to 0\.0\.0\.0, not a loopback address/)]);
      const forged = await requestFrom(from, `${base}/reset`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': '127.0.0.1' },
        body: resetJson,
      });
      expect([from, forged.status]).toEqual([from, 403]);
      for (const path of ['/stats', '/buckets?domain=web&descriptor=user=alice'])
        expect([from, path, (await requestFrom(from, `${base}${path}`)).status]).toEqual([from, path, 403]);
      // What the Service is for stays open: probes, Prometheus, Envoy's JSON endpoint.
      for (const path of ['/healthcheck', '/metrics', '/rlconfig'])
        expect([from, path, (await requestFrom(from, `${base}${path}`)).status]).toEqual([from, path, 200]);
    }
    expect(await remaining(rg, 'user=alice')).toEqual([6]);
  });

  it('the debug port, bound to 127.0.0.1, serves them to any peer: only this network namespace can connect to it', async () => {
    const stats = await requestFrom('127.0.0.6', `${rg.debugUrl}/stats`);
    expect([stats.status, JSON.parse(stats.body).admin]).toEqual([200, { tokenRequired: false, mayReset: true }]);
  });

  it('a cross-site form post (form body, query string, or JSON as text/plain) changes nothing', async () => {
    const target = `${rg.debugUrl}/reset?domain=web&descriptor=user%3Dalice`;
    const attempts = [
      { 'content-type': 'application/x-www-form-urlencoded', body: 'domain=web&descriptor=user%3Dalice' },
      { 'content-type': 'multipart/form-data; boundary=x', body: '--x\r\nContent-Disposition: form-data; name="domain"\r\n\r\nweb\r\n--x--\r\n' },
      { 'content-type': 'text/plain', body: resetJson },
      { body: '' },
    ];
    for (const { body, ...headers } of attempts) {
      const res = await fetch(target, { method: 'POST', headers, body });
      expect([headers['content-type'], res.status, ((await res.json()) as { error: string }).error]).toEqual([
        headers['content-type'],
        415,
        'POST /reset takes a JSON body (Content-Type: application/json)',
      ]);
    }
    // A JSON body without the domain does not fall back to the query string either.
    const queryOnly = await fetch(target, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect([queryOnly.status, await queryOnly.json()]).toEqual([400, { error: 'domain is required' }]);
    expect(await remaining(rg, 'user=alice')).toEqual([6]);
  });

  it('POST /reset on the debug port clears the buckets (JSON list form)', async () => {
    const res = await postReset(rg.debugUrl, { domain: 'web', descriptor: [{ key: 'user', value: 'alice' }] });
    expect([res.status, await res.json()]).toEqual([200, { domain: 'web', descriptor: [{ key: 'user', value: 'alice' }], buckets: 1, cleared: 1 }]);
    expect(await remaining(rg, 'user=alice')).toEqual([10]);
    const again = await postReset(rg.debugUrl, { domain: 'web', descriptor: 'user=alice' });
    expect(await again.json()).toMatchObject({ buckets: 1, cleared: 0 });
    expect((await postReset(rg.debugUrl, { domain: 'web' })).status).toBe(400);
  });
});

describe('a debug port bound to 0.0.0.0 is not loopback', () => {
  let rg: TestSidecar;
  beforeAll(async () => {
    rg = await startTestSidecar({ 'web.yaml': CONFIG }, ['--debug-host', '0.0.0.0']);
    for (let i = 0; i < 2; i++) await rg.call(request('web', [['user', 'carol']]));
  });
  afterAll(async () => {
    await rg.stop();
  });

  it('a peer from 127.0.0.6 is remote there: 403 for reads and resets, nothing changes', async () => {
    const reset = await requestFrom('127.0.0.6', `${rg.debugUrl}/reset`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ domain: 'web', descriptor: 'user=carol' }),
    });
    expect(reset.status).toBe(403);
    expect((await requestFrom('127.0.0.6', `${rg.debugUrl}/stats`)).status).toBe(403);
    // The HTTP port of this sidecar is bound to 127.0.0.1: reads there show the bucket untouched.
    expect(await remaining({ ...rg, debugUrl: rg.httpUrl }, 'user=carol')).toEqual([8]);
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

describe('with an admin token file, on an HTTP port bound to 0.0.0.0', () => {
  let rg: TestSidecar;
  let tokenFile: string;
  let mainUrl: string;
  const logLines: string[] = [];
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  beforeAll(async () => {
    const secrets = mkdtempSync(join(tmpdir(), 'rg-secret-'));
    tokenFile = join(secrets, 'token');
    writeFileSync(tokenFile, 'first-token-8d1\n');
    rg = await startTestSidecar(
      { 'web.yaml': CONFIG },
      ['--host', '0.0.0.0', '--admin-token-file', tokenFile],
      pino({ level: 'info' }, { write: (line: string) => logLines.push(line) }),
    );
    mainUrl = `http://127.0.0.1:${rg.sidecar.httpPort}`;
    for (let i = 0; i < 4; i++) await rg.call(request('web', [['user', 'dave']]));
  });
  afterAll(async () => {
    await rg.stop();
    rmSync(dirname(tokenFile), { recursive: true, force: true });
  });

  it('the token opens the admin endpoints to a mesh peer (127.0.0.6); without it 401 and nothing changes', async () => {
    const reset = (headers: Record<string, string>) =>
      requestFrom('127.0.0.6', `${mainUrl}/reset`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ domain: 'web', descriptor: 'user=dave' }),
      });
    expect((await requestFrom('127.0.0.6', `${mainUrl}/stats`)).status).toBe(401);
    expect((await reset({})).status).toBe(401);
    expect((await reset(bearer('first-token-8d2'))).status).toBe(401);
    expect(await remaining(rg, 'user=dave')).toEqual([6]);
    const stats = await requestFrom('127.0.0.6', `${mainUrl}/stats`, { headers: bearer('first-token-8d1') });
    expect([stats.status, JSON.parse(stats.body).admin]).toEqual([200, { tokenRequired: true, mayReset: true }]);
    expect(JSON.parse((await reset(bearer('first-token-8d1'))).body)).toMatchObject({ buckets: 1, cleared: 1 });
    expect(await remaining(rg, 'user=dave')).toEqual([10]);
  });

  it('a rotated Secret (the file replaced) takes effect on the next call: the old token is refused, the new one accepted', async () => {
    await rg.call(request('web', [['user', 'dave']]));
    // As the kubelet updates a mounted Secret: a new file renamed over the old one.
    writeFileSync(`${tokenFile}.new`, 'second-token-51a');
    renameSync(`${tokenFile}.new`, tokenFile);
    expect((await postReset(rg.debugUrl, { domain: 'web', descriptor: 'user=dave' }, 'Bearer first-token-8d1')).status).toBe(401);
    expect(await remaining(rg, 'user=dave')).toEqual([9]);
    const res = await postReset(rg.debugUrl, { domain: 'web', descriptor: 'user=dave' }, 'Bearer second-token-51a');
    expect([res.status, ((await res.json()) as { cleared: number }).cleared]).toEqual([200, 1]);
    // Emptied (a broken rotation): no token matches any more, and no-token access does not return.
    writeFileSync(tokenFile, '');
    expect((await postReset(rg.debugUrl, { domain: 'web', descriptor: 'user=dave' }, 'Bearer second-token-51a')).status).toBe(401);
    expect((await postReset(rg.debugUrl, { domain: 'web', descriptor: 'user=dave' })).status).toBe(401);
    // Said once, with the path; neither token ever appears in a log line.
    expect(logLines.filter((line) => line.includes('admin token file unreadable')).map((line) => JSON.parse(line).error)).toEqual([
      `--admin-token-file: ${tokenFile} is empty`,
    ]);
    expect(logLines.filter((line) => line.includes('token-8d1') || line.includes('token-51a'))).toEqual([]);
  });
});

describe('--stats-identities', () => {
  const topOf = async (rg: TestSidecar) =>
    (await (await fetch(`${rg.debugUrl}/stats`)).json()) as { identities: string; topLimited: { descriptor: unknown }[] };
  const limitEve = async (rg: TestSidecar) => {
    for (let i = 0; i < 11; i++) await rg.call(request('web', [['user', 'eve-api-key-0042']]));
  };

  it('hashes identity values by default, shows a prefix or the full value when told', async () => {
    const digest = createHash('sha256').update('eve-api-key-0042').digest('hex').slice(0, 16);
    const expected: [string[], string, string][] = [
      [[], 'hash', `sha256:${digest}`],
      [['--stats-identities', 'prefix'], 'prefix', 'eve-…'],
      [['--stats-identities', 'full'], 'full', 'eve-api-key-0042'],
    ];
    for (const [flags, identities, value] of expected) {
      const rg = await startTestSidecar({ 'web.yaml': CONFIG }, flags);
      try {
        await limitEve(rg);
        const stats = await topOf(rg);
        expect([stats.identities, stats.topLimited.map((t) => t.descriptor)]).toEqual([identities, [[{ key: 'user', value }]]]);
      } finally {
        await rg.stop();
      }
    }
  });
});
