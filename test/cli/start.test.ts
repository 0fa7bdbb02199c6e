/** `npm start`: the sidecar plus the demo API, alone on memory, and two stacks sharing one Redis. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Child, spawnNode } from '../support/processes.js';
import { findFreePort, type RedisProcess, startRedis } from '../support/redis-server.js';

let redis: RedisProcess;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

async function startStack(env: Record<string, string>): Promise<{ child: Child; url: string }> {
  const port = await findFreePort();
  const child = spawnNode('src/cli/main.ts', ['start'], { PORT: String(port), GRPC_PORT: '0', HTTP_PORT: '0', DEBUG_PORT: '0', HOST: '127.0.0.1', ...env });
  await child.waitForLine(/demo API listening/);
  return { child, url: `http://127.0.0.1:${port}` };
}

it('ten GETs of /api/expensive: five 200s, then 429s with Retry-After (memory store)', async () => {
  const { child, url } = await startStack({});
  try {
    const responses = [];
    for (let i = 0; i < 10; i++) responses.push(await fetch(`${url}/api/expensive`));
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 429, 429, 429, 429, 429]);
    expect(Number(responses[5]!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(responses[0]!.headers.get('ratelimit-policy')).toContain('"expensive_per_client";q=5;w=60');
  } finally {
    await child.stop();
  }
});

it('two stacks on one Redis share the limits', async () => {
  const stacks = await Promise.all([0, 1].map(() => startStack({ REDIS_URL: redis.url })));
  try {
    const statuses = [];
    for (let i = 0; i < 8; i++) statuses.push((await fetch(`${stacks[i % 2]!.url}/api/expensive`)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
  } finally {
    await Promise.all(stacks.map((s) => s.child.stop()));
  }
});
