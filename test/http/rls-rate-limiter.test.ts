/**
 * rlsRateLimiter against a real sidecar over real gRPC: the channel connected at creation, the
 * failure policy at once (one warning) when the sidecar cannot be reached, Retry-After from the
 * sidecar's retry time, and TLS / mTLS to a sidecar serving a test CA's certificates.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import express from 'express';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RlsRateLimiterOptions, rlsRateLimiter } from '../../src/http/rls-rate-limiter.js';
import { RateLimitServiceClient, shouldRateLimit } from '../../src/rls/codec.js';
import { OptionError } from '../../src/validation/option-error.js';
import { makeCertificates } from '../support/certificates.js';
import { listen } from '../support/http.js';
import { findFreePort } from '../support/redis-server.js';
import { type SidecarProcess, startSidecarProcess } from '../support/sidecar-process.js';
import { request } from '../support/sidecar.js';

/** 5 per minute per user: a token comes back every 12 s. */
const CONFIG = `
domain: app
descriptors:
  - key: user
    rate_limit: { unit: minute, requests_per_unit: 5 }
`;

interface LogLine {
  level: number;
  msg: string;
  reason?: string;
  code?: string;
}

function capturingLogger() {
  const lines: LogLine[] = [];
  const waiters: { msg: string; resolve: () => void }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const line = JSON.parse(chunk.toString()) as LogLine;
      lines.push(line);
      for (const waiter of waiters.filter((w) => w.msg === line.msg)) waiter.resolve();
      done();
    },
  });
  const logged = (msg: string) => new Promise<void>((resolve) => waiters.push({ msg, resolve }));
  return { logger: pino(stream), lines, logged };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A `rateguard serve` process (its own event loop, as in production) serving CONFIG. */
async function sidecar(flags: string[] = []): Promise<SidecarProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'rg-rls-config-'));
  writeFileSync(join(dir, 'app.yaml'), CONFIG);
  const rg = await startSidecarProcess(['--config', dir, ...flags]);
  cleanups.push(async () => {
    await rg.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return rg;
}

type Options = Omit<RlsRateLimiterOptions, 'domain' | 'descriptors'>;

/** An app limited by rlsRateLimiter (user from `?user=`), served on a free port. */
async function limitedApp(options: Options) {
  const limiter = rlsRateLimiter({
    domain: 'app',
    descriptors: (req) => [[{ key: 'user', value: String(req.query.user) }]],
    // Calls get 2 s on this shared machine: these tests are about outcomes, not the 20 ms default.
    timeoutMs: 2000,
    ...options,
  });
  cleanups.push(() => limiter.close());
  const app = express();
  app.use(limiter);
  app.get('/', (_req, res) => {
    res.json({ ok: true });
  });
  const server = await listen(app);
  cleanups.push(server.close);
  const get = (user: string) => fetch(`${server.url}/?user=${user}`);
  const statuses = async (user: string, n: number) => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push((await get(user)).status);
    return out;
  };
  return { limiter, get, statuses };
}

