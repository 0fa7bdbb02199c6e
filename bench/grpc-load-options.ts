/**
 * What bench/grpc-load.ts is asked to do and what it answers (the JSON line its CLI prints), and the
 * request bodies it can send.
 */
import { readFileSync } from 'node:fs';
import { benchRequest, clientAddress, floodRequest, grpcFrame } from './grpc-bodies.js';
import type { StatusCounts } from './grpc-status.js';

/**
 * The request body: a file holding one pre-encoded gRPC frame (as h2load's `-d`), or a built-in bench
 * request: `one` / `five` descriptors (`keys` distinct clients, round-robin; default 1) or `flood`
 * (the 1-per-hour limit: one client, over its limit after its first call, or `keys` distinct ones,
 * bench/grpc-bodies.ts).
 */
export type LoadBody = { readonly file: string } | { readonly bench: 'one' | 'five' | 'flood'; readonly keys?: number };

interface CommonOptions {
  /** The server's origin, e.g. http://127.0.0.1:8081 (the ShouldRateLimit path is added). */
  readonly url: string;
  readonly body: LoadBody;
  /** Sent as the `grpc-timeout` header of every call, e.g. "50m" (absent: no header). */
  readonly grpcTimeout?: string;
  /** How long to wait for the answers still outstanding once no more calls are started (default 30 s). */
  readonly drainTimeoutMs?: number;
}

/**
 * Closed loop: `streams` calls in flight on each of `connections` connections, each answer starting the
 * next call, for `seconds` or until exactly `calls` calls were started; then every outstanding answer is
 * awaited. `warmupSeconds` first run the same loop unmeasured (drained before the measured phase).
 */
export interface ClosedLoopOptions extends CommonOptions {
  readonly mode: 'closed';
  readonly connections: number;
  readonly streams: number;
  readonly seconds?: number;
  readonly calls?: number;
  readonly warmupSeconds?: number;
}

/** Burst: exactly `calls` calls started at once on one connection, then every answer awaited. */
export interface BurstOptions extends CommonOptions {
  readonly mode: 'burst';
  readonly calls: number;
}

export type LoadOptions = ClosedLoopOptions | BurstOptions;

export interface LatencySummary {
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** Calls of one phase: started, and how each ended. */
export interface PhaseCounts {
  readonly sent: number;
  /** Calls that ended (with a gRPC status, or as a STREAM_ERROR): equals `sent` unless some never ended. */
  readonly answered: number;
  /** Calls still open when the drain timeout expired (0 in a sound run). */
  readonly unanswered: number;
  /** By status name: OK, OVER_LIMIT, UNAVAILABLE, ..., STREAM_ERROR, BAD_RESPONSE (bench/grpc-status.ts). */
  readonly codes: StatusCounts;
}

export interface LoadResult extends PhaseCounts {
  /** From the first call started to the last answer of the measured phase. */
  readonly elapsedSeconds: number;
  /** answered / elapsedSeconds. */
  readonly rps: number;
  /** Of every answered call of the measured phase, whatever its status; absent when none was answered. */
  readonly latency?: LatencySummary;
  /** The unmeasured warm-up phase (closed loop with warmupSeconds > 0): the server saw these calls too. */
  readonly warmup?: PhaseCounts;
}

/** The frames to send, round-robin. */
export function loadBodies(body: LoadBody): Buffer[] {
  if ('file' in body) return [readFileSync(body.file)];
  if (body.bench === 'flood') {
    return body.keys === undefined ? [grpcFrame(floodRequest())] : Array.from({ length: body.keys }, (_, i) => grpcFrame(floodRequest(clientAddress(i))));
  }
  const descriptors = body.bench === 'one' ? 1 : 5;
  return Array.from({ length: body.keys ?? 1 }, (_, i) => grpcFrame(benchRequest(descriptors, clientAddress(i))));
}
