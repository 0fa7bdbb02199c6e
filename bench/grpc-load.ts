/**
 * A gRPC load generator over node:http2 that counts every answer by its gRPC status (OK, OVER_LIMIT
 * decoded from the response's overall_code, each error code, stream errors), unlike h2load; and can
 * send a different body per call (100k distinct clients). It must run in its own process, never in the
 * event loop of the server it loads: `spawnLoad` (bench/spawn-load.ts) starts it, or its CLI:
 *
 *   node --import tsx bench/grpc-load.ts '{"url":"http://127.0.0.1:8081","mode":"closed","connections":2,
 *     "streams":100,"seconds":5,"warmupSeconds":1,"body":{"bench":"one","keys":100000}}'
 *
 * prints one JSON line: a LoadResult (bench/grpc-load-options.ts).
 */
import http2 from 'node:http2';
import { fileURLToPath } from 'node:url';
import { answerName, type CallAnswer, callHeaders, startCall } from './grpc-call.js';
import { type LatencySummary, type LoadOptions, type LoadResult, loadBodies, type PhaseCounts } from './grpc-load-options.js';
import { countInto, type StatusCounts } from './grpc-status.js';
import { mean, percentile } from './stats.js';

interface Phase {
  readonly connections: number;
  readonly streams: number;
  /** No call is started at or after this time (performance.now()). */
  readonly deadline: number;
  /** No call is started once this many were. */
  readonly calls: number;
  readonly drainTimeoutMs: number;
}

interface PhaseRecord extends PhaseCounts {
  readonly elapsedSeconds: number;
  readonly latencies: Float64Array;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const bodies = loadBodies(options.body);
  const headers = callHeaders(options.grpcTimeout);
  const drainTimeoutMs = options.drainTimeoutMs ?? 30_000;
  const connections = options.mode === 'burst' ? 1 : options.connections;
  const streams = options.mode === 'burst' ? options.calls : options.streams;
  const sessions = await Promise.all(Array.from({ length: connections }, () => connect(options.url, streams)));
  try {
    const run = (phase: Omit<Phase, 'connections' | 'streams' | 'drainTimeoutMs'>) =>
      runPhase(sessions, bodies, headers, { ...phase, connections, streams, drainTimeoutMs });
    let warmup: PhaseRecord | undefined;
    if (options.mode === 'closed' && (options.warmupSeconds ?? 0) > 0) {
      warmup = await run({ deadline: performance.now() + options.warmupSeconds! * 1000, calls: Infinity });
    }
    const measured = await run(
      options.mode === 'burst'
        ? { deadline: Infinity, calls: options.calls }
        : { deadline: options.seconds === undefined ? Infinity : performance.now() + options.seconds * 1000, calls: options.calls ?? Infinity },
    );
    const latency = summarise(measured.latencies);
    return {
      ...counts(measured),
      elapsedSeconds: measured.elapsedSeconds,
      rps: measured.answered / measured.elapsedSeconds,
      ...(latency === undefined ? {} : { latency }),
      ...(warmup === undefined ? {} : { warmup: counts(warmup) }),
    };
  } finally {
    for (const session of sessions) session.destroy();
  }
}

/** Runs calls until the phase's deadline or call count, then waits for every outstanding answer. */
function runPhase(
  sessions: readonly http2.ClientHttp2Session[],
  bodies: readonly Buffer[],
  headers: http2.OutgoingHttpHeaders,
  phase: Phase,
): Promise<PhaseRecord> {
  if (!Number.isFinite(phase.deadline) && !Number.isFinite(phase.calls)) throw new Error('grpc-load: give seconds or calls');
  return new Promise((resolve) => {
    const started = performance.now();
    const codes: StatusCounts = {};
    const latencies: number[] = [];
    let sent = 0;
    let outstanding = 0;
    let over = false;
    let next = 0;
    let drainTimer: NodeJS.Timeout | undefined;
    let deadlineTimer: NodeJS.Timeout | undefined;
    const finish = () => {
      if (over) return;
      over = true;
      clearTimeout(deadlineTimer);
      clearTimeout(drainTimer);
      resolve({
        sent,
        answered: sent - outstanding,
        unanswered: outstanding,
        codes,
        elapsedSeconds: (performance.now() - started) / 1000,
        latencies: Float64Array.from(latencies),
      });
    };
    const mayStart = () => sent < phase.calls && performance.now() < phase.deadline;
    const drain = () => {
      if (outstanding === 0) finish();
      else drainTimer ??= setTimeout(finish, phase.drainTimeoutMs);
    };
    const call = (session: http2.ClientHttp2Session) => {
      const callStarted = performance.now();
      sent++;
      outstanding++;
      streamsOf(session).start(headers, bodies[next]!, (answer) => {
        if (over) return;
        outstanding--;
        countInto(codes, answerName(answer));
        latencies.push(performance.now() - callStarted);
        if (mayStart() && !session.closed && !session.destroyed) call(session);
        else if (!mayStart()) drain();
        else if (outstanding === 0) finish(); // every session is gone
      });
      next = (next + 1) % bodies.length;
    };
    // The deadline is also checked at every answer; the timer starts the drain when no answer comes.
    if (Number.isFinite(phase.deadline)) deadlineTimer = setTimeout(drain, Math.max(0, phase.deadline - started));
    for (let s = 0; s < phase.streams; s++) for (const session of sessions) if (mayStart()) call(session);
    if (!mayStart()) drain();
  });
}

function counts(record: PhaseRecord): PhaseCounts {
  return { sent: record.sent, answered: record.answered, unanswered: record.unanswered, codes: record.codes };
}

function summarise(latencies: Float64Array): LatencySummary | undefined {
  if (latencies.length === 0) return undefined;
  const sorted = latencies.sort();
  return {
    meanMs: mean(sorted),
    p50Ms: percentile(sorted, 50),
    p90Ms: percentile(sorted, 90),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted[sorted.length - 1]!,
  };
}

/**
 * The calls of one connection, at most the server's SETTINGS_MAX_CONCURRENT_STREAMS open at once:
 * as a gRPC client does, calls past it wait for a stream to close (their latency includes the wait).
 */
class SessionStreams {
  private open = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly session: http2.ClientHttp2Session) {}

  start(headers: http2.OutgoingHttpHeaders, body: Buffer, done: (answer: CallAnswer) => void): void {
    const limit = this.session.remoteSettings.maxConcurrentStreams ?? Infinity;
    const begin = () => {
      this.open++;
      startCall(this.session, headers, body, (answer) => {
        this.open--;
        this.waiting.shift()?.();
        done(answer);
      });
    };
    if (this.open < limit) begin();
    else this.waiting.push(begin);
  }
}

const streamsBySession = new WeakMap<http2.ClientHttp2Session, SessionStreams>();

function streamsOf(session: http2.ClientHttp2Session): SessionStreams {
  let streams = streamsBySession.get(session);
  if (streams === undefined) {
    streams = new SessionStreams(session);
    streamsBySession.set(session, streams);
  }
  return streams;
}

/** Resolves once connected and the server's SETTINGS (its stream limit) arrived. */
function connect(url: string, streams: number): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(url, { peerMaxConcurrentStreams: Math.max(1000, streams), maxSessionMemory: 64 });
    session.once('remoteSettings', () => {
      session.off('error', reject);
      session.on('error', () => {}); // its streams end as STREAM_ERROR
      resolve(session);
    });
    session.once('error', reject);
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = await runLoad(JSON.parse(process.argv[2]!) as LoadOptions);
  console.log(JSON.stringify(result));
}
