/**
 * The middleware on a real Redis through the decision stack: shared buckets, the circuit breaker
 * and each failure mode while Redis is paused or killed, and refunds that stay exact under load.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Decision, Plan } from '../../src/engine/plan.js';
import { rateLimiter } from '../../src/http/rate-limiter.js';
import type { RateLimiterOptions } from '../../src/http/rate-limiter-options.js';
import type { FailureMode } from '../../src/stores/failure-mode-store.js';
import { RedisStore } from '../../src/stores/redis/redis-store.js';
import type { BucketRequest } from '../../src/engine/plan.js';
import type { RefundableStore } from '../../src/stores/store.js';
import { startRedis } from '../support/redis-server.js';
import { capturingLogger, cleanupList, limiterApp, listenOn, statuses } from './limiter-harness.js';

const cleanups = cleanupList();
afterEach(() => cleanups.run());

async function redisServer() {
  const redis = await startRedis();
  cleanups.add(async () => {
    if (redis.paused) redis.resume();
    await redis.stop();
  });
  return redis;
}

/** A real RedisStore that counts the decisions that reach it. */
class CountingStore implements RefundableStore {
  decided = 0;
  constructor(readonly inner: RedisStore) {}
  decide(plan: Plan): Promise<Decision> {
    this.decided += 1;
    return this.inner.decide(plan);
  }
  refund(buckets: readonly BucketRequest[]) {
    return this.inner.refund(buckets);
  }
  reset(keys: readonly string[]) {
    return this.inner.reset(keys);
  }
  probe() {
    return this.inner.probe();
  }
  close() {
    return this.inner.close();
  }
}

async function serve(options: RateLimiterOptions) {
  const captured = capturingLogger();
  const limiter = cleanups.limiter(rateLimiter({ logger: captured.logger, ...options }));
  const { app, closed } = limiterApp(limiter);
  app.get('/', (_req, res) => res.send('ok'));
  app.get('/fail', (_req, res) => res.status(500).send('failed'));
  const server = await listenOn(app);
  cleanups.add(server.close);
  return { url: server.url, limiter, closed, ...captured };
}

describe('rateLimiter on Redis', () => {
  it('two limiters of one name on one Redis (two processes) share the buckets, through redis: url', async () => {
    const redis = await redisServer();
    const options = { name: 'shared', requestsPerMinute: 0.001, capacity: 3, redis: { url: redis.url, timeoutMs: 2000 } };
    const first = await serve(options);
    const second = await serve(options);
    await first.limiter.stack.redis!.ready();
    await second.limiter.stack.redis!.ready();
    expect([...(await statuses(first.url, 2)), ...(await statuses(second.url, 2)), ...(await statuses(first.url, 1))]).toEqual([200, 200, 200, 429, 429]);
  });

  describe.each([
    ['allow', 'pause', [200, 200, 200, 200, 200, 200, 200, 200]],
    ['deny', 'pause', [429, 429, 429, 429, 429, 429, 429, 429]],
    ['error', 'kill', [503, 503, 503, 503, 503, 503, 503, 503]],
    ['local', 'kill', [200, 200, 429, 429, 429, 429, 429, 429]],
  ] as const)('failureMode %s, Redis %sd', (failureMode: FailureMode, fault, expected) => {
    it('waits on the store for the breaker threshold (3) only, then answers at once', async () => {
      const redis = await redisServer();
      const store = new CountingStore(new RedisStore({ url: redis.url, timeoutMs: 50 }));
      cleanups.add(() => store.close());
      // Before the store closes (a QUIT to a paused Redis would wait for ever), the server goes on.
      cleanups.add(async () => {
        if (redis.paused) redis.resume();
      });
      await store.inner.ready();
      const { url, limiter, lines } = await serve({
        name: `fm-${failureMode}`,
        requestsPerMinute: 0.001,
        capacity: 2,
        store,
        failureMode,
        breaker: { threshold: 3, probeIntervalMs: 600_000 },
      });
      if (fault === 'pause') redis.pause();
      else await redis.kill9();
      const answers = await statuses(url, 8);
      expect(answers).toEqual(expected);
      expect(store.decided).toBe(3);
      expect(limiter.stack.failureMode!.breaker.state).toBe('open');
      expect(lines.filter((l) => l.msg === 'rate limit store unavailable')).toHaveLength(1);
      expect(lines.filter((l) => l.msg.includes('circuit breaker open'))).toHaveLength(1);
      if (failureMode === 'deny') expect((await fetch(url)).headers.get('retry-after')).toBe('1');
      if (failureMode === 'error') expect(await (await fetch(url)).json()).toEqual({ error: 'Rate limiter unavailable, please try again later.' });
    });
  });

  it('closes the breaker as soon as Redis answers again, and decides on Redis from then on', async () => {
    const redis = await redisServer();
    const { url, limiter, until } = await serve({
      name: 'recovers',
      requestsPerMinute: 0.001,
      capacity: 5,
      redis: { url: redis.url, timeoutMs: 50 },
      breaker: { threshold: 2, probeIntervalMs: 600_000 },
    });
    await limiter.stack.redis!.ready();
    expect(await statuses(url, 1)).toEqual([200]);
    redis.pause();
    expect(await statuses(url, 3)).toEqual([200, 200, 200]); // failureMode allow (the default)
    expect(limiter.stack.failureMode!.breaker.state).toBe('open');
    redis.resume();
    // No probe is due for 10 minutes: Redis answering again closes the breaker.
    await until((line) => line.msg.includes('circuit breaker closed'));
    const res = await fetch(url);
    expect(res.headers.get('ratelimit')).toMatch(/^"recovers";r=[0-3];t=\d+$/);
  });

  it('skipFailedRequests refunds stay exact with 40 requests racing on one Redis bucket', async () => {
    const redis = await redisServer();
    const { url, limiter, closed } = await serve({
      name: 'racing',
      requestsPerMinute: 0.001,
      capacity: 10,
      redis: { url: redis.url, timeoutMs: 2000 },
      skipFailedRequests: true,
    });
    await limiter.stack.redis!.ready();
    const results = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const res = await fetch(i % 2 === 0 ? url : `${url}/fail`);
        await res.arrayBuffer();
        return res.status;
      }),
    );
    await closed(40);
    await limiter.refunded();
    const kept = results.filter((s) => s === 200).length;
    const refunded = results.filter((s) => s === 500).length;
    expect(kept + refunded + results.filter((s) => s === 429).length).toBe(40);
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(10);
    // Every successful request kept its token, every failed one gave it back: exactly 10 - kept left.
    const look = await limiter.stack.store.decide({
      mode: 'all_or_nothing',
      buckets: [{ key: limiter.config.keyFor('127.0.0.1'), limit: limiter.config.limit, cost: 0 }],
    });
    expect(look.buckets[0]!.remaining).toBe(10 - kept);
  });
});
