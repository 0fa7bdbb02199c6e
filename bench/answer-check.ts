/**
 * Whether a gRPC load run measured what it claims: every bench scenario runs without injected faults,
 * so a run with any error answer, any answer the failure mode gave, or independent counts that
 * disagree (tolerance 0) is invalid, and its figures go into no median.
 *
 * - h2load runs: h2load counts HTTP 200 as success and never reads grpc-status, so the answers by
 *   status come from the server's own counters (bench/server-counts.ts), and two independent counts
 *   check them: h2load's `done` must equal the server's total, and the response DATA bytes (an error
 *   carries none) must fall in the range the server's OK and OVER_LIMIT counts give with the probed
 *   answer sizes (bench/response-size.ts).
 * - bench/grpc-load.ts runs: the generator reads every status and decodes every OK answer itself; its
 *   counts by status (warm-up included) must equal the server's, and every call sent must be answered.
 */
import type { LoadResult } from './grpc-load-options.js';
import type { SizeRanges } from './response-size.js';
import type { ServerCounts } from './server-counts.js';
import { addCounts, BAD_RESPONSE, countDifferences, decisionsOf, describeCounts, errorsOf, STREAM_ERROR, type StatusCounts, totalOf } from './grpc-status.js';

export interface CheckedAnswers {
  /** The run's answers by status name. */
  readonly codes: StatusCounts;
  readonly invalid?: string;
}

/** What h2load reported of a run of exactly `sent` requests. */
export interface H2loadCounts {
  readonly sent: number;
  readonly done: number;
  /** failed + errored: non-2xx answers and stream errors. */
  readonly failed: number;
  /** Response DATA bytes (its `traffic:` line). */
  readonly dataBytes: number;
}

export function checkH2loadRun(h2: H2loadCounts, server: ServerCounts, sizes: SizeRanges): CheckedAnswers {
  const codes = h2.failed === 0 ? server.codes : addCounts(server.codes, { [STREAM_ERROR]: h2.failed });
  const mismatches: string[] = [];
  if (h2.done !== h2.sent) mismatches.push(`h2load finished ${h2.done} of ${h2.sent} requests`);
  const answered = totalOf(server.codes);
  if (answered !== h2.done) mismatches.push(`the server counted ${answered} answers, h2load ${h2.done}`);
  const bodies = bodyBytesRange(server.codes, sizes);
  if (typeof bodies === 'string') mismatches.push(bodies);
  else if (h2.dataBytes < bodies[0] || h2.dataBytes > bodies[1]) {
    mismatches.push(
      `h2load received ${h2.dataBytes} DATA bytes; ${decisionsOf(server.codes)} answers with a body (the server's OK + OVER_LIMIT) make ${bodies[0]}–${bodies[1]}`,
    );
  }
  return judged(codes, server.failureMode, mismatches);
}

export function checkGeneratorRun(result: LoadResult, server: ServerCounts): CheckedAnswers {
  const mismatches: string[] = [];
  const phases = result.warmup === undefined ? [result] : [result.warmup, result];
  const unanswered = phases.reduce((n, p) => n + p.unanswered, 0);
  if (unanswered > 0) mismatches.push(`${unanswered} calls sent were never answered`);
  // The server knows nothing of the generator's own categories; they are error answers anyway.
  const { [STREAM_ERROR]: _reset, [BAD_RESPONSE]: _undecodable, ...seen } = addCounts(...phases.map((p) => p.codes));
  const differences = countDifferences(seen, server.codes);
  if (differences.length > 0) mismatches.push(`generator vs server counts (warm-up included): ${differences.join(', ')}`);
  return judged(result.codes, server.failureMode, mismatches);
}

/** [fewest, most] DATA bytes the answers with a body make, or why that cannot be known. */
function bodyBytesRange(codes: StatusCounts, sizes: SizeRanges): readonly [number, number] | string {
  let low = 0;
  let high = 0;
  for (const name of ['OK', 'OVER_LIMIT']) {
    const n = codes[name] ?? 0;
    if (n === 0) continue;
    const range = sizes[name];
    if (range === undefined) return `${n} ${name} answers, but the probe call before the run gave no ${name} answer to size them`;
    low += n * range[0];
    high += n * range[1];
  }
  return [low, high];
}

function judged(codes: StatusCounts, failureMode: number, mismatches: readonly string[]): CheckedAnswers {
  const reasons: string[] = [];
  const errors = errorsOf(codes);
  if (totalOf(errors) > 0) reasons.push(`${totalOf(errors)} error answers (${describeCounts(errors)}) in a scenario without injected faults`);
  if (failureMode > 0) reasons.push(`${failureMode} answers given by the failure mode (store unavailable)`);
  if (mismatches.length > 0) reasons.push(`independent counts disagree: ${mismatches.join('; ')}`);
  return reasons.length === 0 ? { codes } : { codes, invalid: reasons.join('; ') };
}
