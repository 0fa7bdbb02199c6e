/**
 * The targets, judged from a run's groups: met, not met, or not measured in this run. A target
 * on an invalid row (bench/answer-check.ts) is NOT MET, with the reason.
 */
import type { Group, Row, TargetResult } from './results.js';

type Judged = { measured: string; met: boolean | undefined; perRound?: string };

function rowOf(groups: readonly Group[], group: string, row: string): Row | undefined {
  return groups.find((g) => g.id === group)?.rows.find((r) => r.id === row);
}

/** A row's median figure; or, for an invalid row, the verdict itself. */
function figure(groups: readonly Group[], group: string, row: string, metric: string): number | Judged | undefined {
  const found = rowOf(groups, group, row);
  if (found?.invalid !== undefined) return { measured: `invalid: ${found.label}: ${found.invalid}`, met: false };
  const value = found?.median[metric];
  return value === undefined || Number.isNaN(value) ? undefined : value;
}

interface Target {
  readonly text: string;
  /** The measured figure as text and whether it meets the target; undefined when not measured. */
  readonly judge: (groups: readonly Group[]) => Judged | undefined;
}

/**
 * The comparison round by round, lowest to highest: round i of both rows ran in the same rotated
 * round (bench/stats.ts interleave). Undefined with fewer than two rounds valid in both rows.
 */
function perRoundRange(
  groups: readonly Group[],
  [group, row, over, metric]: [string, string, string, string],
  compare: (a: number, b: number) => number,
  format: (value: number) => string,
): string | undefined {
  const ours = rowOf(groups, group, row)?.rounds ?? [];
  const theirs = rowOf(groups, group, over)?.rounds ?? [];
  const values = ours.flatMap((mine, i) => {
    const other = theirs[i];
    if (other === undefined || mine.invalid !== undefined || other.invalid !== undefined) return [];
    const a = mine.metrics[metric];
    const b = other.metrics[metric];
    return a !== undefined && b !== undefined && Number.isFinite(a) && Number.isFinite(b) ? [compare(a, b)] : [];
  });
  return values.length < 2 ? undefined : `${format(Math.min(...values))} to ${format(Math.max(...values))}`;
}

/** A target on how one row's figure compares with another's (a ratio or a difference), judged on the medians. */
function comparisonTarget(
  text: string,
  rows: [group: string, row: string, over: string, metric: string],
  compare: (a: number, b: number) => number,
  format: (value: number) => string,
  meets: (value: number) => boolean | undefined,
): Target {
  const [group, row, over, metric] = rows;
  return {
    text,
    judge: (groups) => {
      const a = figure(groups, group, row, metric);
      const b = figure(groups, group, over, metric);
      if (typeof a === 'object') return a;
      if (typeof b === 'object') return b;
      if (a === undefined || b === undefined) return undefined;
      const value = compare(a, b);
      const perRound = perRoundRange(groups, rows, compare, format);
      return { measured: format(value), met: meets(value), ...(perRound === undefined ? {} : { perRound }) };
    },
  };
}

/**
 * `value` to `digits` decimals, or to two more where the rounding would read as the other verdict
 * (a ratio of 1.1997 against "≥ 1.2" is shown as 1.1997, not as 1.20 beside NOT MET).
 */
function judgedDigits(value: number, digits: number, meets: (v: number) => boolean | undefined): string {
  const shown = value.toFixed(digits);
  return meets(Number(shown)) === meets(value) ? shown : value.toFixed(digits + 2);
}

const ratioTarget = (text: string, group: string, row: string, over: string, metric: string, atLeast: number): Target => {
  const meets = (v: number) => v >= atLeast;
  return comparisonTarget(
    text,
    [group, row, over, metric],
    (a, b) => a / b,
    (v) => `${judgedDigits(v, 2, meets)}×`,
    meets,
  );
};

/** `atMost` undefined: the difference is shown, not judged. */
const differenceTarget = (text: string, group: string, row: string, over: string, metric: string, atMost: number | undefined): Target => {
  const meets = (v: number) => (atMost === undefined ? undefined : v <= atMost);
  return comparisonTarget(
    text,
    [group, row, over, metric],
    (a, b) => a - b,
    (v) => `${v >= 0 ? '+' : ''}${judgedDigits(v, 3, meets)} ms`,
    meets,
  );
};

/** A target on one row's own figure: at most `atMost`. */
const ceilingTarget = (text: string, group: string, row: string, metric: string, atMost: number, format: (value: number) => string): Target => ({
  text,
  judge: (groups) => {
    const value = figure(groups, group, row, metric);
    return typeof value === 'number' ? { measured: format(value), met: value <= atMost } : value;
  },
});

