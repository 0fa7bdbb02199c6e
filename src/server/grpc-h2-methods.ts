/**
 * What the node:http2 gRPC server (src/transport/) serves: RLS v3 ShouldRateLimit through the
 * hand-written codec, and grpc.health.v1 Check and Watch. Same answers as the grpc-js server
 * (src/server/grpc-server.ts), from the same call logic (should-rate-limit-call.ts, health-service.ts).
 */
import * as grpc from '@grpc/grpc-js';
import { decodeRateLimitRequest, encodeRateLimitResponse, SHOULD_RATE_LIMIT_PATH } from '../rls/codec.js';
import type { Method, MethodTable, ServerStreamingMethod, UnaryMethod, UnaryReply } from '../transport/methods.js';
import { decodeHealthCheckRequest, encodeHealthCheckResponse } from './health-codec.js';
import { healthAnswer, unknownServiceDetails, watchHealth } from './health-service.js';
import type { HealthState } from './health.js';
import { answerShouldRateLimit, type CallOutcome, type ShouldRateLimitDeps } from './should-rate-limit-call.js';

export const HEALTH_CHECK_PATH = '/grpc.health.v1.Health/Check';
export const HEALTH_WATCH_PATH = '/grpc.health.v1.Health/Watch';

function toReply(outcome: CallOutcome): UnaryReply {
  return outcome.ok ? { ok: true, message: encodeRateLimitResponse(outcome.response) } : outcome;
}

function shouldRateLimitMethod(deps: ShouldRateLimitDeps): UnaryMethod {
  return {
    kind: 'unary',
    handle: (message, call) =>
      answerShouldRateLimit(deps, decodeRateLimitRequest(message), {
        metadata: () => grpc.Metadata.fromHttp2Headers(call.headers),
        deadlineMs: call.deadlineMs,
      }).then(toReply),
  };
}

function healthCheckMethod(health: HealthState): UnaryMethod {
  return {
    kind: 'unary',
    handle(message) {
      const request = decodeHealthCheckRequest(message);
      if (!request.ok) return { ok: false, code: grpc.status.INVALID_ARGUMENT, details: request.error };
      const answer = healthAnswer(health, request.service);
      if (answer === 'SERVICE_UNKNOWN') return { ok: false, code: grpc.status.NOT_FOUND, details: unknownServiceDetails(request.service) };
      return { ok: true, message: encodeHealthCheckResponse(answer) };
    },
  };
}

function healthWatchMethod(health: HealthState): ServerStreamingMethod {
  return {
    kind: 'server-streaming',
    handle(message, _call, out) {
      const request = decodeHealthCheckRequest(message);
      if (!request.ok) {
        out.end(grpc.status.INVALID_ARGUMENT, request.error);
        return;
      }
      out.onEnd(watchHealth(health, request.service, (answer) => out.write(encodeHealthCheckResponse(answer))));
    },
  };
}

export function rateGuardMethods(deps: ShouldRateLimitDeps & { readonly health: HealthState }): MethodTable {
  return new Map<string, Method>([
    [SHOULD_RATE_LIMIT_PATH, shouldRateLimitMethod(deps)],
    [HEALTH_CHECK_PATH, healthCheckMethod(deps.health)],
    [HEALTH_WATCH_PATH, healthWatchMethod(deps.health)],
  ]);
}
