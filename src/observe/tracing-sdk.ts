/**
 * The OpenTelemetry SDK behind `Tracing`, imported only when tracing is on. Nothing is registered
 * globally (tracer provider, context manager, propagator): each sidecar owns its own, so several in
 * one process (tests, workers) never fight over the API's globals.
 */
import type * as grpc from '@grpc/grpc-js';
import { type Span, SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, type SpanExporter, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-base';
import {
  ATTR_RPC_METHOD,
  ATTR_RPC_STATUS_CODE,
  ATTR_RPC_SYSTEM_NAME,
  ATTR_SERVICE_INSTANCE_ID,
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_NAMESPACE,
} from '@opentelemetry/semantic-conventions';
import { Code, type RateLimitRequest, type RateLimitResponse } from '../rls/codec.js';
import type { DecisionObserver } from '../service/decision-observer.js';
import type { BucketStore } from '../stores/store.js';
import { extractParent } from './trace-propagation.js';
import { traceDecisions } from './traced-store.js';
import type { TracedCall, Tracing, TracingSettings } from './tracing.js';

export const SERVER_SPAN_NAME = 'envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit';

/** `rateguard.overall_code` values: the proto's enum names. */
const CODE_NAMES = new Map<number, string>(Object.entries(Code).map(([name, value]) => [value, name]));

/** Both exporters read OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, _HEADERS, _TIMEOUT... themselves. */
async function createExporter(protocol: TracingSettings['tracingExporterProtocol']): Promise<SpanExporter> {
  if (protocol === 'grpc') return new (await import('@opentelemetry/exporter-trace-otlp-grpc')).OTLPTraceExporter();
  return new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter();
}

function resourceOf(settings: TracingSettings) {
  return resourceFromAttributes({
    [ATTR_SERVICE_NAME]: settings.tracingServiceName,
    ...(settings.tracingServiceNamespace === undefined ? {} : { [ATTR_SERVICE_NAMESPACE]: settings.tracingServiceNamespace }),
    ...(settings.tracingServiceInstanceId === undefined ? {} : { [ATTR_SERVICE_INSTANCE_ID]: settings.tracingServiceInstanceId }),
  });
}

class ServerSpan implements TracedCall {
  constructor(
    private readonly span: Span,
    private readonly contexts: AsyncLocalStorageContextManager,
    private readonly parent: ReturnType<typeof extractParent>,
  ) {}

  run<T>(fn: () => T): T {
    return this.contexts.with(trace.setSpan(this.parent, this.span), fn);
  }

  end(code: grpc.status, outcome: RateLimitResponse | string): void {
    this.span.setAttribute(ATTR_RPC_STATUS_CODE, String(code));
    if (typeof outcome === 'string') this.span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
    else this.span.setAttribute('rateguard.overall_code', CODE_NAMES.get(outcome.overallCode) ?? String(outcome.overallCode));
    this.span.end();
  }
}

export async function startTracing(settings: TracingSettings): Promise<Tracing> {
  const contexts = new AsyncLocalStorageContextManager().enable();
  const provider = new BasicTracerProvider({
    resource: resourceOf(settings),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(settings.tracingSamplingRate) }),
    spanProcessors: [new BatchSpanProcessor(await createExporter(settings.tracingExporterProtocol))],
  });
  const tracer: Tracer = provider.getTracer('rateguard');
  const activeSpan = () => trace.getSpan(contexts.active());
  return {
    startCall(metadata: grpc.Metadata, request: RateLimitRequest | undefined): TracedCall {
      const parent = extractParent(metadata);
      const span = tracer.startSpan(
        SERVER_SPAN_NAME,
        { kind: SpanKind.SERVER, attributes: { [ATTR_RPC_SYSTEM_NAME]: 'grpc', [ATTR_RPC_METHOD]: SERVER_SPAN_NAME } },
        parent,
      );
      if (request !== undefined) {
        span.setAttribute('rateguard.domain', request.domain);
        span.setAttribute('rateguard.descriptor_count', request.descriptors.length);
      }
      return new ServerSpan(span, contexts, parent);
    },
    observing(observer: DecisionObserver): DecisionObserver {
      return {
        observe(outcome) {
          observer.observe(outcome);
          activeSpan()?.setAttribute('rateguard.decision_source', outcome.source);
        },
        shed(reason) {
          observer.shed?.(reason);
          activeSpan()?.setAttribute('rateguard.shed_reason', reason);
        },
        undecided: (durationSeconds) => observer.undecided?.(durationSeconds),
      };
    },
    traceStore: (redis: BucketStore) => traceDecisions(redis, tracer, contexts, settings.redisMode === 'cluster'),
    flush: () => provider.forceFlush(),
    async shutdown() {
      await provider.shutdown();
      contexts.disable();
    },
  };
}