export const TARGETS: readonly Target[] = [
  ratioTarget('Sidecar, Redis, 1 descriptor, saturating (2 × 100 streams): ≥ 1.0× baseline throughput', 'grpc-saturating-1', 'redis', 'baseline', 'rps', 1.0),
  ratioTarget(
    'Sidecar, Redis, 1 descriptor, saturating (2 × 32 streams): ≥ 1.0× baseline throughput',
    'grpc-saturating-1-m32',
    'redis',
    'baseline',
    'rps',
    1.0,
  ),
  ratioTarget('Sidecar, memory, 1 descriptor, saturating (2 × 100 streams): ≥ 1.2× baseline throughput', 'grpc-saturating-1', 'memory', 'baseline', 'rps', 1.2),
  ratioTarget(
    'Sidecar, memory, 1 descriptor, saturating (2 × 32 streams): ≥ 1.2× baseline throughput',
    'grpc-saturating-1-m32',
    'memory',
    'baseline',
    'rps',
    1.2,
  ),
  comparisonTarget(
    'gRPC server: node-http2 vs grpc-js, memory sidecar, 2 × 100 streams (shown, no threshold)',
    ['grpc-saturating-1', 'memory', 'memory-grpc-js', 'rps'],
    (a, b) => a / b,
    (v) => `${v.toFixed(2)}×`,
    () => undefined,
  ),
  differenceTarget('Closed-loop latency, Redis store: mean ≤ baseline + 0.1 ms', 'grpc-latency', 'redis', 'baseline', 'meanMs', 0.1),
  differenceTarget(
    'Closed-loop latency floor: memory store + one bare Redis PING per call, mean over the baseline (shown: one round trip, no store work)',
    'grpc-latency',
    'floor',
    'baseline',
    'meanMs',
    undefined,
  ),
  differenceTarget('Closed-loop latency, Redis store: p50 over the baseline (shown, no threshold)', 'grpc-latency', 'redis', 'baseline', 'p50Ms', undefined),
  ceilingTarget(
    'Redis µs per decision, 1 bucket, saturating (2 × 100 streams): ≤ 6',
    'grpc-saturating-1',
    'redis',
    'redisUsPerDecision',
    6,
    (v) => `${v.toFixed(1)} µs`,
  ),
  ceilingTarget(
    'Redis µs per decision, 5 buckets in one request, saturating: ≤ 12',
    'grpc-saturating-5',
    'redis',
    'redisUsPerDecision',
    12,
    (v) => `${v.toFixed(1)} µs`,
  ),
  ceilingTarget(
    'Sidecar (rateguard serve, memory store) RSS growth per idle identity, live buckets, after a compacting GC: ≤ 500 B',
    'memory',
    'sidecar',
    'rssPerKey',
    500,
    (v) => `${Math.round(v)} B`,
  ),
  ceilingTarget(
    'Sidecar RSS growth per idle identity, 3 s after the load, no GC forced (shown against the same 500 B)',
    'memory',
    'sidecar',
    'rssNoGcPerKey',
    500,
    (v) => `${Math.round(v)} B`,
  ),
  ceilingTarget(
    'MemoryStore in one process, RSS bytes per idle identity, 1M identities: ≤ 500',
    'memory',
    'memory-store',
    'rssPerKey',
    500,
    (v) => `${Math.round(v)} B`,
  ),
  ceilingTarget('Over-limit flood with the local cache: ≤ 0.01 Redis commands per decision', 'grpc-flood', 'cache-on', 'commandsPerDecision', 0.01, (v) =>
    v.toFixed(4),
  ),
  differenceTarget('Express: RedisStore adds ≤ 0.1 ms mean over no limiter', 'express', 'rateguard-redis', 'none', 'meanMs', 0.1),
  ratioTarget('Express: RedisStore ≥ 1.2× express-rate-limit + rate-limit-redis throughput', 'express', 'rateguard-redis', 'erl-redis', 'rps', 1.2),
  ratioTarget('Store: RedisStore ≥ 1.5× RateLimiterRedis decisions/s at 64 in flight', 'store', 'rateguard-64', 'flexible-64', 'rps', 1.5),
  comparisonTarget(
    'Scale on one host: `--workers 2` vs one process (shown, no threshold)',
    ['grpc-workers', 'workers-2', 'workers-1', 'rps'],
    (a, b) => a / b,
    (v) => `${v.toFixed(2)}×`,
    () => undefined, // no threshold: shown only
  ),
];

export function judgeTargets(groups: readonly Group[]): TargetResult[] {
  return TARGETS.map((target) => {
    const judged = target.judge(groups);
    return {
      target: target.text,
      measured: judged?.measured ?? 'not measured',
      met: judged?.met,
      ...(judged?.perRound === undefined ? {} : { perRound: judged.perRound }),
    };
  });
}

export function verdict(result: TargetResult): string {
  if (result.met === true) return 'met';
  if (result.met === false) return 'NOT MET';
  return result.measured === 'not measured' ? 'not measured' : 'shown';
}
