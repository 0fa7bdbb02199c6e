/**
 * envoyproxy/ratelimit's published examples (README examples 1–11 and examples/ratelimit/config/)
 * decided as its README describes them: the fixtures load through the real config loader of a real
 * sidecar, every request goes over gRPC, on the memory store and on a real Redis with and without
 * the local over-limit cache. (The memory store has no such cache to turn on or off: the cache
 * spares a Redis round trip, and the decision stack never wraps a MemoryStore.) The table is
 * reference-examples.ts.
 *
 * Each combination runs the table twice: with the switches that give the reference's decisions
 * (`--default-algorithm fixed_window --charge-rejected`), and with rateguard's defaults (token
 * buckets, all-or-nothing), whose different answers the table states step by step.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Code, type DescriptorStatus, type RateLimitRequest, type RateLimitResponse } from '../../src/rls/codec.js';
import { type RedisProcess, startRedis } from '../support/redis-server.js';
import { startTestSidecar, type TestSidecar } from '../support/sidecar.js';
import {
  type Answer,
  type Burst,
  type Entries,
  EXAMPLES,
  type Example,
  type LocalCacheHits,
  type MetricKeys,
  type Sequence,
  type StatusExpectation,
  UNIT_CODES,
  UNIT_SECONDS,
  type UnitName,
  unitName,
  unitsOf,
} from './reference-examples.js';

const FIXTURES = 'test/fixtures/reference/examples';
const APART = ['readme-example-04-flat.yaml', 'examples-config.yaml'];
const MAIN = [
  ...['01', '02', '03', '04', '05', '06', '07', '08', '09', '10', '10-wildcard', '11', '11-metrics'].map((n) => `readme-example-${n}.yaml`),
  'examples-example.yaml',
  'examples-quota.yaml',
];
/** Config sets: files whose domains collide (README Example 1 and config.yaml; Example 4's two configs) load apart. */
const SETS: Record<Example['set'], readonly string[]> = { main: MAIN, apart: APART };

type ModeName = 'reference' | 'rateguard';
const MODES: readonly { readonly name: ModeName; readonly flags: readonly string[] }[] = [
  { name: 'reference', flags: ['--default-algorithm', 'fixed_window', '--charge-rejected'] },
  { name: 'rateguard', flags: [] },
];
interface Combination {
  readonly name: string;
  readonly redis: boolean;
  /** Whether the local over-limit cache answers what it knows is over. */
  readonly cache: boolean;
  readonly flags: readonly string[];
}
const COMBINATIONS: readonly Combination[] = [
  { name: 'the memory store', redis: false, cache: false, flags: [] },
  { name: 'Redis, with the local cache', redis: true, cache: true, flags: [] },
  { name: 'Redis, without the local cache', redis: true, cache: false, flags: ['--local-cache-size', '0'] },
];

const filesOf = (set: Example['set']) => Object.fromEntries(SETS[set].map((name) => [name, readFileSync(`${FIXTURES}/${name}`, 'utf8')]));

const toRequest = (domain: string, descriptors: readonly Entries[], hitsAddend = 0): RateLimitRequest => ({
  domain,
  descriptors: descriptors.map((entries) => ({ entries: entries.map(([key, value]) => ({ key, value })) })),
  hitsAddend,
});

function statusOf(status: DescriptorStatus): StatusExpectation {
  return { code: status.code, limitRemaining: status.limitRemaining, ...(status.currentLimit === undefined ? {} : { currentLimit: status.currentLimit }) };
}
const answerOf = (response: RateLimitResponse): Answer => ({ overall: response.overallCode, statuses: response.statuses.map(statusOf) });

const seconds = (status: DescriptorStatus) => (status.durationUntilReset?.seconds ?? 0) + (status.durationUntilReset?.nanos ?? 0) / 1e9;

/** Whole seconds to the end of the epoch-aligned window of `unit`, as the reference computes it. */
const toWindowEnd = (unit: UnitName, nowMs: number) => UNIT_SECONDS[unit] - (Math.floor(nowMs / 1000) % UNIT_SECONDS[unit]);

/**
 * duration_until_reset of every status that names a limit: a fixed window's end in whole seconds
 * (the reference's value); a token bucket's time until it is full (allowed) or the next request
 * can pass (denied), never more than one unit.
 */
