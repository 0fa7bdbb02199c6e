/**
 * The sidecar under gRPC load, beside the baseline, in interleaved rounds:
 * saturating (few connections, many streams, as Envoy does) and closed-loop latency; memory and
 * Redis store; 1 and 5 descriptors; one hot key and 100k distinct keys; an over-limit flood with
 * the local over-limit cache on and off; 1 and 2 workers.
 */
import { join } from 'node:path';
import { Code } from '../src/rls/codec.js';
import { SETTINGS } from '../src/settings/settings.js';
import type { BenchContext } from './context.js';
import { benchRequest, floodRequest, grpcFrame, SHOULD_RATE_LIMIT_PATH, writeBody } from './grpc-bodies.js';
import type { ClosedLoopOptions } from './grpc-load-options.js';
import { measureGenerator, measureH2load, type Shape } from './grpc-measure.js';
import { h2loadArgs, runH2load } from './h2load.js';
import type { Column, Group, Row } from './results.js';
import { type GrpcTarget, startBaseline, startSidecarProcess, verifyBody } from './servers.js';
import { type Replicas, rotation, startReplicas, stopAll } from './replicas.js';
import { type Contender, interleave, skippedRow } from './stats.js';

const SATURATING = { connections: 2, streams: 100 };
/** The issue's second saturating shape: fewer streams per connection. */
const SATURATING_32 = { connections: 2, streams: 32 };
const CLOSED_LOOP = { connections: 1, streams: 1 };
/** The workers scenario needs more connections than workers: the cluster deals out connections, not streams. */
const SPREAD = { connections: 4, streams: 50 };
const DISTINCT_KEYS = 100_000;

/** Redis's own cost per decision (bench/redis-cost.ts); `digits` for the calls per decision. */
function redisColumns(digits: number): Column[] {
  return [
    { metric: 'redisUsPerCall', label: 'Redis µs/call', digits: 1 },
    { metric: 'redisCallsPerDecision', label: 'Redis calls/decision', digits },
    { metric: 'redisUsPerDecision', label: 'Redis µs/decision', digits: 1 },
  ];
}

const LOAD_COLUMNS: Column[] = [
  { metric: 'rps', label: 'req/s', digits: 0, compare: 'ratio', chart: true },
  { metric: 'meanMs', label: 'mean ms', digits: 2, compare: 'difference', chart: true },
  { metric: 'p50Ms', label: 'p50 ms', digits: 2 },
  { metric: 'p99Ms', label: 'p99 ms', digits: 2, compare: 'difference' },
  { metric: 'ok', label: 'ok', digits: 0, total: true },
  { metric: 'overLimit', label: 'over_limit', digits: 0, total: true },
  { metric: 'errors', label: 'errors', digits: 0, total: true },
  ...redisColumns(3),
];

/** How every load table's answers are judged and Redis's cost is read (bench/answer-check.ts, bench/redis-cost.ts). */
const ANSWERS_RULE =
  ' ok / over_limit / errors are summed over all rounds; a round with any error answer or any count that disagrees (tolerance 0) ' +
  'is invalid: marked, and in no median. Redis µs/call: Δusec / Δcalls of the decide calls (FCALL) in `INFO commandstats` over the run; ' +
  'calls/decision: script calls / (ok + over_limit); µs/decision: their product.';

/** The flag of the rows on grpc-js's server. */
const GRPC_JS = ['--grpc-server', 'grpc-js'];

/** What the two servers' rows are. */
const SERVERS_TEXT =
  ' The sidecar rows without a server named run the default `--grpc-server node-http2` (src/transport/); the "grpc-js server" rows are the ' +
  'same sidecar with `--grpc-server grpc-js`, the server every earlier version of this page measured.';

/** How the h2load tables count answers. */
const H2LOAD_ANSWERS =
  ' h2load counts a gRPC error (HTTP 200, grpc-status in the trailers) as a success, so the answers by gRPC status are the ' +
  "server's own counters (/metrics), checked against h2load's count and its response DATA bytes (an error answer has none)." +
  ANSWERS_RULE;

