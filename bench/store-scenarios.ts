/**
 * Store level: decisions/s of RedisStore vs rate-limiter-flexible's RateLimiterRedis at several
 * concurrencies on the same Redis (bench/store-level.ts), and MemoryStore bytes per idle key
 * (bench/memory-per-key.ts).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { BenchContext } from './context.js';
import { redisCommandStats, redisCost } from './redis-cost.js';
import type { Group, Metrics } from './results.js';
import { spawnTracked } from './tracked-children.js';
import { measureSidecarRss } from './sidecar-rss.js';
import { type Contender, interleave, medianMetrics } from './stats.js';

const STORE_CONTENDERS = {
  rateguard: 'rateguard RedisStore',
  flexible: 'rate-limiter-flexible RateLimiterRedis',
  'flexible-pipelined': 'RateLimiterRedis + ioredis auto-pipelining',
} as const;
export const STORE_CONCURRENCY = [1, 16, 64, 256] as const;

export async function storeGroup(ctx: BenchContext): Promise<Group> {
  ctx.progress('Store level: RedisStore vs RateLimiterRedis');
  const names = Object.keys(STORE_CONTENDERS) as (keyof typeof STORE_CONTENDERS)[];
  const children = names.map((name) => spawnTracked('bench/store-level.ts', [name, ctx.redis.url]));
  try {
    await Promise.all(children.map((child) => child.waitForLine(/^ready$/, 60_000)));
    const seconds = ctx.timings.storeSeconds;
    let runs = 0;
    const contenders: Contender[] = STORE_CONCURRENCY.flatMap((concurrency) =>
      names.map(
        (name, i): Contender => ({
          id: `${name}-${concurrency}`,
          label: `${STORE_CONTENDERS[name]}, ${concurrency} in flight`,
          kind: name === 'rateguard' ? 'rateguard' : 'peer',
          ...(name === 'flexible' ? {} : { compareTo: `flexible-${concurrency}` }),
          measure: async () => {
            const run = ++runs;
            const before = await redisCommandStats(ctx.redis);
            children[i]!.send(`run ${run} ${concurrency} ${seconds}`);
            const line = await children[i]!.waitForLine(new RegExp(`^result ${run} `), (seconds + 60) * 1000);
            const { rps, decisions, failed } = JSON.parse(line.slice(`result ${run} `.length)) as { rps: number; decisions: number; failed: number };
            return { metrics: { rps, failed, ...redisCost(before, await redisCommandStats(ctx.redis), decisions) } };
          },
        }),
      ),
    );
    return {
      id: 'store',
      title: 'Store level: Redis decisions per second',
      description:
        `One process per contender, ${seconds} s per run, closed loop with N decisions in flight, keys rotating over 10 000 clients, ` +
        'limits that never deny, same Redis. RateLimiterRedis is set up as its README does (ioredis, offline queue off); the third ' +
        'contender adds ioredis auto-pipelining. Ratios are against plain RateLimiterRedis at the same concurrency. Redis µs/decision: ' +
        'Δusec of FCALL (rateguard; EVALSHA + EVAL for the peers) in `INFO commandstats` over the run / decisions; calls/decision: script calls / decisions ' +
        '(below 1 when RedisStore decides several plans in one call).',
      commands: ['node --import tsx bench/store-level.ts rateguard|flexible|flexible-pipelined REDIS_URL   (stdin: run ID CONCURRENCY SECONDS)'],
      columns: [
        { metric: 'rps', label: 'decisions/s', digits: 0, compare: 'ratio', chart: true },
        { metric: 'failed', label: 'failed', digits: 0 },
        { metric: 'redisUsPerDecision', label: 'Redis µs/decision', digits: 1 },
        { metric: 'redisCallsPerDecision', label: 'calls/decision', digits: 3 },
        { metric: 'commandsPerDecision', label: 'commands/decision', digits: 2 },
      ],
      compareLabel: 'vs RateLimiterRedis, same in-flight',
      rows: await interleave(contenders, ctx.timings.rounds, ctx.progress),
    };
  } finally {
    for (const child of children) child.send('stop');
    await Promise.all(children.map((child) => child.stop()));
  }
}

export async function memoryGroup(ctx: BenchContext): Promise<Group> {
  const keys = ctx.timings.memoryKeys;
  ctx.progress(`Store level: MemoryStore heap at ${keys} idle keys`);
  const args = ['--expose-gc', '--import', 'tsx', 'bench/memory-per-key.ts', String(keys)];
  const { stdout } = await promisify(execFile)(process.execPath, args, { timeout: 300_000 });
  const metrics = JSON.parse(stdout.trim().split('\n').pop()!) as Metrics;
  ctx.progress(`  ${metrics.bytesPerKey!.toFixed(0)} bytes per key`);
  const identities = ctx.timings.sidecarIdentities;
  const sidecarRounds: Metrics[] = [];
  for (let round = 1; round <= ctx.timings.rounds; round++) {
    sidecarRounds.push(await measureSidecarRss({ identities, live: true }));
    ctx.progress(
      `  round ${round}/${ctx.timings.rounds} sidecar, ${identities} live identities: ${sidecarRounds.at(-1)!.rssPerKey!.toFixed(0)} RSS bytes per identity`,
    );
  }
  return {
    id: 'memory',
    title: 'Memory per idle identity',
    description:
      `MemoryStore in one process: JavaScript heap plus array buffers after ${keys} one-token decisions on ${keys} distinct clients, ` +
      'minus before, over the keys; both read after a full GC (`gc()`). Counts the bucket table (its Map, the key strings, its ' +
      'Float64Array) for a sidecar key of a remote_address descriptor; RSS, read the same way, also holds what V8 has not given back ' +
      `to the system. The sidecar: \`rateguard serve\` (memory store), warmed on 1,000 clients, then ${identities} distinct clients ` +
      "once each on the bench config's 1-per-hour limit (every bucket stays), 2 connections × 100 streams, every answer counted by " +
      'status; growth over the identities of its VmRSS and of its JS heap + external memory (its /metrics), each read after the ' +
      "collection V8 runs under memory pressure (bench/gc-on-signal.mjs: it compacts the old space and returns freed pages, as V8's " +
      `memory reducer does in an idle sidecar), and of its VmRSS 3 s after the last answer with no GC forced. Medians of ${ctx.timings.rounds} rounds, ` +
      'each a fresh sidecar.',
    commands: [`node ${args.join(' ')}`, `node --import tsx bench/sidecar-rss.ts --live ${identities}`],
    columns: [
      { metric: 'bytesPerKey', label: 'heap + buffers bytes/key', digits: 0 },
      { metric: 'rssPerKey', label: 'RSS bytes/key', digits: 0 },
      { metric: 'rssNoGcPerKey', label: 'RSS bytes/key, 3 s after, no GC', digits: 0 },
      { metric: 'keyLength', label: 'key length (chars)', digits: 0 },
      { metric: 'heapMb', label: 'heap + buffers MB', digits: 0 },
    ],
    rows: [
      { id: 'memory-store', label: `rateguard MemoryStore, ${keys} keys`, kind: 'rateguard', rounds: [{ metrics }], median: metrics },
      {
        id: 'sidecar',
        label: `rateguard serve, memory store, ${identities} identities`,
        kind: 'rateguard',
        rounds: sidecarRounds.map((m) => ({ metrics: m })),
        median: medianMetrics(sidecarRounds),
      },
    ],
  };
}
