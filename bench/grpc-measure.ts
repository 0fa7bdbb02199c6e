/**
 * One measured gRPC load run against one target, as a Round: the load generator's figures, the answers
 * by status checked against independent counts (bench/answer-check.ts), and on a Redis target Redis's
 * own cost per decision (bench/redis-cost.ts). The server's counters and INFO commandstats are read
 * right before and right after the measured run, so they cover exactly its calls.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CheckedAnswers, checkGeneratorRun, checkH2loadRun } from './answer-check.js';
import type { BenchContext } from './context.js';
import { SHOULD_RATE_LIMIT_PATH } from './grpc-bodies.js';
import type { ClosedLoopOptions } from './grpc-load-options.js';
import { decisionsOf, errorsOf, totalOf } from './grpc-status.js';
import { runH2load } from './h2load.js';
import { redisCommandStats, redisCost } from './redis-cost.js';
import { probeSizes } from './response-size.js';
import type { Metrics, Round } from './results.js';
import { countsDelta, scrapeServerCounts, type ServerCounts, settledServerCounts, waitForTotal } from './server-counts.js';
import type { GrpcTarget } from './servers.js';
import { spawnLoad } from './spawn-load.js';

export interface Shape {
  readonly connections: number;
  readonly streams: number;
}

/** The unmeasured run before each h2load run is at least this long: its rate sets the measured run's length. */
const MIN_WARMUP_SECONDS = 0.2;
/** How long the calls the warm-up left in flight may take to be answered (the bench's Redis timeout is 1 s). */
const STRAGGLERS_TIMEOUT_MS = 5000;

/**
 * An unmeasured h2load run for `warmupSeconds`, then a measured run of exactly N requests, N = the
 * warm-up's req/s × `seconds` (a fixed count, so that h2load's count, the server's and the DATA bytes
 * cover the same calls). A probe call in between sizes the answers.
 */
export async function measureH2load(ctx: BenchContext, target: GrpcTarget, bodyFile: string, shape: Shape): Promise<Round> {
  const base = { url: target.url + SHOULD_RATE_LIMIT_PATH, bodyFile, ...shape, logFile: join(ctx.scratch, 'h2load.log') };
  const beforeWarm = totalOf((await scrapeServerCounts(target.counts)).codes);
  const warm = await runH2load({ ...base, seconds: Math.max(ctx.timings.warmupSeconds, MIN_WARMUP_SECONDS) });
  await waitForTotal(target.counts, beforeWarm + warm.started!, STRAGGLERS_TIMEOUT_MS);
  const calls = Math.max(shape.connections * shape.streams, Math.round(warm.rps! * ctx.timings.seconds));
  const sizes = await probeSizes(target.url, readFileSync(bodyFile));
  const { result: h2, server, redis } = await observed(ctx, target, () => runH2load({ ...base, calls }));
  const checked = checkH2loadRun({ sent: h2.sent!, done: h2.requests!, failed: h2.failed!, dataBytes: h2.dataBytes! }, server, sizes);
  return round(h2, checked, redis); // h2load's own figures kept: sent, requests (done), failed (HTTP level), dataBytes
}

/** A bench/grpc-load.ts run in its own process. */
export async function measureGenerator(ctx: BenchContext, target: GrpcTarget, options: ClosedLoopOptions): Promise<Round> {
  const { result, server, redis } = await observed(ctx, target, () => spawnLoad(options));
  const latency = result.latency === undefined ? {} : { meanMs: result.latency.meanMs, p50Ms: result.latency.p50Ms, p99Ms: result.latency.p99Ms };
  return round({ rps: result.rps, requests: result.answered, ...latency }, checkGeneratorRun(result, server), redis);
}

/** Runs `run` between two reads of the target's counters (and of Redis's commandstats on a Redis target). */
async function observed<T>(ctx: BenchContext, target: GrpcTarget, run: () => Promise<T>): Promise<{ result: T; server: ServerCounts; redis: Metrics }> {
  const before = await settledServerCounts(target.counts);
  const redisBefore = target.redis ? await redisCommandStats(ctx.redis) : undefined;
  const result = await run();
  const server = countsDelta(before, await settledServerCounts(target.counts));
  const redis = redisBefore === undefined ? {} : redisCost(redisBefore, await redisCommandStats(ctx.redis), decisionsOf(server.codes));
  return { result, server, redis };
}

function round(figures: Metrics, checked: CheckedAnswers, redis: Metrics): Round {
  const errors = errorsOf(checked.codes);
  const answers = { ok: checked.codes.OK ?? 0, overLimit: checked.codes.OVER_LIMIT ?? 0, errors: totalOf(errors) };
  return { metrics: { ...figures, ...answers, ...redis }, errors, ...(checked.invalid === undefined ? {} : { invalid: checked.invalid }) };
}
