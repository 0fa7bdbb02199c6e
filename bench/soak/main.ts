/**
 * `npm run soak [-- --duration 600 --rate 200 --restarts 3 --reloads 5 --warmup 60]` (seconds):
 * a bounded soak of the sidecar on Redis (bench/soak/run-soak.ts). Exit 0 on PASS, 1 on FAIL.
 * Not part of CI: the short version runs in `npm test` (test/soak/short-soak.test.ts).
 */
import { parseArgs } from 'node:util';
import { formatSoakReport, runSoak } from './run-soak.js';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '600' },
    rate: { type: 'string', default: '200' },
    restarts: { type: 'string', default: '3' },
    reloads: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '60' },
  },
});
const seconds = (name: keyof typeof values) => {
  const n = Number(values[name]);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name}: expected a number >= 0, got ${values[name]}`);
  return n;
};

const durationMs = seconds('duration') * 1000;
console.log(`soak: ${durationMs / 1000} s at ${seconds('rate')}/s, ${seconds('restarts')} Redis restarts, ${seconds('reloads')} config reloads`);
const report = await runSoak({
  durationMs,
  rate: seconds('rate'),
  redisRestarts: seconds('restarts'),
  configReloads: seconds('reloads'),
  warmupMs: Math.min(seconds('warmup') * 1000, durationMs / 2),
  maxRssGrowth: 0.1,
  log: (line) => console.log(line),
});
console.log(formatSoakReport(report));
process.exit(report.passed ? 0 : 1);
