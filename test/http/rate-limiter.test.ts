import { Writable } from 'node:stream';
import express, { type Express } from 'express';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { rateLimiter, type RateLimitInfo } from '../../src/http/rate-limiter.js';
import { RedisStore } from '../../src/stores/redis/redis-store.js';
import { OptionError } from '../../src/validation/option-error.js';
import { listen } from '../support/http.js';
import { startRedis } from '../support/redis-server.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve(app: Express): Promise<string> {
  app.get('/', (req, res) => {
    res.json({ ok: true, rateLimit: (req as unknown as { rateLimit?: RateLimitInfo }).rateLimit ?? null });
  });
  const server = await listen(app);
  cleanups.push(server.close);
  return server.url;
}

function appWith(...limiters: ReturnType<typeof rateLimiter>[]): Express {
  const app = express();
  for (const limiter of limiters) {
    app.use(limiter);
    cleanups.push(limiter.close);
  }
  return app;
}

const statuses = async (url: string, n: number, init?: RequestInit) => {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await fetch(url, init)).status);
  return out;
};

describe('rateLimiter', () => {
  it('allows the burst, then answers 429 with Retry-After and a JSON body', async () => {
    const url = await serve(appWith(rateLimiter({ requestsPerMinute: 3, name: 'burst' })));
    expect(await statuses(url, 3)).toEqual([200, 200, 200]);
    const denied = await fetch(url);
    expect(denied.status).toBe(429);
    expect(denied.headers.get('retry-after')).toBe('20'); // 3/min: one token every 20 s
    expect(await denied.json()).toEqual({ error: 'Too many requests, please try again later.', retryAfter: 20 });
  });

  it('sends IETF draft-10 RateLimit and RateLimit-Policy headers by default', async () => {
    const url = await serve(appWith(rateLimiter({ requestsPerMinute: 3, name: 'ietf' })));
    const first = await fetch(url);
    expect(first.headers.get('ratelimit-policy')).toBe('"ietf";q=3;w=60');
    expect(first.headers.get('ratelimit')).toBe('"ietf";r=2;t=20');
    expect(first.headers.get('x-ratelimit-limit')).toBeNull();
  });

  it('sends draft-6 and legacy headers when asked', async () => {
    const url = await serve(appWith(rateLimiter({ requestsPerMinute: 10, capacity: 5, name: 'old', standardHeaders: 'draft-6', legacyHeaders: true })));
    const before = Math.floor(Date.now() / 1000);
    const res = await fetch(url);
    expect(res.headers.get('ratelimit-limit')).toBe('5');
    expect(res.headers.get('ratelimit-remaining')).toBe('4');
    expect(res.headers.get('ratelimit-reset')).toBe('6'); // 1 token at 10/min
    expect(res.headers.get('ratelimit-policy')).toBe('5;w=30');
    expect(res.headers.get('x-ratelimit-limit')).toBe('5');
    expect(res.headers.get('x-ratelimit-remaining')).toBe('4');
    const reset = Number(res.headers.get('x-ratelimit-reset'));
    expect(reset).toBeGreaterThanOrEqual(before + 6);
    expect(reset).toBeLessThanOrEqual(before + 8);
    expect(res.headers.get('ratelimit')).toBeNull();
  });

  it('sends no rate-limit headers with standardHeaders: false', async () => {
    const url = await serve(appWith(rateLimiter({ standardHeaders: false })));
    const res = await fetch(url);
    expect([...res.headers.keys()].filter((h) => h.toLowerCase().includes('ratelimit'))).toEqual([]);
  });

  it('puts the decision on req.rateLimit', async () => {
    const url = await serve(appWith(rateLimiter({ requestsPerMinute: 60, capacity: 10, name: 'info' })));
    const body = (await (await fetch(url)).json()) as { rateLimit: RateLimitInfo };
    expect(body.rateLimit).toMatchObject({ limit: 10, used: 1, remaining: 9, key: '127.0.0.1' });
  });

  it('skips requests for which skip() is true', async () => {
    const url = await serve(appWith(rateLimiter({ requestsPerMinute: 1, skip: (req) => req.headers['x-internal'] === 'yes' })));
    expect(await statuses(url, 3, { headers: { 'x-internal': 'yes' } })).toEqual([200, 200, 200]);
    expect(await statuses(url, 2)).toEqual([200, 429]);
  });

  it('keys clients by identifier()', async () => {
    const limiter = rateLimiter({ requestsPerMinute: 2, identifier: (req) => (req.headers['x-api-key'] as string | undefined) ?? req.ip });
    const url = await serve(appWith(limiter));
    expect(await statuses(url, 3, { headers: { 'x-api-key': 'alice' } })).toEqual([200, 200, 429]);
    expect(await statuses(url, 3, { headers: { 'x-api-key': 'bob' } })).toEqual([200, 200, 429]);
    expect(await limiter.resetKey('alice')).toBe(true);
    expect(await statuses(url, 1, { headers: { 'x-api-key': 'alice' } })).toEqual([200]);
  });

  it('gives two limiters on one app and one store separate buckets', async () => {
    const shared = rateLimiter({ requestsPerMinute: 2 });
    const second = rateLimiter({ requestsPerMinute: 2, store: shared.config.store });
    expect(shared.config.name).not.toBe(second.config.name);
    const url = await serve(appWith(shared, second));
    // Each request takes one token from each limiter's own bucket: 2 pass, not 1.
    expect(await statuses(url, 3)).toEqual([200, 200, 429]);
  });

  it('rejects bad options with a coded OptionError', () => {
    const attempt = (options: object) => {
      try {
        rateLimiter(options);
      } catch (error) {
        return error instanceof OptionError ? error.code : 'other';
      }
      return 'none';
    };
    expect(attempt({ requestPerMinute: 5 })).toBe('RG_OPTION_UNKNOWN');
    expect(attempt({ requestsPerMinute: -1 })).toBe('RG_OPTION_NOT_POSITIVE');
    expect(attempt({ requestsPerMinute: '60' })).toBe('RG_OPTION_WRONG_TYPE');
    expect(attempt({ name: 'has space' })).toBe('RG_OPTION_BAD_NAME');
    expect(attempt({ standardHeaders: 'draft-7' })).toBe('RG_OPTION_WRONG_TYPE');
  });
});

describe('rateLimiter when the Redis store is down', () => {
  async function downedStore() {
    const redis = await startRedis();
    const store = new RedisStore({ url: redis.url, timeoutMs: 100 });
    cleanups.push(async () => {
      await store.close();
      await redis.stop();
    });
    await store.ready(5000);
    await redis.kill9();
    return store;
  }

  function capturingLogger() {
    const lines: { msg: string; level: number }[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as { msg: string; level: number });
        done();
      },
    });
    return { logger: pino(stream), lines };
  }

  it('fails open by default, within the store timeout, with one warning per outage', async () => {
    const { logger, lines } = capturingLogger();
    const store = await downedStore();
    const url = await serve(appWith(rateLimiter({ requestsPerMinute: 1, store, logger })));
    const started = performance.now();
    expect(await statuses(url, 4)).toEqual([200, 200, 200, 200]);
    expect(performance.now() - started).toBeLessThan(4 * 100 + 2000);
    expect(lines.filter((l) => l.msg === 'rate limit store unavailable')).toHaveLength(1);
  });

  it('answers 503 with failOpen: false', async () => {
    const store = await downedStore();
    const { logger } = capturingLogger();
    const url = await serve(appWith(rateLimiter({ requestsPerMinute: 1, store, failOpen: false, logger })));
    const res = await fetch(url);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ error: 'Rate limiter unavailable, please try again later.' });
  });
});
