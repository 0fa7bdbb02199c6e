/**
 * Reading a parent context from the gRPC metadata Envoy sends: W3C `traceparent`/`tracestate`, B3
 * (single `b3` header or the `x-b3-*` set) and W3C `baggage`. When a call carries both W3C and B3,
 * W3C wins (it is extracted last).
 */
import type * as grpc from '@grpc/grpc-js';
import { type Context, ROOT_CONTEXT, type TextMapGetter } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { B3Propagator } from '@opentelemetry/propagator-b3';

const propagator = new CompositePropagator({
  propagators: [new B3Propagator(), new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
});

/** grpc-js keeps metadata keys lower-cased, as the propagators ask for them. */
const metadataGetter: TextMapGetter<grpc.Metadata> = {
  keys: (metadata) => Object.keys(metadata.getMap()),
  get(metadata, key) {
    const values = metadata.get(key).filter((v): v is string => typeof v === 'string');
    if (values.length === 0) return undefined;
    return values.length === 1 ? values[0] : values;
  },
};

export function extractParent(metadata: grpc.Metadata): Context {
  return propagator.extract(ROOT_CONTEXT, metadata, metadataGetter);
}
