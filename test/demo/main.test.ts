/** The demo API's `--behind-proxy` mode, as envoy/docker-compose.yaml runs it behind Envoy. */
import { expect, it } from 'vitest';
import { spawnNode } from '../support/processes.js';

it('--behind-proxy: the app limits nothing (Envoy does) and sees the client Envoy appended to X-Forwarded-For', async () => {
  const api = spawnNode('src/demo/main.ts', ['--behind-proxy'], { PORT: '0', LOG_LEVEL: 'info' });
  try {
    const { port } = JSON.parse(await api.waitForLine(/"msg":"demo API listening/)) as { port: number };
    const statuses = [];
    for (let i = 0; i < 12; i++) statuses.push((await fetch(`http://127.0.0.1:${port}/api/expensive`)).status);
    expect(statuses).toEqual(Array(12).fill(200));
    const hello = await fetch(`http://127.0.0.1:${port}/api/hello`, { headers: { 'x-forwarded-for': '203.0.113.5, 198.51.100.7' } });
    expect(await hello.json()).toEqual({ message: 'hello', client: '198.51.100.7' });
    expect(await (await fetch(`http://127.0.0.1:${port}/api/admin/stats`)).json()).toMatchObject({ store: 'none', limitedBy: 'proxy' });
  } finally {
    await api.stop();
  }
});