function checkResets(responses: readonly RateLimitResponse[], mode: ModeName, answeredAtMs: number): void {
  for (const status of responses.flatMap((r) => r.statuses)) {
    if (status.currentLimit === undefined) continue;
    const unit = unitName(status.currentLimit.unit);
    if (mode === 'reference') {
      expect(status.durationUntilReset?.nanos).toBe(0);
      expect(Math.abs(status.durationUntilReset!.seconds - toWindowEnd(unit, answeredAtMs))).toBeLessThanOrEqual(1);
    } else if (status.currentLimit.requestsPerUnit > 0) {
      expect(seconds(status)).toBeGreaterThan(0);
      expect(seconds(status)).toBeLessThanOrEqual(UNIT_SECONDS[unit]);
    }
  }
}

/**
 * With fixed windows, a run that straddles a window's end would see the counters reset midway:
 * start it early in a window of every unit it uses (largest first; a fresh larger window is also
 * a fresh smaller one). This waits for the wall clock, not for any event of the system under test.
 */
async function inFreshWindows(units: readonly UnitName[]): Promise<void> {
  for (const unit of [...new Set(units)].sort((a, b) => UNIT_SECONDS[b] - UNIT_SECONDS[a])) {
    const unitMs = UNIT_SECONDS[unit] * 1000;
    const needMs = unit === 'second' ? 700 : 5000;
    const leftMs = unitMs - (Date.now() % unitMs);
    if (leftMs < needMs) await sleep(leftMs + 20);
  }
}

async function runSequence(rg: TestSidecar, mode: ModeName, domain: string, step: Sequence): Promise<void> {
  const expected = mode === 'rateguard' && step.rateguard !== undefined ? step.rateguard.answers : step.answers;
  const started = performance.now();
  const responses: RateLimitResponse[] = [];
  for (let i = 0; i < expected.length; i++) responses.push(await rg.call(toRequest(domain, step.send, step.hits)));
  const answers = responses.map(answerOf);
  if (mode === 'rateguard' && step.refills === true) {
    // Per second, a token bucket refills while the sequence runs: remaining may be higher by that much.
    const refilled = (rpu: number) => Math.ceil(((performance.now() - started) / 1000) * rpu);
    const withoutRemaining = (list: readonly Answer[]) => list.map((a) => ({ ...a, statuses: a.statuses.map((s) => ({ ...s, limitRemaining: 0 })) }));
    expect(withoutRemaining(answers), step.says).toEqual(withoutRemaining(expected));
    answers.forEach((a, i) => {
      a.statuses.forEach((s, j) => {
        const wanted = expected[i]!.statuses[j]!.limitRemaining;
        expect(s.limitRemaining).toBeGreaterThanOrEqual(wanted);
        expect(s.limitRemaining).toBeLessThanOrEqual(wanted + refilled(s.currentLimit?.requestsPerUnit ?? 0));
      });
    });
  } else {
    expect(answers, step.says).toEqual(expected);
  }
  checkResets(responses, mode, Date.now());
  if (mode === 'rateguard' && step.rateguardFirstReset !== undefined)
    expect(Math.abs(seconds(responses[0]!.statuses[0]!) - step.rateguardFirstReset)).toBeLessThan(1);
}

/** The answers a fixed window gives to a burst on a fresh bucket, in no particular order. */
function burstAnswers(step: Burst, currentLimit: StatusExpectation['currentLimit']): Answer[] {
  const allowed = Math.min(step.size, step.limit);
  return Array.from({ length: step.size }, (_, i): Answer => {
    const granted = i < allowed;
    const status: StatusExpectation = {
      code: granted || step.shadow === true ? Code.OK : Code.OVER_LIMIT,
      limitRemaining: granted ? step.limit - 1 - i : 0,
      currentLimit: currentLimit!,
    };
    return { overall: status.code, statuses: [status] };
  });
}

async function runBurst(rg: TestSidecar, mode: ModeName, domain: string, step: Burst): Promise<void> {
  const started = performance.now();
  const responses = await Promise.all(Array.from({ length: step.size }, () => rg.call(toRequest(domain, [step.send]))));
  const elapsedSeconds = (performance.now() - started) / 1000;
  checkResets(responses, mode, Date.now());
  const currentLimit = { requestsPerUnit: step.limit, unit: UNIT_CODES[step.unit], name: '' };
  const sorted = (answers: Answer[]) => answers.map((a) => JSON.stringify(a)).sort();
  if (mode === 'reference') {
    expect(sorted(responses.map(answerOf)), step.says).toEqual(sorted(burstAnswers(step, currentLimit)));
    return;
  }
  // A token bucket refills while the burst runs: at least `limit` pass, at most what refilled meanwhile on top.
  const statuses = responses.map((r) => r.statuses[0]!);
  expect(statuses.every((s) => s.currentLimit?.requestsPerUnit === step.limit)).toBe(true);
  if (step.shadow === true) {
    expect(
      responses.every((r) => r.overallCode === Code.OK && r.statuses[0]!.code === Code.OK),
      step.says,
    ).toBe(true);
    return;
  }
  const granted = responses.filter((r) => r.overallCode === Code.OK).length;
  expect(granted, step.says).toBeGreaterThanOrEqual(step.limit);
  expect(granted, step.says).toBeLessThanOrEqual(step.limit + Math.ceil((elapsedSeconds * step.limit) / UNIT_SECONDS[step.unit]));
  expect(responses.every((r) => r.overallCode === r.statuses[0]!.code)).toBe(true);
}

