/** Two limiters on one route compose: every quota in the IETF headers, the tightest in the single-value ones. */
import { afterEach, describe, expect, it } from 'vitest';
import { type RequestRateLimit, rateLimiter } from '../../src/http/rate-limiter.js';
import { capturingLogger, cleanupList, limiterApp, listenOn } from './limiter-harness.js';

const cleanups = cleanupList();
afterEach(() => cleanups.run());

const limiter = (options: Parameters<typeof rateLimiter>[0]) => cleanups.limiter(rateLimiter({ logger: capturingLogger().logger, ...options }));

async function serve(...limiters: ReturnType<typeof rateLimiter>[]) {
  const { app } = limiterApp(...limiters);
  app.get('/', (req, res) => res.json((req as unknown as { rateLimit: RequestRateLimit }).rateLimit));
  const server = await listenOn(app);
  cleanups.add(server.close);
  return server.url;
}

describe('stacked limiters (10/min, then 60/min)', () => {
  it('list both quotas in RateLimit and RateLimit-Policy; legacy headers and req.rateLimit are the tightest', async () => {
    const url = await serve(
      limiter({ name: 'burst', requestsPerMinute: 10, legacyHeaders: true }),
      limiter({ name: 'sustained', requestsPerMinute: 60, legacyHeaders: true }),
    );
    const res = await fetch(url);
    expect(res.headers.get('ratelimit-policy')).toBe('"burst";q=10;w=60, "sustained";q=60;w=60');
    expect(res.headers.get('ratelimit')).toBe('"burst";r=9;t=6, "sustained";r=59;t=1');
    expect(res.headers.get('x-ratelimit-limit')).toBe('10');
    expect(res.headers.get('x-ratelimit-remaining')).toBe('9');
    const body = (await res.json()) as RequestRateLimit;
    expect(body).toMatchObject({ name: 'burst', limit: 10, remaining: 9, used: 1 });
    expect(Object.keys(body.limiters)).toEqual(['burst', 'sustained']);
    expect(body.limiters.sustained).toMatchObject({ name: 'sustained', limit: 60, remaining: 59, used: 1 });
  });

  it('report the tightest whichever runs first, and the 11th request is refused by the 10/min one', async () => {
    const url = await serve(
      limiter({ name: 'sustained', requestsPerMinute: 60, legacyHeaders: true }),
      limiter({ name: 'burst', requestsPerMinute: 10, legacyHeaders: true }),
    );
    const first = await fetch(url);
    expect(first.headers.get('ratelimit-policy')).toBe('"sustained";q=60;w=60, "burst";q=10;w=60');
    expect(first.headers.get('ratelimit')).toBe('"sustained";r=59;t=1, "burst";r=9;t=6');
    let last: Response | undefined;
    for (let i = 0; i < 9; i++) last = await fetch(url);
    // 60/min refills a token a second: its numbers depend on how long the ten requests took.
    expect(last!.headers.get('ratelimit')).toMatch(/^"sustained";r=5\d;t=\d+, "burst";r=0;t=60$/);
    expect(last!.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(last!.headers.get('x-ratelimit-limit')).toBe('10');
    const denied = await fetch(url);
    expect(denied.status).toBe(429);
    expect(denied.headers.get('retry-after')).toBe('6');
    expect(denied.headers.get('ratelimit')).toMatch(/^"sustained";r=\d+;t=\d+, "burst";r=0;t=6$/);
    expect(denied.headers.get('x-ratelimit-limit')).toBe('10');
  });

  it('draft-6 reports the tightest limit and lists both policies', async () => {
    const url = await serve(
      limiter({ name: 'a', requestsPerMinute: 60, standardHeaders: 'draft-6' }),
      limiter({ name: 'b', requestsPerMinute: 10, standardHeaders: 'draft-6' }),
    );
    const res = await fetch(url);
    expect(res.headers.get('ratelimit-policy')).toBe('60;w=60, 10;w=60');
    expect([res.headers.get('ratelimit-limit'), res.headers.get('ratelimit-remaining'), res.headers.get('ratelimit-reset')]).toEqual(['10', '9', '6']);
  });

  it('unnamed limiters are named after their quota, never after an internal counter', async () => {
    const url = await serve(limiter({ requestsPerMinute: 10 }), limiter({ requestsPerMinute: 60 }));
    const res = await fetch(url);
    expect(res.headers.get('ratelimit-policy')).toBe('"10-in-1min";q=10;w=60, "60-in-1min";q=60;w=60');
    expect([...res.headers.values()].join(' ')).not.toContain('rateguard-');
    expect(Object.keys(((await res.json()) as RequestRateLimit).limiters)).toEqual(['10-in-1min', '60-in-1min']);
  });
});
