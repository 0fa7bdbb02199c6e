/**
 * The demo listens on `::` (DEMO_HOST), where an IPv4 client's req.ip is `::ffff:127.0.0.1`. The
 * README's admin reset names the client `127.0.0.1`: it must clear that client's buckets under
 * `npm start` (the sidecar decides) and under `npm run demo` (local limiters) alike.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createDemoApp, type DemoLimits, localDemoLimits, sidecarDemoLimits } from '../../src/demo/demo-app.js';
import { DEMO_HOST } from '../../src/demo/serve-demo.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import { listen } from '../support/http.js';
import { startTestSidecar } from '../support/sidecar.js';

const get = async (url: string) => (await fetch(url)).status;
const reset = async (url: string) =>
  (
    await fetch(`${url}/api/admin/reset/127.0.0.1`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer demo-token' } })
  ).json();

async function exhaustThenReset(limits: DemoLimits) {
  const demo = await listen(createDemoApp(limits, 'demo-token'), DEMO_HOST);
  try {
    const seen: number[] = [];
    for (let i = 0; i < 6; i++) seen.push(await get(`${demo.url}/api/expensive`));
    const cleared = await reset(demo.url);
    return { seen, cleared, after: await get(`${demo.url}/api/expensive`) };
  } finally {
    await demo.close();
  }
}

describe(`the demo on ${DEMO_HOST}: POST /api/admin/reset/127.0.0.1 clears an IPv4 client`, () => {
  it('with local limiters (npm run demo)', async () => {
    const limits = localDemoLimits(new MemoryStore(), 'memory');
    try {
      expect(await exhaustThenReset(limits)).toEqual({ seen: [200, 200, 200, 200, 200, 429], cleared: { id: '127.0.0.1', cleared: 2 }, after: 200 });
    } finally {
      await limits.close();
    }
  });

  it('through the sidecar (npm start)', async () => {
    const rg = await startTestSidecar({ 'demo.yaml': readFileSync('config/demo.yaml', 'utf8') }, ['--admin-token', 'side-token']);
    const limits = sidecarDemoLimits(`127.0.0.1:${rg.sidecar.grpcPort}`, undefined, { url: rg.httpUrl, token: 'side-token' });
    try {
      expect(await exhaustThenReset(limits)).toEqual({ seen: [200, 200, 200, 200, 200, 429], cleared: { id: '127.0.0.1', cleared: 2 }, after: 200 });
    } finally {
      await limits.close();
      await rg.stop();
    }
  });
});
