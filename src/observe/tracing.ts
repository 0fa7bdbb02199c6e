/**
 * Tracing's seam: what the gRPC server, the service's observer and the store stack call when
 * tracing is on. The OpenTelemetry SDK lives in tracing-sdk.ts and is imported only when
 * `TRACING_ENABLED`, so with tracing off nothing of it is loaded and the handler pays one check of
 * an undefined option per call.
 */
import type * as grpc from '@grpc/grpc-js';
import type { RateLimitRequest, RateLimitResponse } from '../rls/codec.js';
import type { DecisionObserver } from '../service/decision-observer.js';
import type { RedisMode } from '../stores/redis/connection.js';
import type { BucketStore } from '../stores/store.js';

export type TracingProtocol = 'http' | 'grpc';

/** The settings tracing reads (a subset of the sidecar's Settings, named here so observe/ sits below settings/). */
export interface TracingSettings {
  readonly tracingEnabled: boolean;
  readonly tracingExporterProtocol: TracingProtocol;
  readonly tracingServiceName: string;
  readonly tracingServiceNamespace: string | undefined;
  readonly tracingServiceInstanceId: string | undefined;
  readonly tracingSamplingRate: number;
  readonly redisMode: RedisMode;
}

/** The server span of one ShouldRateLimit call. */
export interface TracedCall {
  /** Runs `fn` with this call's span active: store spans started inside become its children. */
  run<T>(fn: () => T): T;
  /** Ends the span with the call's gRPC status, and the response when there is one. */
  end(code: grpc.status, outcome: RateLimitResponse | string): void;
}

export interface Tracing {
  /** Starts a call's server span, parented by the trace headers in its metadata (W3C, B3). */
  startCall(metadata: grpc.Metadata, request: RateLimitRequest | undefined): TracedCall;
  /** `observer`, plus the decision's source (and shedding) recorded on the call's span. */
  observing(observer: DecisionObserver): DecisionObserver;
  /** `redis`, with a child span per decide call. */
  traceStore(redis: BucketStore): BucketStore;
  /** Exports every ended span now. */
  flush(): Promise<void>;
  /** Exports what is left and stops. */
  shutdown(): Promise<void>;
}

export async function loadTracing(settings: TracingSettings): Promise<Tracing | undefined> {
  if (!settings.tracingEnabled) return undefined;
  const { startTracing } = await import('./tracing-sdk.js');
  return startTracing(settings);
}
