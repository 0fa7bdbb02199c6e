import { afterAll, beforeAll, expect, it } from 'vitest';
import { type RedisProcess, startRedis } from '../support/redis-server.js';
import { spawnNode } from '../support/processes.js';

let redis: RedisProcess;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

it('4 OS processes x 200 concurrent calls on one bucket of capacity 100: exactly 100 allowed', async () => {
  const key = `rg:{cross}hammer-${Date.now()}`;
  const children = Array.from({ length: 4 }, () => spawnNode('test/stores/fixtures/hammer.ts', [redis.url, key, '200']));
  try {
    await Promise.all(children.map((c) => c.waitForLine(/^ready$/)));
    for (const child of children) child.send('go');
    const results = await Promise.all(children.map((c) => c.waitForLine(/^\{/)));
    const counts = results.map((line) => JSON.parse(line) as { allowed: number; denied: number });
    expect(counts.reduce((sum, c) => sum + c.allowed, 0)).toBe(100);
    // Every call was answered, none lost to an error.
    expect(counts.map((c) => c.allowed + c.denied)).toEqual([200, 200, 200, 200]);
  } finally {
    await Promise.all(children.map((c) => c.stop()));
  }
});