async function runMetricKeys(rg: TestSidecar, step: MetricKeys): Promise<void> {
  const text = await (await fetch(`${rg.httpUrl}/metrics`)).text();
  const keys = text
    .split('\n')
    .filter((line) => line.startsWith('ratelimit_service_rate_limit_total_hits{') && line.includes(`domain="${step.domain}"`))
    .map((line) => /[{,]key="([^"]*)"/.exec(line)?.[1]);
  expect(keys.sort(), step.says).toEqual([...step.keys].sort());
}

async function runLocalCacheHits(rg: TestSidecar, combination: Combination, step: LocalCacheHits): Promise<void> {
  const text = await (await fetch(`${rg.httpUrl}/metrics`)).text();
  const hits = text
    .split('\n')
    .filter(
      (line) =>
        line.startsWith('ratelimit_service_rate_limit_over_limit_with_local_cache{') &&
        line.includes(`domain="${step.domain}"`) &&
        line.includes(`key="${step.key}"`),
    )
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
  expect(hits, step.says).toBe(combination.cache ? step.hits : 0);
}

async function runExample(rg: TestSidecar, mode: ModeName, combination: Combination, example: Example): Promise<void> {
  if (mode === 'reference') await inFreshWindows(example.steps.flatMap(unitsOf));
  for (const step of example.steps) {
    if (step.kind === 'sequence') await runSequence(rg, mode, example.domain, step);
    else if (step.kind === 'burst') await runBurst(rg, mode, example.domain, step);
    else if (step.kind === 'metric-keys') await runMetricKeys(rg, step);
    else await runLocalCacheHits(rg, combination, step);
  }
}

let redis: RedisProcess;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

for (const combination of COMBINATIONS) {
  describe(`the reference's examples on ${combination.name}`, () => {
    const sidecars = new Map<string, TestSidecar>();
    const sidecarFor = (mode: ModeName, set: Example['set']) => sidecars.get(`${mode}/${set}`)!;

    beforeAll(async () => {
      const storeFlags = combination.redis ? ['--redis', redis.url, '--redis-timeout', '1000'] : [];
      for (const mode of MODES) {
        for (const set of Object.keys(SETS) as Example['set'][]) {
          const prefix = `ex:${combination.name}:${mode.name}:${set}:`;
          sidecars.set(
            `${mode.name}/${set}`,
            await startTestSidecar(filesOf(set), [...storeFlags, ...combination.flags, ...mode.flags, '--key-prefix', prefix]),
          );
        }
      }
    });
    afterAll(async () => {
      await Promise.all([...sidecars.values()].map((rg) => rg.stop()));
    });

    for (const example of EXAMPLES) {
      it(example.name, async () => {
        for (const mode of MODES) await runExample(sidecarFor(mode.name, example.set), mode.name, combination, example);
      });
    }
  });
}

it("GET /rlconfig on the debug port prints the examples' limits as the reference does, quota_mode included (rateguard appends its own fields)", async () => {
  const rg = await startTestSidecar(filesOf('main'), [...MODES[0]!.flags]);
  try {
    const lines = (await (await fetch(`${rg.debugUrl}/rlconfig`)).text()).split('\n');
    // The reference's line: "<key>: unit=<UNIT> requests_per_unit=<n>, shadow_mode: <bool>, quota_mode: <bool>".
    const reference = [
      'quota.service_service_1: unit=MINUTE requests_per_unit=1, shadow_mode: false, quota_mode: true',
      'quota.service_service_2: unit=MINUTE requests_per_unit=2, shadow_mode: false, quota_mode: true',
      'rl.foo.baz_shady: unit=MINUTE requests_per_unit=1, shadow_mode: true, quota_mode: false',
      'rl.qux: unit=UNKNOWN requests_per_unit=0, shadow_mode: false, quota_mode: false',
      'messaging.message_type_marketing.to_number: unit=DAY requests_per_unit=5, shadow_mode: false, quota_mode: false',
    ];
    for (const line of reference)
      expect(
        lines.filter((l) => l === line || l.startsWith(`${line}, `)),
        line,
      ).toHaveLength(1);
  } finally {
    await rg.stop();
  }
});
