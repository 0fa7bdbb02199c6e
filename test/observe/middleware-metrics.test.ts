import express from 'express';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rateLimiter, registerRateLimitMetrics } from '../../src/index.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import { listen } from '../support/http.js';
import { sample } from './prometheus-text.js';

describe('the Express middleware on a user registry', () => {
  const registry = new Registry();
  const metrics = registerRateLimitMetrics(registry);
  const store = new MemoryStore();
  let url: string;
  let close: () => Promise<void>;
  beforeAll(async () => {
    const app = express();
    app.use(rateLimiter({ name: 'api', requestsPerMinute: 5, store, metrics, identifier: (req) => String(req.headers['x-user']) }));
    app.get('/', (_req, res) => {
      res.send('ok');
    });
    ({ url, close } = await listen(app));
  });
  afterAll(async () => {
    await close();
    await store.close();
  });

  it('counts the same families, with the limiter as domain and no identity in the labels', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await fetch(url, { headers: { 'x-user': 'u1' } })).status);
    statuses.push((await fetch(url, { headers: { 'x-user': 'u2' } })).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 200]);
    const text = await registry.metrics();
    const counters = ['total_hits', 'within_limit', 'near_limit', 'over_limit'];
    // Limit 5, near threshold 4: u1's 5th hit is near, u2's first is not.
    expect(counters.map((c) => sample(text, `ratelimit_service_rate_limit_${c}`, { domain: 'api', key: 'id', key1: 'id', key2: '' }))).toEqual([8, 6, 1, 2]);
    expect(sample(text, 'rateguard_requests_total', { domain: 'api', result: 'over_limit' })).toBe(2);
    expect(text).not.toContain('u1');
    expect(metrics.stats.topLimited(5)).toEqual([{ domain: 'api', descriptor: [{ key: 'id', value: 'u1' }], limited: 2, error: 0 }]);
  });

  it('rejects a metrics option that is not an observer', () => {
    expect(() => rateLimiter({ metrics: {} as never })).toThrow(/metrics.observe/);
  });
});
