import { afterEach, describe, expect, it } from 'vitest';
import { type RequestRateLimit, rateLimiter } from '../../src/http/rate-limiter.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import { OptionError } from '../../src/validation/option-error.js';
import { capturingLogger, cleanupList, limiterApp, listenOn, statuses } from './limiter-harness.js';

const cleanups = cleanupList();
afterEach(() => cleanups.run());

/** A limiter (closed after the test) with its warnings captured, so none reaches the test output. */
function limiter(options: Parameters<typeof rateLimiter>[0] = {}) {
  return cleanups.limiter(rateLimiter({ logger: capturingLogger().logger, ...options }));
}

/** Serves `/` (200), `/fail` (500), `/status/:code`, each answering with `req.rateLimit`. */
async function serve(...limiters: ReturnType<typeof rateLimiter>[]) {
  const { app, closed } = limiterApp(...limiters);
  const answer = (status: number) => (req: Parameters<Parameters<typeof app.get>[1]>[0], res: Parameters<Parameters<typeof app.get>[1]>[1]) => {
    res.status(status).json({ rateLimit: (req as unknown as { rateLimit?: RequestRateLimit }).rateLimit ?? null });
  };
  app.get('/', answer(200));
  app.get('/fail', answer(500));
  app.get('/status/:code', (req, res) => answer(Number(req.params.code))(req, res));
  const server = await listenOn(app);
  cleanups.add(server.close);
  return { url: server.url, closed };
}

