/**
 * The processes under load, each in its own child process: the rateguard sidecar (`rateguard serve`
 * from the build, dist/cli/main.js), the baseline gRPC server, and a Redis server. Every one is stopped by
 * the returned handle; Redis comes from the test harness (installs redis-server when missing).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Child } from '../test/support/processes.js';
import { findFreePort, type RedisProcess, startRedis } from '../test/support/redis-server.js';
import { BENCH_CONFIG } from './grpc-bodies.js';
import { callOnce, decodeAnswer } from './grpc-call.js';
import type { CountsSource } from './server-counts.js';
import { spawnTracked } from './tracked-children.js';

/** The `rateguard` command as built by `npm run build`: what users run. */
const RATEGUARD_CLI = 'dist/cli/main.js';

export interface GrpcTarget {
  readonly label: string;
  /** http://127.0.0.1:PORT (the origin; h2load needs the method path appended). */
  readonly url: string;
  readonly port: number;
  /** Decides on the bench Redis: its runs are checked with INFO commandstats. */
  readonly redis: boolean;
  /** Where its own answer counters are read (bench/server-counts.ts). */
  readonly counts: CountsSource;
  /** The command that started it, for the report. */
  readonly command: string;
  /** The process started (with --workers, the primary). */
  readonly pid: number;
  /** Runs a full GC in the process and resolves when it is done (started with `collectGarbageOnSignal`). */
  collectGarbage(): Promise<void>;
  stop(): Promise<void>;
}

export interface SidecarOptions {
  readonly label: string;
  readonly redisUrl?: string;
  readonly workers?: number;
  readonly flags?: readonly string[];
  /** Write a V8 CPU profile of the sidecar (of every worker) into this directory on exit. */
  readonly cpuProfileDir?: string;
  /** Another build's CLI (an A/B of two builds in one run); default: this checkout's dist/. */
  readonly cli?: string;
  /** Let `collectGarbage()` run a full GC in it (bench/gc-on-signal.mjs): for memory readings. */
  readonly collectGarbageOnSignal?: boolean;
  /** A memory-store sidecar that waits for one bare PING to this Redis per decision (bench/round-trip-floor.mjs). */
  readonly roundTripFloorRedisUrl?: string;
}

const CPU_PROFILER = fileURLToPath(new URL('cpu-profiler.mjs', import.meta.url));
const GC_ON_SIGNAL = fileURLToPath(new URL('gc-on-signal.mjs', import.meta.url));
const ROUND_TRIP_FLOOR = fileURLToPath(new URL('round-trip-floor.mjs', import.meta.url));

let configDir: string | undefined;

/** The bench config directory (written once per run). */
export function benchConfigDir(): string {
  if (configDir === undefined) {
    configDir = mkdtempSync(join(tmpdir(), 'rg-bench-config-'));
    writeFileSync(join(configDir, 'bench.yaml'), BENCH_CONFIG);
  }
  return configDir;
}

export function removeBenchConfig(): void {
  if (configDir !== undefined) rmSync(configDir, { recursive: true, force: true });
  configDir = undefined;
}

interface Preloads {
  /** Write a CPU profile into this directory on exit (the child and its cluster workers). */
  readonly cpuProfileDir?: string | undefined;
  /** Run a full GC on SIGUSR2. */
  readonly gc?: boolean;
  /** One bare PING to this Redis before each memory-store decision. */
  readonly roundTripFloorRedisUrl?: string | undefined;
}

/** The environment that loads the bench's preloads into a child. */
function preloadEnv({ cpuProfileDir, gc = false, roundTripFloorRedisUrl }: Preloads): NodeJS.ProcessEnv {
  const options = [
    ...(cpuProfileDir === undefined ? [] : [`--import=${CPU_PROFILER}`]),
    ...(gc ? [`--import=${GC_ON_SIGNAL}`] : []),
    ...(roundTripFloorRedisUrl === undefined ? [] : [`--import=${ROUND_TRIP_FLOOR}`]),
  ];
  return {
    ...(options.length === 0 ? {} : { NODE_OPTIONS: options.join(' ') }),
    ...(cpuProfileDir === undefined ? {} : { RG_CPU_PROFILE_DIR: cpuProfileDir }),
    ...(roundTripFloorRedisUrl === undefined ? {} : { RG_BENCH_FLOOR_REDIS: roundTripFloorRedisUrl }),
  };
}

