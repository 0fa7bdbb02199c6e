import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { entries } from './helpers.js';

describe('the bundled config/ directory', () => {
  it('loads and gives the demo its limits', async () => {
    const result = await loadConfig('config');
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const s = result.config;
    expect([...s.domains.keys()]).toEqual(['rateguard-demo']);

    const client = s.match('rateguard-demo', entries('remote_address', '203.0.113.7'));
    expect(client?.limits.map((l) => [l.rateLimit.requestsPerUnit, l.rateLimit.unit, l.limit?.id])).toEqual([[60, 'MINUTE', 'tb:60:60:60000000']]);

    const key = s.match('rateguard-demo', entries('api_key', 'k-123'));
    expect(key?.limits.map((l) => `${l.rateLimit.requestsPerUnit}/${l.rateLimit.unit}`)).toEqual(['1000/HOUR', '20/SECOND']);

    // /api/expensive: 5 per minute per client, no burst above 5.
    const expensive = s.match('rateguard-demo', entries('generic_key', 'expensive', 'remote_address', '203.0.113.7'));
    expect(expensive?.limits[0]?.limit).toMatchObject({ algorithm: 'token_bucket', capacity: 5, refillTokens: 5, periodUs: 60_000_000 });
    expect(expensive?.limits[0]?.name).toBe('expensive_per_client');
    expect(expensive?.metricKey).toBe('rateguard-demo.generic_key_expensive.remote_address');
    expect(s.match('rateguard-demo', entries('generic_key', 'cheap', 'remote_address', '203.0.113.7'))).toBeUndefined();
  });
});
