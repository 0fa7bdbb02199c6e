/**
 * The processes under load, each in its own child process: the rateguard sidecar (`rateguard serve`
 * from the build, dist/cli/main.js), the baseline gRPC server, and a Redis server. Every one is stopped by
 * the returned handle; Redis comes from the test harness (installs redis-server when missing).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import http2 from 'node:http2';
import { decodeRateLimitResponse } from '../src/rls/codec.js';
import { type Child, spawnTs } from '../test/support/processes.js';
import { findFreePort, type RedisProcess, startRedis } from '../test/support/redis-server.js';
import { BENCH_CONFIG, SHOULD_RATE_LIMIT_PATH } from './grpc-bodies.js';

/** The `rateguard` command as built by `npm run build`: what users run. */
const RATEGUARD_CLI = 'dist/cli/main.js';

export interface GrpcTarget {
  readonly label: string;
  /** http://127.0.0.1:PORT (the origin; h2load needs the method path appended). */
  readonly url: string;
  readonly port: number;
  /** Decides on the bench Redis: its runs are checked with INFO commandstats. */
  readonly redis: boolean;
  /** The command that started it, for the report. */
  readonly command: string;
  stop(): Promise<void>;
}

export interface SidecarOptions {
  readonly label: string;
  readonly redisUrl?: string;
  readonly workers?: number;
  readonly flags?: readonly string[];
  /** Write a V8 CPU profile of the sidecar (of every worker) into this directory on exit. */
  readonly cpuProfileDir?: string;
}

const CPU_PROFILER = fileURLToPath(new URL('cpu-profiler.mjs', import.meta.url));

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

/** The environment that makes a child (and its cluster workers) write a CPU profile into `dir` on exit. */
function profilerEnv(dir: string | undefined): NodeJS.ProcessEnv {
  return dir === undefined ? {} : { NODE_OPTIONS: `--import=${CPU_PROFILER}`, RG_CPU_PROFILE_DIR: dir };
}

export async function startSidecarProcess(options: SidecarOptions): Promise<GrpcTarget> {
  const port = await findFreePort();
  const workers = options.workers ?? 1;
  const args = [
    'serve', '--config', benchConfigDir(), '--grpc-port', String(port), '--http-port', '0', '--host', '127.0.0.1',
    // A generous Redis timeout: h2load cannot tell an UNAVAILABLE answer from an OK one, so a busy
    // machine must not turn decisions into fast errors (each Redis row's script calls per decision show it did not).
    ...(options.redisUrl === undefined ? [] : ['--redis', options.redisUrl, '--redis-timeout', '1000']),
    ...(workers > 1 ? ['--workers', String(workers)] : []),
    ...(options.flags ?? []),
  ];
  const child = spawnTracked(RATEGUARD_CLI, args, profilerEnv(options.cpuProfileDir));
  await child.waitForLine(workers > 1 ? /"msg":"workers serving"/ : /"msg":"rateguard serving"/, 60_000);
  return target(options.label, port, options.redisUrl !== undefined, child, `node ${RATEGUARD_CLI} ${args.join(' ').replace(benchConfigDir(), '<bench config>')}`);
}

export async function startBaseline(cpuProfileDir?: string): Promise<GrpcTarget> {
  const port = await findFreePort();
  const child = spawnTracked('bench/baseline-server.ts', [String(port)], profilerEnv(cpuProfileDir));
  await child.waitForLine(/baseline serving/, 60_000);
  return target('baseline', port, false, child, 'node --import tsx bench/baseline-server.ts PORT');
}

/** Children still running: killed if the bench process exits early (an error, Ctrl-C). */
const running = new Set<Child>();
process.once('exit', () => {
  for (const child of running) child.process.kill('SIGKILL');
});

/** Starts a TypeScript entry point as a tracked child process. */
export function spawnTracked(file: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Child {
  const child = spawnTs(file, args, env);
  running.add(child);
  void child.process.once('exit', () => running.delete(child));
  return child;
}

function target(label: string, port: number, redis: boolean, child: Child, command: string): GrpcTarget {
  return { label, port, redis, url: `http://127.0.0.1:${port}`, command, stop: () => child.stop() };
}

/**
 * One call with exactly the bytes, path and headers the load generator will send, before the load:
 * h2load counts any HTTP 200 as a success and never reads gRPC trailers, so a wrong path or body would
 * otherwise be measured as a fast server.
 */
export async function verifyBody(target: GrpcTarget, body: Buffer, expected: readonly number[]): Promise<void> {
  const session = http2.connect(target.url);
  try {
    const { status, message, payload } = await new Promise<{ status: string; message: string; payload: Buffer }>((resolve, reject) => {
      const stream = session.request({ ':method': 'POST', ':path': SHOULD_RATE_LIMIT_PATH, 'content-type': 'application/grpc', te: 'trailers' });
      const chunks: Buffer[] = [];
      let trailers: http2.IncomingHttpHeaders = {};
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      // A gRPC error may come trailers-only: the status is then in the response headers.
      stream.on('response', (headers) => (trailers = headers));
      stream.on('trailers', (t) => (trailers = t));
      stream.once('error', reject);
      stream.on('close', () =>
        resolve({ status: String(trailers['grpc-status']), message: String(trailers['grpc-message'] ?? ''), payload: Buffer.concat(chunks) }),
      );
      stream.end(body);
    });
    if (status !== '0') throw new Error(`${target.label}: grpc-status ${status} ${decodeURIComponent(message)}`);
    const decoded = decodeRateLimitResponse(payload.subarray(5));
    if (!decoded.ok) throw new Error(`${target.label}: undecodable response: ${decoded.error}`);
    if (!expected.includes(decoded.response.overallCode)) {
      throw new Error(`${target.label} answered overall code ${decoded.response.overallCode}, expected ${expected.join(' or ')}`);
    }
  } finally {
    session.close();
  }
}

export async function startBenchRedis(): Promise<RedisProcess> {
  return startRedis({ name: 'bench-redis' });
}

/**
 * Sum of calls in `INFO commandstats` over the commands `only` matches (default: every command,
 * those run inside scripts included, except INFO itself: our own probe).
 */
export async function redisCommandCount(redis: RedisProcess, only: RegExp = /^(?!info$)/): Promise<number> {
  const text = String(await redis.command('INFO', 'commandstats'));
  let total = 0;
  for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (only.test(match[1]!)) total += Number(match[2]);
  }
  return total;
}