export async function grpcGroups(ctx: BenchContext, publish: (group: Group) => void): Promise<void> {
  const { timings, redis } = ctx;
  const { replicas } = timings;
  ctx.progress(`gRPC: starting ${replicas} of each: the baseline and the sidecars (memory, Redis; each on node-http2 and on grpc-js)`);
  const pool = await startReplicas(
    {
      baseline: () => startBaseline(profiled(ctx, 'baseline').cpuProfileDir),
      memory: () => startSidecarProcess({ label: 'sidecar, memory store', ...profiled(ctx, 'memory') }),
      redis: () => startSidecarProcess({ label: 'sidecar, Redis store', redisUrl: redis.url, ...profiled(ctx, 'redis') }),
      // The same sidecars on grpc-js's server (`--grpc-server grpc-js`): what the default node-http2 server is measured against.
      memoryGrpcJs: () => startSidecarProcess({ label: 'sidecar, memory store, grpc-js', flags: GRPC_JS, ...profiled(ctx, 'memory-grpc-js') }),
      redisGrpcJs: () =>
        startSidecarProcess({ label: 'sidecar, Redis store, grpc-js', redisUrl: redis.url, flags: GRPC_JS, ...profiled(ctx, 'redis-grpc-js') }),
      // The latency floor: the memory sidecar waiting for one bare Redis PING per call (bench/round-trip-floor.mjs).
      floor: () => startSidecarProcess({ label: 'sidecar, memory store + PING per call', roundTripFloorRedisUrl: redis.url }),
    },
    replicas,
  );
  const targets = Object.values(pool).flatMap((server) => server.targets);
  const { baseline, memory, floor } = pool;
  try {
    const one = benchRequest(1, '203.0.113.1');
    const five = benchRequest(5, '203.0.113.1');
    for (const target of targets) {
      await verifyBody(target, grpcFrame(one), [Code.OK]);
      await verifyBody(target, grpcFrame(five), [Code.OK]);
    }
    const oneBody = writeBody(ctx.scratch, 'one-descriptor', one);
    const fiveBody = writeBody(ctx.scratch, 'five-descriptors', five);
    await warmUp(ctx, targets, oneBody);
    const h2 = (server: Replicas, body: string, shape: Shape) => {
      const next = rotation(server);
      return () => measureH2load(ctx, next(), body, shape);
    };

    /**
     * `servers`: the grpc-js rows too (the saturating 1-descriptor and latency groups), or only the default server's;
     * `extra`: contenders of this group alone.
     */
    const loadGroup = async (
      id: string,
      title: string,
      description: string,
      body: string,
      shape: Shape,
      servers: 'both' | 'default' = 'default',
      extra: readonly Contender[] = [],
    ): Promise<Group> => {
      ctx.progress(`gRPC: ${title}`);
      const contenders: Contender[] = [
        { id: 'baseline', label: 'baseline (grpc-js + proto-loader)', kind: 'baseline', measure: h2(baseline, body, shape) },
        { id: 'memory', label: 'rateguard, memory store', kind: 'rateguard', measure: h2(memory, body, shape) },
        { id: 'redis', label: 'rateguard, Redis store', kind: 'rateguard', measure: h2(pool.redis, body, shape) },
      ];
      if (servers === 'both') {
        contenders.push(
          { id: 'memory-grpc-js', label: 'rateguard, memory store, grpc-js server', kind: 'rateguard', measure: h2(pool.memoryGrpcJs, body, shape) },
          { id: 'redis-grpc-js', label: 'rateguard, Redis store, grpc-js server', kind: 'rateguard', measure: h2(pool.redisGrpcJs, body, shape) },
        );
      }
      contenders.push(...extra);
      const rows = await interleave(contenders, timings.rounds, ctx.progress);
      const serverText = servers === 'both' ? SERVERS_TEXT : '';
      return {
        id,
        title,
        description: description + serverText + H2LOAD_ANSWERS,
        commands: h2loadCommands(ctx, shape),
        columns: LOAD_COLUMNS,
        baseline: 'baseline',
        compareLabel: 'vs baseline',
        rows,
      };
    };
    publish(
      await loadGroup('grpc-saturating-1', 'gRPC, saturating, 1 descriptor', `h2load, ${shapeText(SATURATING)}, one hot key.`, oneBody, SATURATING, 'both'),
    );
    publish(
      await loadGroup(
        'grpc-saturating-1-m32',
        'gRPC, saturating, 1 descriptor, 32 streams',
        `h2load, ${shapeText(SATURATING_32)}, one hot key.`,
        oneBody,
        SATURATING_32,
        'both',
      ),
    );
    publish(
      await loadGroup(
        'grpc-saturating-5',
        'gRPC, saturating, 5 descriptors',
        `h2load, ${shapeText(SATURATING)}, five descriptors (five buckets decided in one store call).`,
        fiveBody,
        SATURATING,
      ),
    );
    publish(
      await loadGroup(
        'grpc-latency',
        'gRPC, closed-loop latency, 1 descriptor',
        `h2load, ${shapeText(CLOSED_LOOP)}: one call at a time, so the latency is the service time. The "PING per call" row is the ` +
          'floor of the Redis row: the memory sidecar waiting for one bare Redis PING (its own ioredis client) before each decision, ' +
          "a bench-only preload (bench/round-trip-floor.mjs). It pays the round trip and none of the store's work.",
        oneBody,
        CLOSED_LOOP,
        'both',
        [{ id: 'floor', label: 'floor: memory store + one Redis PING per call', kind: 'rateguard', measure: h2(floor, oneBody, CLOSED_LOOP) }],
      ),
    );
    await stopAll([...pool.memoryGrpcJs.targets, ...pool.redisGrpcJs.targets, ...floor.targets]);
    publish(await keysGroup(ctx, baseline, memory, pool.redis));
    await stopAll(memory.targets);
    publish(await floodGroup(ctx, baseline));
    publish(await workersGroup(ctx, baseline, pool.redis));
  } finally {
    await stopAll(targets);
  }
}

