/**
 * `npm run demo:stack` as a user runs it: it starts its own redis-server, two sidecars and two demo
 * APIs, prints the commands that show the shared limit — and those commands show it.
 */
import { connect } from 'node:net';
import { expect, it } from 'vitest';
import { spawnNode } from '../support/processes.js';

function refusesConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

it('brings up Redis + 2 sidecars + 2 demo APIs; the printed curl loop gives five 200s then 429s; SIGTERM stops it all', async () => {
  // REDIS_URL empty: the stack starts its own redis-server. PORT=0: free ports for the two APIs.
  // RATEGUARD_TIMEOUT_MS: on a loaded 2-core CI machine a call can exceed the demo's 250 ms and fail
  // open, which would let a sixth request through; exactness is the subject here.
  const stack = spawnNode('src/demo/stack.ts', [], { PORT: '0', REDIS_URL: '', RATEGUARD_TIMEOUT_MS: '5000' });
  try {
    await stack.waitForLine(/Ctrl-C stops everything/, 90_000);
    const redisPort = Number(/redis:\/\/127\.0\.0\.1:(\d+) \(redis-server started here/.exec(await stack.waitForLine(/^\s+Redis /))?.[1]);
    expect(await stack.waitForLine(/sidecar 2 +gRPC/)).toMatch(/health http:\/\/127\.0\.0\.1:\d+\/healthcheck/);
    const loop = await stack.waitForLine(/for i in \$\(seq 10\)/);
    const [, first, second] = /\$\(\(i % 2 \? (\d+) : (\d+)\)\)\/api\/expensive/.exec(loop)!;
    expect(await stack.waitForLine(/→/)).toContain('200 200 200 200 200 429 429 429 429 429');

    // The printed loop, with fetch: odd i to the first API, even i to the second.
    const codes: number[] = [];
    for (let i = 1; i <= 10; i++) codes.push((await fetch(`http://localhost:${i % 2 ? first : second}/api/expensive`)).status);
    expect(codes).toEqual([200, 200, 200, 200, 200, 429, 429, 429, 429, 429]);

    const stats = await Promise.all(
      [first, second].map(
        async (port) =>
          (await (await fetch(`http://localhost:${port}/api/admin/stats`)).json()) as { store: string; requests: { allowed: number; limited: number } },
      ),
    );
    expect(stats.map((s) => s.store)).toEqual(['sidecar', 'sidecar']);
    expect(stats.map((s) => s.requests)).toEqual([
      { allowed: 3, limited: 2 },
      { allowed: 2, limited: 3 },
    ]);

    const exited = new Promise<number | null>((resolve) => stack.process.once('exit', (code) => resolve(code)));
    stack.process.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(await refusesConnections(redisPort)).toBe(true);
    expect(await refusesConnections(Number(first))).toBe(true);
  } finally {
    await stack.stop();
  }
}, 120_000);