describe('rateLimiter', () => {
  it('allows the burst, then answers 429 with Retry-After and a JSON body', async () => {
    const { url } = await serve(limiter({ requestsPerMinute: 3, name: 'burst' }));
    expect(await statuses(url, 3)).toEqual([200, 200, 200]);
    const denied = await fetch(url);
    expect(denied.status).toBe(429);
    expect(denied.headers.get('retry-after')).toBe('20'); // 3/min: one token every 20 s
    expect(await denied.json()).toEqual({ error: 'Too many requests, please try again later.', retryAfter: 20 });
  });

  it('sends IETF draft-10 RateLimit and RateLimit-Policy headers by default', async () => {
    const { url } = await serve(limiter({ requestsPerMinute: 3, name: 'ietf' }));
    const first = await fetch(url);
    expect(first.headers.get('ratelimit-policy')).toBe('"ietf";q=3;w=60');
    expect(first.headers.get('ratelimit')).toBe('"ietf";r=2;t=20');
    expect(first.headers.get('x-ratelimit-limit')).toBeNull();
  });

  it('names an unnamed limiter after its quota in the headers, as express-rate-limit does', async () => {
    const { url } = await serve(limiter({ requestsPerMinute: 10 }), limiter({ limit: 100, windowMs: 3_600_000 }));
    const res = await fetch(url);
    expect(res.headers.get('ratelimit-policy')).toBe('"10-in-1min";q=10;w=60, "100-in-1hr";q=100;w=3600');
    expect(res.headers.get('ratelimit')).toMatch(/^"10-in-1min";r=9;t=6, "100-in-1hr";r=99;t=\d+$/);
  });

  it('sends draft-6 and legacy headers when asked; standardHeaders: true is draft-6', async () => {
    for (const standardHeaders of ['draft-6', true] as const) {
      const { url } = await serve(limiter({ requestsPerMinute: 10, capacity: 5, name: 'old', standardHeaders, legacyHeaders: true }));
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
    }
  });

  it('sends no rate-limit headers with standardHeaders: false', async () => {
    const { url } = await serve(limiter({ standardHeaders: false }));
    const res = await fetch(url);
    expect([...res.headers.keys()].filter((h) => h.toLowerCase().includes('ratelimit'))).toEqual([]);
  });

  it('puts the decision on req.rateLimit, or on requestPropertyName', async () => {
    const { url } = await serve(limiter({ requestsPerMinute: 60, capacity: 10, name: 'info' }));
    const body = (await (await fetch(url)).json()) as { rateLimit: RequestRateLimit };
    const info = { name: 'info', limit: 10, used: 1, remaining: 9, key: '127.0.0.1', resetTime: expect.any(String) };
    expect(body.rateLimit).toEqual({ ...info, limiters: { info } });

    const { app } = limiterApp(limiter({ name: 'other', requestPropertyName: 'quota' }));
    app.get('/', (req, res) => res.json({ quota: (req as unknown as { quota: RequestRateLimit }).quota.remaining, rateLimit: 'rateLimit' in req }));
    const server = await listenOn(app);
    cleanups.add(server.close);
    expect(await (await fetch(server.url)).json()).toEqual({ quota: 59, rateLimit: false });
  });

  it('skips requests for which skip(req, res) is true, also when it answers a promise', async () => {
    const { url } = await serve(limiter({ requestsPerMinute: 1, skip: async (req) => req.headers['x-internal'] === 'yes' }));
    expect(await statuses(url, 3, { headers: { 'x-internal': 'yes' } })).toEqual([200, 200, 200]);
    expect(await statuses(url, 2)).toEqual([200, 429]);
  });

  it('keys clients by identifier(), or by keyGenerator (the same option), sync or async', async () => {
    const byKey = limiter({ requestsPerMinute: 2, identifier: (req) => (req.headers['x-api-key'] as string | undefined) ?? req.ip });
    const { url } = await serve(byKey);
    expect(await statuses(url, 3, { headers: { 'x-api-key': 'alice' } })).toEqual([200, 200, 429]);
    expect(await statuses(url, 3, { headers: { 'x-api-key': 'bob' } })).toEqual([200, 200, 429]);
    expect(await byKey.resetKey('alice')).toBe(true);
    expect(await statuses(url, 1, { headers: { 'x-api-key': 'alice' } })).toEqual([200]);

    const generated = await serve(limiter({ requestsPerMinute: 1, keyGenerator: async (req) => String(req.headers['x-user']) }));
    expect(await statuses(generated.url, 2, { headers: { 'x-user': 'carol' } })).toEqual([200, 429]);
    expect(await statuses(generated.url, 1, { headers: { 'x-user': 'dave' } })).toEqual([200]);
  });

  it('gives two limiters on one store separate buckets', async () => {
    const store = new MemoryStore();
    cleanups.add(() => store.close());
    const { url } = await serve(limiter({ requestsPerMinute: 2, store }), limiter({ requestsPerMinute: 2, store }));
    // Each request takes one token from each limiter's own bucket: 2 pass, not 1.
    expect(await statuses(url, 3)).toEqual([200, 200, 429]);
  });

  it('limit and windowMs are a fixed window, as in express-rate-limit', async () => {
    const { url } = await serve(limiter({ limit: 2, windowMs: 60_000, name: 'window' }));
    const first = await fetch(url);
    expect(first.headers.get('ratelimit-policy')).toBe('"window";q=2;w=60');
    expect(first.headers.get('ratelimit')).toMatch(/^"window";r=1;t=([1-5]?[0-9]|60)$/);
    expect(await statuses(url, 2)).toEqual([200, 429]);
  });

  it('answers a denial with message (text, object or function), statusCode, or handler', async () => {
    const text = await serve(limiter({ requestsPerMinute: 1, message: 'slow down', statusCode: 503 }));
    await fetch(text.url);
    const textDenied = await fetch(text.url);
    expect([textDenied.status, await textDenied.text(), textDenied.headers.get('retry-after')]).toEqual([503, 'slow down', '60']);

    const object = await serve(limiter({ requestsPerMinute: 1, message: { code: 'LIMITED' } }));
    await fetch(object.url);
    expect(await (await fetch(object.url)).json()).toEqual({ code: 'LIMITED' });

    const computed = await serve(limiter({ requestsPerMinute: 1, message: async (req) => ({ path: req.path }) }));
    await fetch(computed.url);
    expect(await (await fetch(`${computed.url}/fail`)).json()).toEqual({ path: '/fail' });

    const handled = await serve(
      limiter({
        requestsPerMinute: 1,
        name: 'handled',
        handler: (_req, res, _next, info) => {
          res.status(418).json({ limiter: info.name, remaining: info.remaining, limit: info.limit });
        },
      }),
    );
    await fetch(handled.url);
    const denied = await fetch(handled.url);
    expect(denied.status).toBe(418);
    expect(denied.headers.get('retry-after')).toBe('60');
    expect(await denied.json()).toEqual({ limiter: 'handled', remaining: 0, limit: 1 });
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
    expect(attempt({ limit: 5, requestsPerMinute: 5 })).toBe('RG_OPTION_WRONG_TYPE');
    expect(attempt({ windowMs: 0.5 })).toBe('RG_OPTION_NOT_INTEGER');
    expect(attempt({ failureMode: 'deny', passOnStoreError: true })).toBe('RG_OPTION_WRONG_TYPE');
    expect(attempt({ failureMode: 'maybe' })).toBe('RG_OPTION_WRONG_TYPE');
    expect(attempt({ identifier: () => 'a', keyGenerator: () => 'b' })).toBe('RG_OPTION_WRONG_TYPE');
    expect(() => rateLimiter({ identifier: 'my-policy' } as never)).toThrow(/keyGenerator\); the policy's name is `name`/);
    expect(attempt({ breaker: { threshhold: 3 } })).toBe('RG_OPTION_UNKNOWN');
    expect(attempt({ message: 42 })).toBe('RG_OPTION_WRONG_TYPE');
    expect(attempt({ validate: { trustproxy: false } })).toBe('RG_OPTION_UNKNOWN');
    expect(attempt({ store: new MemoryStore(), redis: 'redis://127.0.0.1:1' })).toBe('RG_OPTION_WRONG_TYPE');
  });
});

