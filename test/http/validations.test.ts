/** The middleware's validations: each warns once, with its code and where it is explained, and each can be turned off. */
import { request as httpRequest } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { rateLimiter } from '../../src/http/rate-limiter.js';
import type { RateLimiterOptions } from '../../src/http/rate-limiter-options.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import { capturingLogger, cleanupList, type LogLine, limiterApp, listenOn, statuses } from './limiter-harness.js';

const cleanups = cleanupList();
afterEach(() => cleanups.run());

function warned(options: RateLimiterOptions = {}) {
  const captured = capturingLogger();
  const limiter = cleanups.limiter(rateLimiter({ ...options, logger: captured.logger }));
  const codes = () => captured.lines.filter((line) => line.code !== undefined).map((line) => line.code);
  return { limiter, codes, lines: captured.lines };
}

/** The one warning of `code`: its message, its link, how to turn it off. */
function expectWarning(lines: readonly LogLine[], code: string, check: string, says: string) {
  const found = lines.filter((line) => line.code === code);
  expect(found).toHaveLength(1);
  expect(found[0]!.level).toBe(40);
  expect(found[0]!.help).toBe(`README.md#${code.toLowerCase()}`);
  expect(found[0]!.msg).toContain(says);
  expect(found[0]!.msg).toContain(`[${code}; see README.md#${code.toLowerCase()}; turn off with validate: { ${check}: false }]`);
}

async function serve(...limiters: ReturnType<typeof rateLimiter>[]) {
  const { app } = limiterApp(...limiters);
  app.get('/', (_req, res) => res.send('ok'));
  const server = await listenOn(app);
  cleanups.add(server.close);
  return { url: server.url, app };
}

describe('validations', () => {
  it('RG_TRUST_PROXY: X-Forwarded-For while trust proxy is off warns once, with its link and how to turn it off', async () => {
    const { limiter, codes, lines } = warned({ name: 'proxied' });
    const { url } = await serve(limiter);
    expect(await statuses(url, 3, { headers: { 'x-forwarded-for': '203.0.113.9' } })).toEqual([200, 200, 200]);
    expect(codes()).toEqual(['RG_TRUST_PROXY']);
    expect(lines.find((l) => l.code === 'RG_TRUST_PROXY')!.limiter).toBe('proxied');
    expectWarning(lines, 'RG_TRUST_PROXY', 'trustProxy', "the request has an X-Forwarded-For header but Express's 'trust proxy' setting is false");
  });

  it('RG_TRUST_PROXY is silent when trust proxy is set, with validate: { trustProxy: false }, or with an identifier of its own', async () => {
    const trusted = warned();
    const { url, app } = await serve(trusted.limiter);
    app.set('trust proxy', 1);
    await statuses(url, 1, { headers: { 'x-forwarded-for': '203.0.113.9' } });
    const off = warned({ validate: { trustProxy: false } });
    await statuses((await serve(off.limiter)).url, 1, { headers: { 'x-forwarded-for': '203.0.113.9' } });
    // An identifier of its own does not name clients by req.ip: nothing to warn about.
    const byKey = warned({ identifier: (req) => String(req.headers['x-api-key']) });
    await statuses((await serve(byKey.limiter)).url, 1, { headers: { 'x-forwarded-for': '203.0.113.9', 'x-api-key': 'k' } });
    expect([trusted.codes(), off.codes(), byKey.codes()]).toEqual([[], [], []]);
  });

  it('RG_NO_CLIENT_ADDRESS: a request without a client address (a unix socket) warns once', async () => {
    const { limiter, codes, lines } = warned();
    const app = express();
    app.use(limiter);
    app.get('/', (_req, res) => res.send('ok'));
    const dir = mkdtempSync(join(tmpdir(), 'rg-uds-'));
    const socketPath = join(dir, 'app.sock');
    const server = app.listen(socketPath);
    await new Promise<void>((resolve) => server.once('listening', resolve));
    cleanups.add(async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    });
    const get = () =>
      new Promise<number>((resolve, reject) => {
        const req = httpRequest({ socketPath, path: '/' }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
        });
        req.on('error', reject);
        req.end();
      });
    expect([await get(), await get()]).toEqual([200, 200]);
    expect(codes()).toEqual(['RG_NO_CLIENT_ADDRESS']);
    expectWarning(lines, 'RG_NO_CLIENT_ADDRESS', 'clientAddress', 'the request has no client address (req.ip is undefined)');
  });

  it('RG_STORE_SHARED: two limiters with one name and limit on one store warn; other names do not', () => {
    const store = new MemoryStore();
    cleanups.add(() => store.close());
    const first = warned({ store, name: 'api' });
    const second = warned({ store, name: 'api' });
    const otherName = warned({ store, name: 'login' });
    const otherStore = warned({ store: new MemoryStore(), name: 'api' });
    const off = warned({ store, name: 'api', validate: { sharedStore: false } });
    expect([first.codes(), second.codes(), otherName.codes(), otherStore.codes(), off.codes()]).toEqual([[], ['RG_STORE_SHARED'], [], [], []]);
    expectWarning(second.lines, 'RG_STORE_SHARED', 'sharedStore', 'another limiter with the same name, limit and keyPrefix already uses this store');
  });

  it('RG_DOUBLE_COUNT: a limiter mounted twice counts a request once, and warns once', async () => {
    const { limiter, codes, lines } = warned({ requestsPerMinute: 2 });
    const { app } = limiterApp(limiter);
    app.get('/', limiter, (_req, res) => res.send('ok'));
    const server = await listenOn(app);
    cleanups.add(server.close);
    expect(await statuses(server.url, 3)).toEqual([200, 200, 429]);
    expect(codes()).toEqual(['RG_DOUBLE_COUNT']);
    expectWarning(lines, 'RG_DOUBLE_COUNT', 'doubleCount', 'the limiter ran twice for one request');
  });

  it('RG_CREATED_IN_HANDLER: a limiter created while a request is handled warns, unless turned off', async () => {
    const made: ReturnType<typeof warned>[] = [];
    const { app } = limiterApp();
    app.get('/', (_req, res) => {
      made.push(warned(), warned({ validate: { creationStack: false } }));
      res.send('ok');
    });
    const server = await listenOn(app);
    cleanups.add(server.close);
    await statuses(server.url, 1);
    expect(made.map((m) => m.codes())).toEqual([['RG_CREATED_IN_HANDLER'], []]);
    expectWarning(made[0]!.lines, 'RG_CREATED_IN_HANDLER', 'creationStack', 'the limiter was created while a request was being handled');
    expect(warned().codes()).toEqual([]); // at setup: silent
  });

  it('validate: false turns every check off; validate: { default: false, trustProxy: true } only one on', async () => {
    const store = new MemoryStore();
    cleanups.add(() => store.close());
    warned({ store, name: 'same' });
    const none = warned({ store, name: 'same', validate: false });
    const onlyProxy = warned({ store, name: 'same', validate: { default: false, trustProxy: true } });
    await statuses((await serve(none.limiter)).url, 1, { headers: { 'x-forwarded-for': '203.0.113.9' } });
    await statuses((await serve(onlyProxy.limiter)).url, 1, { headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect([none.codes(), onlyProxy.codes()]).toEqual([[], ['RG_TRUST_PROXY']]);
  });
});
