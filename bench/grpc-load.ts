/**
 * A small gRPC load generator over node:http2, for what h2load cannot do: a different request body
 * per call (100k distinct clients). Closed loop: `streams` calls in flight on each of `connections`
 * connections, the bodies taken round-robin. Runs in its own process, so it never shares an event
 * loop with a server; prints one JSON line of metrics.
 *
 *   node --import tsx bench/grpc-load.ts '{"url":"http://127.0.0.1:8081","connections":2,"streams":100,
 *     "seconds":5,"warmupSeconds":1,"keys":100000}'
 */
import http2 from 'node:http2';
import type { Metrics } from './results.js';
import { benchRequest, clientAddress, grpcFrame, SHOULD_RATE_LIMIT_PATH } from './grpc-bodies.js';
import { mean, percentile } from './stats.js';

export interface GrpcLoadOptions {
  readonly url: string;
  readonly connections: number;
  readonly streams: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  /** Distinct clients (1 = one hot key). */
  readonly keys: number;
}

const HEADERS = { ':method': 'POST', ':path': SHOULD_RATE_LIMIT_PATH, 'content-type': 'application/grpc', te: 'trailers' };

async function run(options: GrpcLoadOptions): Promise<Metrics> {
  const bodies = Array.from({ length: options.keys }, (_, i) => grpcFrame(benchRequest(1, clientAddress(i))));
  const sessions = await Promise.all(Array.from({ length: options.connections }, () => connect(options.url)));
  let next = 0;
  let recording = false;
  let stopped = false;
  let failed = 0;
  const latencies: number[] = [];

  const call = (session: http2.ClientHttp2Session): void => {
    if (stopped) return;
    const started = performance.now();
    const stream = session.request(HEADERS);
    let status: string | undefined;
    // A gRPC error may come trailers-only, its status in the response headers.
    stream.on('response', (headers) => (status = headers['grpc-status'] === undefined ? status : String(headers['grpc-status'])));
    stream.on('trailers', (trailers) => (status = String(trailers['grpc-status'])));
    stream.on('data', () => {});
    stream.on('close', () => {
      if (recording) {
        if (status === '0') latencies.push(performance.now() - started);
        else failed++;
      }
      call(session);
    });
    stream.end(bodies[next]!);
    next = (next + 1) % bodies.length;
  };
  for (const session of sessions) for (let s = 0; s < options.streams; s++) call(session);

  await sleep(options.warmupSeconds * 1000);
  recording = true;
  const started = performance.now();
  await sleep(options.seconds * 1000);
  recording = false;
  const elapsedS = (performance.now() - started) / 1000;
  stopped = true;
  for (const session of sessions) session.close();
  const sorted = Float64Array.from(latencies).sort();
  const counts = { rps: latencies.length / elapsedS, requests: latencies.length, failed };
  // No call finished inside the window (a badly overloaded machine): no latency to report.
  if (sorted.length === 0) return counts;
  return { ...counts, meanMs: mean(sorted), p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99) };
}

function connect(url: string): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(url, { peerMaxConcurrentStreams: 1000 });
    session.once('connect', () => resolve(session));
    session.once('error', reject);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const metrics = await run(JSON.parse(process.argv[2]!) as GrpcLoadOptions);
console.log(JSON.stringify(metrics));