export async function startSidecarProcess(options: SidecarOptions): Promise<GrpcTarget> {
  const port = await findFreePort();
  const workers = options.workers ?? 1;
  const args = [
    'serve',
    '--config',
    benchConfigDir(),
    '--grpc-port',
    String(port),
    '--http-port',
    '0',
    '--debug-port',
    '0',
    '--host',
    '127.0.0.1',
    // Default flags, as users run it: every answer is counted by status, and a run with any error is invalid.
    ...(options.redisUrl === undefined ? [] : ['--redis', options.redisUrl]),
    ...(workers > 1 ? ['--workers', String(workers)] : []),
    ...(options.flags ?? []),
  ];
  const cli = options.cli ?? RATEGUARD_CLI;
  const child = spawnTracked(
    cli,
    args,
    preloadEnv({ cpuProfileDir: options.cpuProfileDir, gc: options.collectGarbageOnSignal === true, roundTripFloorRedisUrl: options.roundTripFloorRedisUrl }),
  );
  // Every worker is serving once it can decide (with Redis: once Redis first answered).
  if (workers > 1) await child.waitForLine(/"msg":"workers serving"/, 60_000);
  // Every worker logs the same ports (node:cluster gives all of them the one port 0 picked).
  const serving = JSON.parse(await child.waitForLine(/"msg":"rateguard serving"/, 60_000)) as { httpPort: number };
  // With Redis it decides (and is SERVING) once Redis first answered.
  if (options.redisUrl !== undefined && workers === 1) await child.waitForLine(/"msg":"redis available"/, 60_000);
  const counts = { metricsUrl: `http://127.0.0.1:${serving.httpPort}/metrics`, instances: workers };
  return target(
    options.label,
    port,
    options.redisUrl !== undefined,
    counts,
    child,
    `node ${cli} ${args.join(' ').replace(benchConfigDir(), '<bench config>')}`,
    options.collectGarbageOnSignal === true,
  );
}

export async function startBaseline(cpuProfileDir?: string): Promise<GrpcTarget> {
  const port = await findFreePort();
  const child = spawnTracked('bench/baseline-server.ts', [String(port)], preloadEnv({ cpuProfileDir }));
  const metricsPort = /baseline serving \d+ metrics (\d+)/.exec(await child.waitForLine(/baseline serving/, 60_000))![1];
  const counts = { metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`, instances: 1 };
  return target('baseline', port, false, counts, child, 'node --import tsx bench/baseline-server.ts PORT');
}

function target(label: string, port: number, redis: boolean, counts: CountsSource, child: Child, command: string, gcOnSignal = false): GrpcTarget {
  let collections = 0;
  const collectGarbage = async () => {
    // Without the preload, SIGUSR2 would end the process.
    if (!gcOnSignal) throw new Error(`${label}: not started with collectGarbageOnSignal`);
    collections += 1;
    const done = child.waitForLine(new RegExp(`^bench-gc ${collections}$`), 60_000);
    child.process.kill('SIGUSR2');
    await done;
  };
  return { label, port, redis, counts, url: `http://127.0.0.1:${port}`, command, pid: child.process.pid!, collectGarbage, stop: () => child.stop() };
}

/**
 * One call with exactly the bytes, path and headers the load generator will send, before the load:
 * h2load counts any HTTP 200 as a success and never reads gRPC trailers, so a wrong path or body would
 * otherwise be measured as a fast server.
 */
export async function verifyBody(target: GrpcTarget, body: Buffer, expected: readonly number[]): Promise<void> {
  const decoded = decodeAnswer(await callOnce(target.url, body));
  if (!decoded.ok) throw new Error(`${target.label}: ${decoded.error}`);
  if (!expected.includes(decoded.response.overallCode)) {
    throw new Error(`${target.label} answered overall code ${decoded.response.overallCode}, expected ${expected.join(' or ')}`);
  }
}

export async function startBenchRedis(): Promise<RedisProcess> {
  return startRedis({ name: 'bench-redis' });
}
