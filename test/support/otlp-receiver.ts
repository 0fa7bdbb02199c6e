/**
 * A real OTLP trace collector for tests: an HTTP server (`POST /v1/traces`, protobuf) or a grpc-js
 * server (`TraceService/Export`) that decodes each ExportTraceServiceRequest with protobufjs and
 * keeps the spans. Tests flush the exporter and wait here for the spans they expect.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';

const root = protobuf.loadSync(fileURLToPath(new URL('./otlp-trace.proto', import.meta.url)));
const ExportRequest = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');

type AttributeValue = string | number | boolean;

export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  /** Undefined for a root span. */
  readonly parentSpanId: string | undefined;
  readonly name: string;
  /** OTLP SpanKind: 2 server, 3 client. */
  readonly kind: number;
  readonly attributes: Record<string, AttributeValue>;
  /** OTLP StatusCode: 0 unset, 1 ok, 2 error. */
  readonly status: { readonly code: number; readonly message: string };
  readonly events: readonly string[];
  readonly resource: Record<string, AttributeValue>;
}

interface DecodedKeyValue {
  key: string;
  value?: { stringValue?: string; boolValue?: boolean; intValue?: number; doubleValue?: number };
}
interface DecodedSpan {
  traceId: Uint8Array;
  spanId: Uint8Array;
  parentSpanId?: Uint8Array;
  name: string;
  kind?: number;
  attributes?: DecodedKeyValue[];
  events?: { name: string }[];
  status?: { code?: number; message?: string };
}
interface DecodedRequest {
  resourceSpans?: { resource?: { attributes?: DecodedKeyValue[] }; scopeSpans?: { spans?: DecodedSpan[] }[] }[];
}

const hex = (bytes: Uint8Array | undefined) => (bytes === undefined || bytes.length === 0 ? undefined : Buffer.from(bytes).toString('hex'));

function attributesOf(list: readonly DecodedKeyValue[] | undefined): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const { key, value } of list ?? []) {
    const v = value?.stringValue ?? value?.boolValue ?? value?.intValue ?? value?.doubleValue;
    if (v !== undefined) out[key] = v;
  }
  return out;
}

/** Decodes one ExportTraceServiceRequest into its spans. */
export function decodeExport(body: Uint8Array): ReceivedSpan[] {
  const decoded = ExportRequest.toObject(ExportRequest.decode(body), { longs: Number }) as DecodedRequest;
  return (decoded.resourceSpans ?? []).flatMap((rs) => {
    const resource = attributesOf(rs.resource?.attributes);
    return (rs.scopeSpans ?? []).flatMap((ss) =>
      (ss.spans ?? []).map((s) => ({
        traceId: hex(s.traceId)!,
        spanId: hex(s.spanId)!,
        parentSpanId: hex(s.parentSpanId),
        name: s.name,
        kind: s.kind ?? 0,
        attributes: attributesOf(s.attributes),
        status: { code: s.status?.code ?? 0, message: s.status?.message ?? '' },
        events: (s.events ?? []).map((e) => e.name),
        resource,
      })),
    );
  });
}

export interface OtlpReceiver {
  /** What the exporter's endpoint variable is set to. */
  readonly endpoint: string;
  readonly spans: ReceivedSpan[];
  /** Export requests received (an empty export counts). */
  readonly requests: number;
  /** Resolves with the spans once at least `count` arrived (rejects after `timeoutMs`). */
  waitForSpans(count: number, timeoutMs?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

class Collected {
  readonly spans: ReceivedSpan[] = [];
  requests = 0;
  private waiters: { count: number; resolve: () => void }[] = [];

  add(body: Uint8Array): void {
    this.requests += 1;
    this.spans.push(...decodeExport(body));
    const ready = this.waiters.filter((w) => this.spans.length >= w.count);
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve();
  }

  waitForSpans(count: number, timeoutMs = 5000): Promise<ReceivedSpan[]> {
    if (this.spans.length >= count) return Promise.resolve(this.spans);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.spans.length} spans received, expected ${count}`)), timeoutMs);
      this.waiters.push({
        count,
        resolve: () => {
          clearTimeout(timer);
          resolve(this.spans);
        },
      });
    });
  }
}

function receiver(collected: Collected, endpoint: string, close: () => Promise<void>): OtlpReceiver {
  return {
    endpoint,
    spans: collected.spans,
    get requests() {
      return collected.requests;
    },
    waitForSpans: (count, timeoutMs) => collected.waitForSpans(count, timeoutMs),
    close,
  };
}

/** OTLP/HTTP protobuf; `endpoint` is the full traces URL (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT). */
export async function startOtlpHttpReceiver(): Promise<OtlpReceiver> {
  const collected = new Collected();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces' || req.headers['content-type'] !== 'application/x-protobuf') {
        res.writeHead(404).end();
        return;
      }
      collected.add(Buffer.concat(chunks));
      // An empty ExportTraceServiceResponse: full success.
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return receiver(collected, `http://127.0.0.1:${port}/v1/traces`, async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
}

/** OTLP/gRPC; `endpoint` is `http://host:port` (plaintext, as the exporter reads the scheme). */
export async function startOtlpGrpcReceiver(): Promise<OtlpReceiver> {
  const collected = new Collected();
  const server = new grpc.Server();
  const identity = (buffer: Buffer) => buffer;
  server.addService(
    {
      Export: {
        path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
        requestStream: false,
        responseStream: false,
        requestSerialize: identity,
        requestDeserialize: identity,
        responseSerialize: identity,
        responseDeserialize: identity,
      },
    },
    {
      Export(call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) {
        collected.add(call.request);
        callback(null, Buffer.alloc(0));
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  return receiver(collected, `http://127.0.0.1:${port}`, () => new Promise((resolve) => server.tryShutdown(() => resolve())));
}