/** Forwards to `targetPort`, each connection opened only `delayMs` after it was accepted: a slow connect. */
async function slowConnectProxy(targetPort: number, delayMs: number) {
  const sockets: Socket[] = [];
  const waiting: { count: number; resolve: () => void }[] = [];
  let connections = 0;
  const server: Server = createServer((client) => {
    client.pause();
    connections += 1;
    sockets.push(client);
    for (const waiter of waiting.filter((w) => w.count <= connections)) waiter.resolve();
    setTimeout(() => {
      const upstream = connect(targetPort, '127.0.0.1');
      sockets.push(upstream);
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    }, delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const dropAll = () => {
    for (const socket of sockets.splice(0)) socket.destroy();
  };
  cleanups.push(() => {
    dropAll();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    port: (server.address() as { port: number }).port,
    /** Resolves once `count` connections in all have been accepted. */
    accepted: (count: number) => (connections >= count ? Promise.resolve() : new Promise<void>((resolve) => waiting.push({ count, resolve }))),
    connections: () => connections,
    /** Closes every connection, as a sidecar's idle or max-age GOAWAY ends with. */
    dropAll,
  };
}

const address = (rg: SidecarProcess) => `127.0.0.1:${rg.grpcPort}`;

describe('rlsRateLimiter: connected at creation', () => {
  it('connects at creation: the first request waits for that connection, so a 600 ms connect does not fail its 250 ms call', async () => {
    const rg = await sidecar();
    // The sidecar's own first-call costs paid by another client: what is tested is the limiter's channel.
    const warm = new RateLimitServiceClient(address(rg), grpc.credentials.createInsecure());
    for (let i = 0; i < 10; i++) await shouldRateLimit(warm, request('app', [['user', 'warm-up']]), { deadline: Date.now() + 5000 });
    warm.close();
    const proxy = await slowConnectProxy(rg.grpcPort, 600);
    // failOpen false: a first call that missed its deadline would answer 503, not 200.
    const { limiter, statuses } = await limitedApp({ address: `127.0.0.1:${proxy.port}`, timeoutMs: 250, connectTimeoutMs: 5000, failOpen: false });
    await proxy.accepted(1); // before any request
    expect(await statuses('first', 6)).toEqual([200, 200, 200, 200, 200, 429]);
    expect(await limiter.ready).toBe(true);
    expect(proxy.connections()).toBe(1);
  });

  it('a dropped connection is re-made before the next request needs it', async () => {
    const rg = await sidecar();
    const proxy = await slowConnectProxy(rg.grpcPort, 0);
    const { limiter, statuses } = await limitedApp({ address: `127.0.0.1:${proxy.port}`, failOpen: false });
    expect(await limiter.ready).toBe(true);
    expect(await statuses('dropped', 2)).toEqual([200, 200]);
    proxy.dropAll();
    await proxy.accepted(2); // no request has been made since
    expect(await statuses('dropped', 4)).toEqual([200, 200, 200, 429]);
    expect(proxy.connections()).toBe(2);
  });

  it('an unreachable sidecar: ready is false, every request takes the failure policy at once, with one warning and no call', async () => {
    const { logger, lines } = capturingLogger();
    const closedPort = await findFreePort();
    const { limiter, statuses } = await limitedApp({ address: `127.0.0.1:${closedPort}`, failOpen: false, logger });
    expect(await limiter.ready).toBe(false);
    expect(await statuses('u', 5)).toEqual([503, 503, 503, 503, 503]);
    const warnings = lines.filter((l) => l.level === 40);
    expect(warnings).toHaveLength(1);
    // Told by the channel, not by a call that ran out of its deadline.
    expect(warnings[0]).toMatchObject({ msg: 'rate limit service unavailable', reason: 'connection failed' });
    expect(warnings[0]!.code).toBeUndefined();
  });

  it('a sidecar that accepts TCP but never speaks HTTP/2: unreachable after connectTimeoutMs, then fail open at once', async () => {
    const { logger, lines } = capturingLogger();
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => silent.close(() => resolve()));
    });
    const { port } = silent.address() as { port: number };
    const { limiter, statuses } = await limitedApp({ address: `127.0.0.1:${port}`, connectTimeoutMs: 300, logger });
    expect(await limiter.ready).toBe(false);
    expect(await statuses('u', 4)).toEqual([200, 200, 200, 200]);
    expect(lines.filter((l) => l.level === 40)).toEqual([expect.objectContaining({ reason: 'not connected within 300 ms' })]);
  });

  it('a sidecar that comes up later is used as soon as the channel connects, told by one info line', async () => {
    const { logger, lines, logged } = capturingLogger();
    const port = await findFreePort();
    const { limiter, statuses } = await limitedApp({ address: `127.0.0.1:${port}`, failOpen: false, logger });
    expect(await limiter.ready).toBe(false);
    expect(await statuses('late', 1)).toEqual([503]);
    const back = logged('rate limit service available again');
    await sidecar(['--grpc-port', String(port)]);
    await back;
    expect(await statuses('late', 6)).toEqual([200, 200, 200, 200, 200, 429]);
    expect(lines.map((l) => l.msg)).toEqual(['rate limit service unavailable', 'rate limit service available again']);
  });
});

describe('rlsRateLimiter: Retry-After follows the sidecar retry time (5/min: a token back after 12 s)', () => {
  it.each([
    ['without response headers (from duration_until_reset)', []],
    ['with draft-10 response headers (the sidecar Retry-After)', ['--response-headers', 'draft-10']],
  ])('%s', async (_label, flags) => {
    const rg = await sidecar(flags);
    const { statuses, get } = await limitedApp({ address: address(rg) });
    expect(await statuses('retry', 5)).toEqual([200, 200, 200, 200, 200]);
    const denied = await get('retry');
    expect(denied.status).toBe(429);
    expect(denied.headers.get('retry-after')).toBe('12');
    expect(await denied.json()).toEqual({ error: 'Too many requests, please try again later.', retryAfter: 12 });
  });
});

describe('rlsRateLimiter: TLS and mTLS', () => {
  let dir: string;
  const pem = (name: string) => readFileSync(join(dir, name));
  const serverFlags = () => ['--grpc-tls-cert', join(dir, 'server.crt'), '--grpc-tls-key', join(dir, 'server.key')];
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'rg-rls-tls-'));
    // The certificate names a service, not the 127.0.0.1 the limiter dials: serverName must say it.
    makeCertificates(dir, 'DNS:rls.internal');
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('TLS with the CA and serverName: decides (5 allowed, then 429)', async () => {
    const rg = await sidecar(serverFlags());
    const { limiter, statuses } = await limitedApp({ address: address(rg), failOpen: false, tls: { ca: pem('ca.crt'), serverName: 'rls.internal' } });
    expect(await limiter.ready).toBe(true);
    expect(await statuses('tls', 6)).toEqual([200, 200, 200, 200, 200, 429]);
  });

  it.each<[string, () => Options['tls']]>([
    ['plaintext', () => undefined],
    ['the CA but no serverName (the certificate does not name 127.0.0.1)', () => ({ ca: pem('ca.crt') })],
    ['serverName but not the CA', () => ({ serverName: 'rls.internal' })],
  ])('TLS sidecar, limiter with %s: not ready, 503', async (_label, tls) => {
    const rg = await sidecar(serverFlags());
    const given = tls();
    const { limiter, statuses } = await limitedApp({
      address: address(rg),
      failOpen: false,
      connectTimeoutMs: 2000,
      ...(given === undefined ? {} : { tls: given }),
    });
    expect(await limiter.ready).toBe(false);
    expect(await statuses('tls', 2)).toEqual([503, 503]);
  });

  it('mTLS: a client certificate the CA signed decides; without one the sidecar refuses it (503)', async () => {
    const rg = await sidecar([...serverFlags(), '--grpc-tls-ca', join(dir, 'ca.crt')]);
    const base = { ca: pem('ca.crt'), serverName: 'rls.internal' };
    const withCert = await limitedApp({ address: address(rg), failOpen: false, tls: { ...base, cert: pem('client.crt'), key: pem('client.key') } });
    expect(await withCert.limiter.ready).toBe(true);
    expect(await withCert.statuses('mtls', 6)).toEqual([200, 200, 200, 200, 200, 429]);
    const withoutCert = await limitedApp({ address: address(rg), failOpen: false, connectTimeoutMs: 2000, tls: base });
    await withoutCert.limiter.ready;
    expect(await withoutCert.statuses('mtls-anon', 2)).toEqual([503, 503]);
  });
});

describe('rlsRateLimiter: options checked at creation', () => {
  const base = { domain: 'app', descriptors: () => [] };
  it.each<[string, Record<string, unknown>, string]>([
    ['a cert without its key', { tls: { cert: 'PEM' } }, 'tls.cert'],
    ['a key without its cert', { tls: { key: 'PEM' } }, 'tls.key'],
    ['an unknown TLS option', { tls: { servername: 'x' } }, 'servername'],
    ['an unknown option', { timeout: 5 }, 'timeout'],
    ['a timeout of 0', { timeoutMs: 0 }, 'timeoutMs'],
    ['no domain', { domain: '' }, 'domain'],
  ])('%s is an OptionError naming it', (_label, extra, option) => {
    const create = () => rlsRateLimiter({ ...base, ...extra } as unknown as RlsRateLimiterOptions);
    expect(create).toThrow(OptionError);
    expect(create).toThrow(`option "${option}"`);
  });
});
