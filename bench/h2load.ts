/**
 * gRPC load with h2load (nghttp2-client): HTTP/2 prior knowledge, one pre-encoded request body per
 * run, `content-type: application/grpc`, for a duration (`-D`) or exactly N requests (`-n`). Latency
 * percentiles come from its per-request log. h2load counts every HTTP 200 as a success, gRPC errors
 * included: its `dataBytes` (response DATA, which an error answer has none of) is what it can tell of
 * them (bench/answer-check.ts). (ghz would be the other choice; this suite uses h2load because it is a
 * Debian package.)
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import type { Metrics } from './results.js';
import { mean, percentile } from './stats.js';

/** Makes sure h2load is on PATH: apt-get installs it as root on Debian/Ubuntu, otherwise throws naming the command. */
export function ensureH2load(progress: (line: string) => void): string {
  if (spawnSync('h2load', ['--version']).status === 0) return h2loadVersion();
  const isRoot = process.getuid?.() === 0;
  if (isRoot && existsSync('/usr/bin/apt-get')) {
    progress('h2load not found: apt-get install -y nghttp2-client');
    execFileSync('apt-get', ['install', '-y', 'nghttp2-client'], { stdio: 'inherit' });
    if (spawnSync('h2load', ['--version']).status === 0) return h2loadVersion();
  }
  throw new Error('h2load is not installed: run `sudo apt-get install -y nghttp2-client` (Debian/Ubuntu) and start the bench again');
}

function h2loadVersion(): string {
  return execFileSync('h2load', ['--version'], { encoding: 'utf8' }).trim().split('\n')[0]!;
}

interface H2loadLoad {
  readonly url: string;
  readonly bodyFile: string;
  readonly connections: number;
  readonly streams: number;
}

/** For how long: seconds, or exactly `calls` requests (text for a command shown with a placeholder). */
type H2loadLength = { readonly seconds: number } | { readonly calls: number | string };

export type H2loadRun = H2loadLoad &
  H2loadLength & {
    /** Where the per-request log goes (removed after parsing). */
    readonly logFile: string;
  };

export function h2loadArgs(run: H2loadLoad & H2loadLength & { readonly logFile?: string }): string[] {
  return [
    '-c',
    String(run.connections),
    '-m',
    String(run.streams),
    '-t',
    '1',
    ...('seconds' in run ? ['-D', `${Math.round(run.seconds * 1000)}ms`] : ['-n', String(run.calls)]),
    '-d',
    run.bodyFile,
    '-H',
    'content-type: application/grpc',
    '-H',
    'te: trailers',
    ...(run.logFile === undefined ? [] : ['--log-file', run.logFile]),
    run.url,
  ];
}

/**
 * Runs h2load; resolves with rps, meanMs, p50Ms, p99Ms, sent (-n), started, requests (done), failed
 * (non-2xx or errored) and dataBytes. A `-D` run ends with calls started but not done: the server still
 * answers them after h2load has gone.
 */
export function runH2load(run: H2loadRun): Promise<Metrics> {
  return new Promise((resolve, reject) => {
    const child = spawn('h2load', h2loadArgs(run), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      try {
        if (code !== 0) throw new Error(`h2load exited ${code}:\n${out}`);
        resolve({ ...parseSummary(out), ...parseLog(run.logFile) });
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      } finally {
        rmSync(run.logFile, { force: true });
      }
    });
  });
}

function parseSummary(out: string): Metrics {
  const finished = /finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(out);
  const requests = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(out);
  const traffic = /traffic: .*\((\d+)\) data/.exec(out);
  if (finished === null || requests === null || traffic === null) throw new Error(`cannot read h2load output:\n${out}`);
  const [, total, started, done, , failed, errored] = requests.map(Number) as number[];
  if (done === 0) throw new Error(`h2load completed no request:\n${out}`);
  return { rps: Number(finished[1]), sent: total!, started: started!, requests: done!, failed: failed! + errored!, dataBytes: Number(traffic[1]) };
}

/** The log holds one line per request: start (µs since epoch), HTTP status, duration (µs). */
function parseLog(file: string): Metrics {
  const lines = readFileSync(file, 'utf8').split('\n');
  const durations = new Float64Array(lines.length);
  let n = 0;
  for (const line of lines) {
    const fields = line.split('\t');
    if (fields.length >= 3) durations[n++] = Number(fields[2]) / 1000;
  }
  const sorted = durations.subarray(0, n).sort();
  return { meanMs: mean(sorted), p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99) };
}