describe('rateLimiter refunds (skipFailedRequests, skipSuccessfulRequests)', () => {
  // 0.001/min: nothing refills while a test runs, so every count below is exact.
  const slow = { requestsPerMinute: 0.001 };

  it('skipFailedRequests: failed responses give their token back, successful ones keep it', async () => {
    const failing = limiter({ ...slow, capacity: 3, name: 'failures', skipFailedRequests: true });
    const { url, closed } = await serve(failing);
    expect(await statuses(`${url}/fail`, 5)).toEqual([500, 500, 500, 500, 500]);
    await closed(5);
    await failing.refunded();
    expect(await statuses(url, 4)).toEqual([200, 200, 200, 429]);
  });

  it('skipSuccessfulRequests: only failures count (a login limiter)', async () => {
    const login = limiter({ ...slow, capacity: 2, name: 'login', skipSuccessfulRequests: true });
    const { url, closed } = await serve(login);
    expect(await statuses(url, 5)).toEqual([200, 200, 200, 200, 200]);
    await closed(5);
    await login.refunded();
    expect(await statuses(`${url}/status/401`, 3)).toEqual([401, 401, 429]);
  });

  it('requestWasSuccessful decides what counts as success', async () => {
    const redirects = limiter({
      ...slow,
      capacity: 2,
      name: 'redirects',
      skipSuccessfulRequests: true,
      requestWasSuccessful: (_req, res) => res.statusCode !== 302,
    });
    const { url, closed } = await serve(redirects);
    expect(await statuses(`${url}/status/302`, 3, { redirect: 'manual' })).toEqual([302, 302, 429]);
    await closed(3);
    await redirects.refunded();
    expect(await statuses(`${url}/fail`, 1)).toEqual([429]); // the two 302s kept their tokens
  });

  it('gives a token back once, though the response both finishes and closes', async () => {
    const once = limiter({ ...slow, capacity: 5, name: 'once', skipFailedRequests: true });
    const { url, closed } = await serve(once);
    expect(await statuses(url, 3)).toEqual([200, 200, 200]); // 3 kept
    expect(await statuses(`${url}/fail`, 1)).toEqual([500]); // given back once
    await closed(4);
    await once.refunded();
    // 5 - 3 = 2 left, and this request takes one: r=1 (a second refund would say r=2).
    expect((await fetch(url)).headers.get('ratelimit')).toMatch(/^"once";r=1;t=\d+$/);
  });

  it('skipFailedRequests gives the token back when the client goes away before the answer', async () => {
    const aborted = limiter({ ...slow, capacity: 1, name: 'aborted', skipFailedRequests: true });
    const { app, closed } = limiterApp(aborted);
    let arrived!: () => void;
    const hanging = new Promise<void>((resolve) => (arrived = resolve));
    app.get('/hang', () => arrived()); // never answers
    app.get('/', (_req, res) => res.send('ok'));
    const server = await listenOn(app);
    cleanups.add(server.close);
    const abort = new AbortController();
    const request = fetch(`${server.url}/hang`, { signal: abort.signal }).catch((error: unknown) => error);
    await hanging;
    abort.abort();
    await request;
    await closed(1);
    await aborted.refunded();
    expect(await statuses(server.url, 2)).toEqual([200, 429]);
  });

  it('refuses refund options over a store that cannot refund', () => {
    const store = new MemoryStore();
    const plain = { decide: store.decide.bind(store), reset: store.reset.bind(store), probe: store.probe.bind(store), close: store.close.bind(store) };
    expect(() => rateLimiter({ store: plain, skipFailedRequests: true })).toThrow(/need a store that can refund/);
  });
});
