/**
 * One ShouldRateLimit call, whichever gRPC server carries it (grpc-js or node:http2): the decoded
 * request to the service, its result to a status code (here and nowhere else), the server span when
 * tracing is on, and DEADLINE_EXCEEDED when the caller stopped waiting before the answer was ready.
 */
import * as grpc from '@grpc/grpc-js';
import type { Tracing } from '../observe/tracing.js';
import type { DecodeResult, RateLimitResponse } from '../rls/codec.js';
import type { RateLimitService, ServiceFailure } from '../service/rate-limit-service.js';

export interface ShouldRateLimitDeps {
  readonly service: RateLimitService;
  /** A server span per call; absent when tracing is off (then nothing is paid per call). */
  readonly tracing?: Tracing | undefined;
}

export interface CallSource {
  /** The call's metadata, asked for only when tracing is on (the trace headers). */
  metadata(): grpc.Metadata;
  /** Epoch ms, or undefined without a deadline. */
  readonly deadlineMs: number | undefined;
}

export type CallOutcome =
  | { readonly ok: true; readonly response: RateLimitResponse }
  | { readonly ok: false; readonly code: grpc.status; readonly details: string };

/** RESOURCE_EXHAUSTED for a shed call: distinct from UNAVAILABLE (Redis failed), see docs/redis.md#overload. */
const FAILURE_CODES: Record<ServiceFailure['kind'], grpc.status> = {
  invalid_argument: grpc.status.INVALID_ARGUMENT,
  unavailable: grpc.status.UNAVAILABLE,
  overloaded: grpc.status.RESOURCE_EXHAUSTED,
  deadline_exceeded: grpc.status.DEADLINE_EXCEEDED,
};

export function answerShouldRateLimit(deps: ShouldRateLimitDeps, decoded: DecodeResult, call: CallSource): Promise<CallOutcome> {
  const traced = deps.tracing?.startCall(call.metadata(), decoded.ok ? decoded.request : undefined);
  const failed = (code: grpc.status, details: string): CallOutcome => {
    traced?.end(code, details);
    return { ok: false, code, details };
  };
  if (!decoded.ok) return Promise.resolve(failed(grpc.status.INVALID_ARGUMENT, decoded.error));
  const { deadlineMs } = call;
  const context = deadlineMs === undefined ? {} : { deadlineMs };
  const decided =
    traced === undefined ? deps.service.shouldRateLimit(decoded.request, context) : traced.run(() => deps.service.shouldRateLimit(decoded.request, context));
  return decided.then(
    (result): CallOutcome => {
      // The caller stopped waiting (grpc-js may have answered DEADLINE_EXCEEDED already): say and count that.
      if (deadlineMs !== undefined && Date.now() >= deadlineMs) return failed(grpc.status.DEADLINE_EXCEEDED, 'Deadline exceeded');
      if (!result.ok) return failed(FAILURE_CODES[result.kind], result.message);
      traced?.end(grpc.status.OK, result.response);
      return { ok: true, response: result.response };
    },
    (error: unknown) => failed(grpc.status.INTERNAL, error instanceof Error ? error.message : String(error)),
  );
}