/**
 * V8 optimises a server's hot path during its first seconds under load; without this, round 1 of the
 * first group measured cold servers (a quick run saw one sidecar go 2.5k, 4.7k, 16k req/s in its three
 * rounds). One unmeasured h2load run per target, before any group.
 */
async function warmUp(ctx: BenchContext, targets: readonly GrpcTarget[], bodyFile: string): Promise<void> {
  ctx.progress('gRPC: warming every server up (unmeasured)');
  for (const target of targets) {
    await runH2load({
      url: target.url + SHOULD_RATE_LIMIT_PATH,
      bodyFile,
      ...SATURATING,
      seconds: 3 * ctx.timings.warmupSeconds,
      logFile: join(ctx.scratch, 'warm-up.log'),
    });
  }
}

function profiled(ctx: BenchContext, name: string): { cpuProfileDir?: string } {
  return ctx.cpuProfileDir === undefined ? {} : { cpuProfileDir: join(ctx.cpuProfileDir, name) };
}

function shapeText(shape: Shape): string {
  return `${shape.connections} connection${shape.connections > 1 ? 's' : ''} × ${shape.streams} stream${shape.streams > 1 ? 's' : ''} in flight`;
}

function h2loadCommands(ctx: BenchContext, shape: Shape): string[] {
  const args = h2loadArgs({ url: `http://127.0.0.1:PORT${SHOULD_RATE_LIMIT_PATH}`, bodyFile: 'BODY.bin', ...shape, calls: 'N', logFile: 'LOG' });
  return [
    `h2load ${args.map((a) => (a.includes(' ') ? `'${a}'` : a)).join(' ')}`,
    `#   after an unmeasured run of ${ctx.timings.warmupSeconds} s (-D); N = its req/s × ${ctx.timings.seconds} s`,
  ];
}

