/**
 * The short soak (45 s) inside `npm test`: the same run as `npm run soak`, shorter. Every call sent
 * is answered (OK / OVER_LIMIT, or UNAVAILABLE during a Redis restart), no decision is wrong, Redis
 * restarts twice and the config reloads three times, and RSS settles.
 */
import { describe, expect, it } from 'vitest';
import { formatSoakReport, runSoak } from '../../bench/soak/run-soak.js';

describe('short soak', () => {
  it('45 s at 100 calls/s with 2 Redis restarts and 3 reloads: nothing lost, nothing wrong, RSS settles', async () => {
    const report = await runSoak({
      durationMs: 45_000,
      rate: 100,
      redisRestarts: 2,
      configReloads: 3,
      warmupMs: 15_000,
      // 20% rather than the long soak's 10%: 30 s after warm-up is short for the JIT and the heap to settle.
      maxRssGrowth: 0.2,
      log: (line) => console.log(line),
    });
    console.log(formatSoakReport(report));
    expect(report.answered).toBe(report.sent);
    expect(report.sent).toBeGreaterThan(3_500);
    expect(report.decisionErrors).toBe(0);
    expect(report.errorSamples).toEqual([]);
    expect(report.burstsChecked).toBeGreaterThan(20);
    expect(report.redisRestarts).toBe(2);
    expect(report.configReloads).toBeGreaterThanOrEqual(3);
    expect(report.rssGrowth).toBeLessThanOrEqual(0.2);
    expect(report.passed).toBe(true);
  }, 120_000);
});
