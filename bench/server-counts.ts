/**
 * A server's own count of the answers it gave, from its Prometheus endpoint (the sidecar's /metrics on
 * its HTTP port; the baseline's tiny one, bench/baseline-server.ts):
 * - `grpc_server_handled_total{grpc_code}`: ShouldRateLimit calls by gRPC status code
 *   (src/observe/grpc-metrics.ts);
 * - `rateguard_requests_total{result="over_limit"}`: the OK answers whose overall_code is OVER_LIMIT
 *   (src/observe/decision-metrics.ts);
 * - `rateguard_failure_mode_decisions_total`: answers the failure mode gave without the store.
 * With `--workers N` each worker counts its own: the cluster hands connections to workers round-robin,
 * so N scrapes on fresh connections, one after the other, read each worker once (the sum is checked
 * against the load generator's count, so a scrape that missed a worker shows as a mismatch).
 */
import http from 'node:http';
import { type StatusCounts, countInto, totalOf } from './grpc-status.js';

export interface CountsSource {
  /** http://127.0.0.1:PORT/metrics */
  readonly metricsUrl: string;
  /** Processes behind that port (workers); one scrape each. */
  readonly instances: number;
}

export interface ServerCounts {
  /** By status name: OK (allowed), OVER_LIMIT, and each gRPC error code the server answered. */
  readonly codes: StatusCounts;
  /** Answers the failure mode decided, the store being unavailable (counted inside OK or OVER_LIMIT too). */
  readonly failureMode: number;
}

const SAMPLE = /^(grpc_server_handled_total|rateguard_requests_total|rateguard_failure_mode_decisions_total)\{([^}]*)\} (\S+)$/gm;

export function parseServerCounts(text: string): ServerCounts {
  const handled: StatusCounts = {};
  let overLimit = 0;
  let failureMode = 0;
  for (const [, name, labels, value] of text.matchAll(SAMPLE)) {
    const n = Number(value);
    if (name === 'grpc_server_handled_total' && /grpc_method="ShouldRateLimit"/.test(labels!))
      countInto(handled, /grpc_code="([^"]*)"/.exec(labels!)?.[1] ?? '?', n);
    else if (name === 'rateguard_requests_total' && /result="over_limit"/.test(labels!)) overLimit += n;
    else if (name === 'rateguard_failure_mode_decisions_total') failureMode += n;
  }
  const codes: StatusCounts = { ...handled, OK: (handled.OK ?? 0) - overLimit };
  if (overLimit !== 0) codes.OVER_LIMIT = overLimit;
  return { codes, failureMode };
}

export async function scrapeServerCounts(source: CountsSource): Promise<ServerCounts> {
  let sum: ServerCounts = { codes: {}, failureMode: 0 };
  for (let i = 0; i < source.instances; i++) sum = combine(sum, parseServerCounts(await fetchFresh(source.metricsUrl)), 1);
  return sum;
}

/**
 * Scrapes until two scrapes 50 ms apart agree: calls of a load that just ended (the unmeasured warm-up
 * stops with calls in flight) must not be counted in the next run.
 */
export async function settledServerCounts(source: CountsSource): Promise<ServerCounts> {
  let last = await scrapeServerCounts(source);
  for (let attempt = 0; attempt < 100; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const now = await scrapeServerCounts(source);
    if (JSON.stringify(now) === JSON.stringify(last)) return now;
    last = now;
  }
  throw new Error(`${source.metricsUrl}: the server's counters did not settle within 5 s of the load ending`);
}

/**
 * Waits until the server has answered `total` calls in all (the calls an h2load `-D` run left in flight
 * when it ended), for at most `timeoutMs`: they must not land in the next measured run. Resolves with
 * the total reached (less than `total` on a timeout: the next run's check then shows the difference).
 */
export async function waitForTotal(source: CountsSource, total: number, timeoutMs: number): Promise<number> {
  const until = performance.now() + timeoutMs;
  for (;;) {
    const reached = totalOf((await scrapeServerCounts(source)).codes);
    if (reached >= total || performance.now() > until) return reached;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** after − before. */
export function countsDelta(before: ServerCounts, after: ServerCounts): ServerCounts {
  const delta = combine(after, before, -1);
  return { codes: Object.fromEntries(Object.entries(delta.codes).filter(([, n]) => n !== 0)), failureMode: delta.failureMode };
}

function combine(a: ServerCounts, b: ServerCounts, sign: 1 | -1): ServerCounts {
  const codes: StatusCounts = { ...a.codes };
  for (const [name, n] of Object.entries(b.codes)) countInto(codes, name, sign * n);
  return { codes, failureMode: a.failureMode + sign * b.failureMode };
}

/** GET on a connection of its own (no keep-alive), so that each scrape is a new connection for the cluster to hand out. */
function fetchFresh(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${url}: HTTP ${res.statusCode}`))));
    });
    request.once('error', reject);
  });
}