/** One hot key vs 100k distinct keys: h2load sends one body per run, so this group uses bench/grpc-load.ts for every row. */
async function keysGroup(ctx: BenchContext, baseline: Replicas, memory: Replicas, redisSidecar: Replicas): Promise<Group> {
  ctx.progress(`gRPC: one hot key vs ${DISTINCT_KEYS} distinct keys (node:http2 load generator)`);
  const options = (url: string, keys: number): ClosedLoopOptions => ({
    url,
    mode: 'closed',
    ...SATURATING,
    seconds: ctx.timings.seconds,
    warmupSeconds: ctx.timings.warmupSeconds,
    body: { bench: 'one', keys },
  });
  const load = (server: Replicas, keys: number) => {
    const next = rotation(server);
    return () => {
      const target = next();
      return measureGenerator(ctx, target, options(target.url, keys));
    };
  };
  const rows = await interleave(
    [
      { id: 'baseline', label: 'baseline, 100k keys', kind: 'baseline', measure: load(baseline, DISTINCT_KEYS) },
      { id: 'memory-hot', label: 'rateguard memory, 1 hot key', kind: 'rateguard', measure: load(memory, 1) },
      { id: 'memory-100k', label: 'rateguard memory, 100k keys', kind: 'rateguard', measure: load(memory, DISTINCT_KEYS) },
      { id: 'redis-hot', label: 'rateguard Redis, 1 hot key', kind: 'rateguard', measure: load(redisSidecar, 1) },
      { id: 'redis-100k', label: 'rateguard Redis, 100k keys', kind: 'rateguard', measure: load(redisSidecar, DISTINCT_KEYS) },
    ],
    ctx.timings.rounds,
    ctx.progress,
  );
  return {
    id: 'grpc-keys',
    title: 'gRPC, one hot key vs 100k distinct keys',
    description:
      `bench/grpc-load.ts (node:http2, its own process), ${shapeText(SATURATING)}, 1 descriptor; the 100k rows cycle through ` +
      `${DISTINCT_KEYS} pre-encoded bodies, one client address each. h2load sends a single body per run, hence this generator; ` +
      'it is slower than h2load, so compare rows within this table only. It reads every grpc-status and decodes every OK answer ' +
      "(OVER_LIMIT from its overall_code); its counts by status (warm-up included) must equal the server's own counters, and every " +
      'call sent must be answered.' +
      ANSWERS_RULE,
    commands: [`node --import tsx bench/grpc-load.ts '${JSON.stringify(options('http://127.0.0.1:PORT', DISTINCT_KEYS))}'   (keys: 1 for the hot-key rows)`],
    columns: LOAD_COLUMNS,
    baseline: 'baseline',
    compareLabel: 'vs baseline',
    rows,
  };
}

/** The local over-limit cache's flag (issue 4), when this tree has it. */
function localCacheFlags(): { on: string[]; off: string[] } | undefined {
  const setting = Object.values(SETTINGS).find((s) => 'flag' in s && s.flag === '--local-cache-size') as
    | { default: unknown; parse: (text: string) => { ok: boolean } }
    | undefined;
  if (setting === undefined || !setting.parse('0').ok) return undefined;
  return { on: typeof setting.default === 'number' && setting.default > 0 ? [] : ['--local-cache-size', '100000'], off: ['--local-cache-size', '0'] };
}

