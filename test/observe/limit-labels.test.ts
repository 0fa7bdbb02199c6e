/** The per-limit families carry the reference's key1 (first level) and key2 (the rest) beside `key`. */
import { Registry } from 'prom-client';
import { expect, it } from 'vitest';
import { registerDecisionMetrics } from '../../src/observe/decision-metrics.js';
import type { RequestOutcome } from '../../src/service/decision-observer.js';
import { sample } from './prometheus-text.js';

it('splits a nested key path as the reference mapping does: key1 the first level, key2 the rest', async () => {
  const registry = new Registry();
  const metrics = registerDecisionMetrics(registry, { nearLimitRatio: 0.8, chargeMode: 'all_or_nothing' });
  const outcome: RequestOutcome = {
    domain: 'web',
    overLimit: false,
    source: 'store',
    limits: [{ domain: 'web', metricKey: 'web.route_/api.user.10_per_second', entries: [], hits: 1, limit: 10, remaining: 9, allowed: true, shadow: false }],
    durationSeconds: 0.001,
  };
  metrics.observe(outcome);
  const text = await registry.metrics();
  expect(
    sample(text, 'ratelimit_service_rate_limit_total_hits', {
      domain: 'web',
      key: 'route_/api.user.10_per_second',
      key1: 'route_/api',
      key2: 'user.10_per_second',
    }),
  ).toBe(1);
});
