import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDemoApp, localDemoLimits, sidecarDemoLimits } from '../../src/demo/demo-app.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import { listen } from '../support/http.js';
import { spawnNode } from '../support/processes.js';
import { findFreePort, type RedisProcess, startRedis } from '../support/redis-server.js';
import { startTestSidecar } from '../support/sidecar.js';

const get = async (url: string) => (await fetch(url)).status;
/** The demo's reset, as an operator's script sends it (JSON, so a browser would preflight it). */
const resetCall = (url: string, token?: string) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) } });

describe('demo API (memory store)', () => {
  const store = new MemoryStore();
  let url: string;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ url, close } = await listen(createDemoApp(localDemoLimits(store, 'memory'), 'sesame')));
  });
  afterAll(async () => {
    await close();
    await store.close();
  });

  it('limits /api/expensive to 5 per minute per client, GET and POST together', async () => {
    const seen = [];
    for (let i = 0; i < 3; i++) seen.push(await get(`${url}/api/expensive`));
    for (let i = 0; i < 3; i++) seen.push((await fetch(`${url}/api/expensive`, { method: 'POST' })).status);
    expect(seen).toEqual([200, 200, 200, 200, 200, 429]);
    expect(await get(`${url}/api/hello`)).toBe(200);
  });

  it('reports its limits and counts in /api/admin/stats', async () => {
    const stats = (await (await fetch(`${url}/api/admin/stats`)).json()) as Record<string, unknown>;
    expect(stats).toEqual({
      store: 'memory',
      limits: { 'demo-global': { requestsPerMinute: 60, capacity: 60 }, 'demo-expensive': { requestsPerMinute: 5, capacity: 5 } },
      requests: { allowed: 6, limited: 1 },
    });
  });

  it('resets a client only with the admin token, and never from a cross-site form post', async () => {
    expect((await resetCall(`${url}/api/admin/reset/127.0.0.1`, 'nope')).status).toBe(401);
    // What a web page can send without a preflight: a plain POST or a form. The token alone does not make it JSON.
    const form = await fetch(`${url}/api/admin/reset/127.0.0.1`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Bearer sesame' },
      body: 'a=1',
    });
    expect([form.status, await form.json()]).toEqual([415, { error: 'POST /api/admin/reset/127.0.0.1 takes a JSON body (Content-Type: application/json)' }]);
    expect((await fetch(`${url}/api/admin/reset/127.0.0.1`, { method: 'POST', headers: { authorization: 'Bearer sesame' } })).status).toBe(415);
    expect(await get(`${url}/api/expensive`)).toBe(429);
    const right = await resetCall(`${url}/api/admin/reset/127.0.0.1`, 'sesame');
    expect(await right.json()).toEqual({ id: '127.0.0.1', cleared: 2 });
    expect(await get(`${url}/api/expensive`)).toBe(200);
  });
});

describe('two demo servers on one Redis', () => {
  let redis: RedisProcess;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });

  it('share one limit: 5 expensive calls in all, whichever server takes them', async () => {
    const ports = [await findFreePort(), await findFreePort()];
    const servers = ports.map((port) =>
      spawnNode('src/demo/main.ts', ['--redis'], { PORT: String(port), REDIS_URL: redis.url, LOG_LEVEL: 'info', ADMIN_TOKEN: 'shared-secret' }),
    );
    try {
      await Promise.all(servers.map((s) => s.waitForLine(/demo API listening/)));
      const seen = [];
      for (let i = 0; i < 4; i++) seen.push(await get(`http://127.0.0.1:${ports[i % 2]}/api/expensive`));
      for (let i = 0; i < 3; i++) seen.push(await get(`http://127.0.0.1:${ports[1]}/api/expensive`));
      expect(seen).toEqual([200, 200, 200, 200, 200, 429, 429]);
      // The demo listens on every interface: a loopback peer (a mesh sidecar's, say) gets no reset without the token.
      expect((await resetCall(`http://127.0.0.1:${ports[0]}/api/admin/reset/127.0.0.1`)).status).toBe(401);
      expect(await get(`http://127.0.0.1:${ports[1]}/api/expensive`)).toBe(429);
      // With it the reset is shared too.
      const reset = await resetCall(`http://127.0.0.1:${ports[0]}/api/admin/reset/127.0.0.1`, 'shared-secret');
      expect(await reset.json()).toEqual({ id: '127.0.0.1', cleared: 2 });
      expect(await get(`http://127.0.0.1:${ports[1]}/api/expensive`)).toBe(200);
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
    }
  });
});

describe('npm run demo:redis under autocannon -c 200', () => {
  it('exactly the limit gets 200: 5 of 4,000 concurrent expensive calls, every other one 429, no store warning', async () => {
    const redis = await startRedis();
    const port = await findFreePort();
    const server = spawnNode('src/demo/main.ts', ['--redis'], { PORT: String(port), REDIS_URL: redis.url, LOG_LEVEL: 'info' });
    const warnings: string[] = [];
    server.process.stdout.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line.includes('"level":40')) warnings.push(line);
    });
    try {
      await server.waitForLine(/demo API listening/);
      const result = await autocannon({ url: `http://127.0.0.1:${port}/api/expensive`, connections: 200, amount: 4000 });
      const byStatus = Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, { count }]) => [code, count]));
      expect(byStatus).toEqual({ 200: 5, 429: 3995 });
      expect([result.errors, result.timeouts, result.non2xx]).toEqual([0, 0, 3995]);
      expect(warnings).toEqual([]);
    } finally {
      await server.stop();
      await redis.stop();
    }
  });
});

describe('demo API in sidecar mode', () => {
  it("POST /api/admin/reset/:id clears the client's buckets through the sidecar's POST /reset", async () => {
    const config = readFileSync('config/demo.yaml', 'utf8');
    const rg = await startTestSidecar({ 'demo.yaml': config }, ['--admin-token', 'side-token']);
    const limits = sidecarDemoLimits(`127.0.0.1:${rg.sidecar.grpcPort}`, undefined, { url: rg.httpUrl, token: 'side-token' });
    const demo = await listen(createDemoApp(limits, 'demo-token'));
    try {
      const seen = [];
      for (let i = 0; i < 6; i++) seen.push(await get(`${demo.url}/api/expensive`));
      expect(seen.at(-1)).toBe(429);
      const reset = await resetCall(`${demo.url}/api/admin/reset/127.0.0.1`, 'demo-token');
      expect(await reset.json()).toEqual({ id: '127.0.0.1', cleared: 2 });
      expect(await get(`${demo.url}/api/expensive`)).toBe(200);
    } finally {
      await demo.close();
      await limits.close();
      await rg.stop();
    }
  });
});