/** One client over its limit for good, flooding; Redis commands per decision from INFO commandstats deltas. */
async function floodGroup(ctx: BenchContext, baseline: Replicas): Promise<Group> {
  ctx.progress('gRPC: over-limit flood, local cache off and on');
  const cache = localCacheFlags();
  const body = writeBody(ctx.scratch, 'flood', floodRequest());
  const off = await startSidecarProcess({ label: 'flood, cache off', redisUrl: ctx.redis.url, flags: cache?.off ?? [] });
  const on = cache === undefined ? undefined : await startSidecarProcess({ label: 'flood, cache on', redisUrl: ctx.redis.url, flags: cache.on });
  try {
    const floodTargets = on === undefined ? [off] : [off, on];
    for (const target of floodTargets) {
      await verifyBody(target, grpcFrame(floodRequest()), [Code.OK, Code.OVER_LIMIT]);
      await verifyBody(target, grpcFrame(floodRequest()), [Code.OVER_LIMIT]);
    }
    const flood = (next: () => GrpcTarget) => () => measureH2load(ctx, next(), body, SATURATING);
    const contenders: Contender[] = [
      { id: 'baseline', label: 'baseline (answers OK)', kind: 'baseline', measure: flood(rotation(baseline)) },
      { id: 'cache-off', label: 'rateguard Redis, local cache off', kind: 'rateguard', measure: flood(() => off) },
      ...(on === undefined ? [] : [{ id: 'cache-on', label: 'rateguard Redis, local cache on', kind: 'rateguard' as const, measure: flood(() => on) }]),
    ];
    const rows: Row[] = await interleave(contenders, ctx.timings.rounds, ctx.progress);
    if (on === undefined)
      rows.push(skippedRow('cache-on', 'rateguard Redis, local cache on', 'rateguard', '`--local-cache-size` does not exist in this tree yet (issue 4)'));
    return {
      id: 'grpc-flood',
      title: 'gRPC, flood from one over-limit client',
      description:
        `h2load, ${shapeText(SATURATING)}; every call is denied (limit 1/hour, already spent). Redis commands per decision = ` +
        '`INFO commandstats` calls delta (all commands, including those the Lua script runs; INFO excluded) / decisions; script calls = FCALL (+ EVALSHA, EVAL) only.' +
        H2LOAD_ANSWERS,
      commands: [
        ...h2loadCommands(ctx, SATURATING),
        `cache off: ${cache?.off.join(' ') || '(no flag)'}; cache on: ${cache === undefined ? 'n/a' : cache.on.join(' ') || '(default)'}`,
      ],
      columns: [...LOAD_COLUMNS.slice(0, -3), { metric: 'commandsPerDecision', label: 'Redis commands/decision', digits: 4 }, ...redisColumns(4)],
      baseline: 'baseline',
      compareLabel: 'vs baseline',
      rows,
    };
  } finally {
    await Promise.all([off.stop(), on?.stop()]);
  }
}

/** `rateguard serve --workers 2` against one process, both on Redis. */
async function workersGroup(ctx: BenchContext, baseline: Replicas, single: Replicas): Promise<Group> {
  ctx.progress('gRPC: --workers 2 vs one process (Redis store)');
  const two = await startSidecarProcess({ label: 'sidecar, Redis, 2 workers', redisUrl: ctx.redis.url, workers: 2 });
  try {
    const request = benchRequest(1, '203.0.113.1');
    for (let i = 0; i < SPREAD.connections; i++) await verifyBody(two, grpcFrame(request), [Code.OK]);
    const body = writeBody(ctx.scratch, 'workers', request);
    const load = (next: () => GrpcTarget) => () => measureH2load(ctx, next(), body, SPREAD);
    const rows = await interleave(
      [
        { id: 'baseline', label: 'baseline (one process)', kind: 'baseline', measure: load(rotation(baseline)) },
        { id: 'workers-1', label: 'rateguard Redis, 1 process', kind: 'rateguard', measure: load(rotation(single)) },
        { id: 'workers-2', label: 'rateguard Redis, --workers 2', kind: 'rateguard', measure: load(() => two), compareTo: 'workers-1' },
      ],
      ctx.timings.rounds,
      ctx.progress,
    );
    return {
      id: 'grpc-workers',
      title: 'gRPC, scale on one host: --workers',
      description:
        `h2load, ${shapeText(SPREAD)}, 1 descriptor, Redis store. node:cluster hands connections to workers round-robin, so the ` +
        'load uses more connections than workers. The `--workers 2` row is compared with the 1-process row; on a 2-core machine ' +
        'h2load and Redis share the same cores, which caps the gain. Each worker counts its own answers: the server counts are ' +
        'the sum of one /metrics scrape per worker.' +
        H2LOAD_ANSWERS,
      commands: [...h2loadCommands(ctx, SPREAD), 'node dist/cli/main.js serve --redis URL --workers 2 ...'],
      columns: LOAD_COLUMNS,
      baseline: 'baseline',
      compareLabel: 'vs baseline (workers-2: vs 1 process)',
      rows,
    };
  } finally {
    await two.stop();
  }
}
