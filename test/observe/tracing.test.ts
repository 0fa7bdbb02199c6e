/**
 * Tracing end to end: a sidecar exporting to a real OTLP receiver (HTTP protobuf and gRPC), with
 * parents from W3C and B3 metadata, the sampling rate, and nothing exported when tracing is off.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { propagation } from '@opentelemetry/api';
import { ATTR_RPC_STATUS_CODE } from '@opentelemetry/semantic-conventions';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { STORE_SPAN_NAME } from '../../src/observe/traced-store.js';
import { extractParent } from '../../src/observe/trace-propagation.js';
import { SERVER_SPAN_NAME } from '../../src/observe/tracing-sdk.js';
import { Code, shouldRateLimit } from '../../src/rls/codec.js';
import { tokenBucket } from '../../src/engine/limit.js';
import { startTracing } from '../../src/observe/tracing-sdk.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import { type OtlpReceiver, type ReceivedSpan, startOtlpGrpcReceiver, startOtlpHttpReceiver } from '../support/otlp-receiver.js';
import { type RedisProcess, startRedis } from '../support/redis-server.js';
import { request, startTestSidecar, type TestSidecar } from '../support/sidecar.js';

const CONFIG =
  'domain: t\ndescriptors:\n  - key: k\n    rate_limit: { unit: hour, requests_per_unit: 1 }\n  - key: j\n    rate_limit: { unit: hour, requests_per_unit: 5 }\n';
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';
const SERVER_KIND = 2;
const CLIENT_KIND = 3;
const ERROR_STATUS = 2;

function metadata(headers: Record<string, string>): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [key, value] of Object.entries(headers)) md.set(key, value);
  return md;
}

function call(rg: TestSidecar, headers: Record<string, string>, domain = 't', value = 'a') {
  return shouldRateLimit(rg.client, request(domain, [['k', value]], [['j', value]]), { metadata: metadata(headers), deadline: Date.now() + 5000 });
}

/** Exports what has ended and waits until the receiver holds `count` spans. */
async function exported(rg: TestSidecar, receiver: OtlpReceiver, count: number): Promise<ReceivedSpan[]> {
  await rg.sidecar.tracing!.flush();
  return receiver.waitForSpans(count);
}

/** A sidecar exporting to a fresh receiver for the length of `test`. */
async function withTracedSidecar(
  startReceiver: () => Promise<OtlpReceiver>,
  flags: string[],
  test: (rg: TestSidecar, receiver: OtlpReceiver) => Promise<void>,
): Promise<void> {
  const receiver = await startReceiver();
  vi.stubEnv('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', receiver.endpoint);
  const rg = await startTestSidecar({ 't.yaml': CONFIG }, flags);
  try {
    await test(rg, receiver);
  } finally {
    await rg.stop();
    await receiver.close();
  }
}

const byName = (spans: readonly ReceivedSpan[], name: string) => spans.filter((s) => s.name === name);

let redis: RedisProcess;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});
afterEach(() => {
  vi.unstubAllEnvs();
});

describe('tracing over OTLP http/protobuf', () => {
  let receiver: OtlpReceiver;
  let rg: TestSidecar;
  beforeAll(async () => {
    receiver = await startOtlpHttpReceiver();
    vi.stubEnv('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', receiver.endpoint);
    rg = await startTestSidecar({ 't.yaml': CONFIG }, [
      '--redis',
      redis.url,
      '--redis-timeout',
      '1000',
      '--tracing',
      '--tracing-service-namespace',
      'edge',
      '--tracing-service-instance-id',
      'pod-7',
    ]);
  });
  afterAll(async () => {
    await rg.stop();
    await receiver.close();
  });

  it('a traceparent call gives a server span under the caller and a Redis span under it, with the attributes', async () => {
    receiver.spans.length = 0;
    const response = await call(rg, { traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` }, 't', 'w3c');
    expect(response.overallCode).toBe(Code.OK);
    const spans = await exported(rg, receiver, 2);
    expect(spans).toHaveLength(2);
    const [server] = byName(spans, SERVER_SPAN_NAME);
    const [store] = byName(spans, STORE_SPAN_NAME);
    expect(server).toMatchObject({ traceId: TRACE_ID, parentSpanId: PARENT_ID, kind: SERVER_KIND, status: { code: 0, message: '' } });
    expect(server!.attributes).toEqual({
      'rpc.system.name': 'grpc',
      'rpc.method': SERVER_SPAN_NAME,
      [ATTR_RPC_STATUS_CODE]: '0',
      'rateguard.domain': 't',
      'rateguard.descriptor_count': 2,
      'rateguard.overall_code': 'OK',
      'rateguard.decision_source': 'store',
    });
    expect(store).toMatchObject({ traceId: TRACE_ID, parentSpanId: server!.spanId, kind: CLIENT_KIND });
    expect(store!.attributes).toEqual({ 'db.system.name': 'redis', 'rateguard.redis.key_count': 2 });
    expect(server!.resource).toMatchObject({ 'service.name': 'RateLimit', 'service.namespace': 'edge', 'service.instance.id': 'pod-7' });
  });

  it('takes the parent from a single b3 header and from the x-b3-* set', async () => {
    receiver.spans.length = 0;
    const single = 'a1a2a3a4a5a6a7a8b1b2b3b4b5b6b7b8';
    const multi = 'c1c2c3c4c5c6c7c8d1d2d3d4d5d6d7d8';
    await call(rg, { b3: `${single}-1111111111111111-1` }, 't', 'b3-single');
    await call(rg, { 'x-b3-traceid': multi, 'x-b3-spanid': '2222222222222222', 'x-b3-sampled': '1' }, 't', 'b3-multi');
    const servers = byName(await exported(rg, receiver, 4), SERVER_SPAN_NAME);
    expect(servers.map((s) => [s.traceId, s.parentSpanId])).toEqual([
      [single, '1111111111111111'],
      [multi, '2222222222222222'],
    ]);
  });

  it('an over-limit answer says so; an unsampled parent is followed (nothing exported for it)', async () => {
    receiver.spans.length = 0;
    await call(rg, { traceparent: `00-${TRACE_ID}-${PARENT_ID}-00` }, 't', 'unsampled');
    expect((await call(rg, {}, 't', 'limited')).overallCode).toBe(Code.OK);
    expect((await call(rg, {}, 't', 'limited')).overallCode).toBe(Code.OVER_LIMIT);
    const servers = byName(await exported(rg, receiver, 4), SERVER_SPAN_NAME);
    expect(servers.map((s) => [s.parentSpanId, s.attributes['rateguard.overall_code']])).toEqual([
      [undefined, 'OK'],
      [undefined, 'OVER_LIMIT'],
    ]);
    expect(receiver.spans).toHaveLength(4);
  });

  it('records a refused call as an error span', async () => {
    receiver.spans.length = 0;
    const error = await shouldRateLimit(rg.client, { domain: '', descriptors: [], hitsAddend: 0 }).catch((e: grpc.ServiceError) => e);
    expect((error as grpc.ServiceError).code).toBe(grpc.status.INVALID_ARGUMENT);
    const [server] = await exported(rg, receiver, 1);
    expect(server).toMatchObject({ name: SERVER_SPAN_NAME, status: { code: ERROR_STATUS, message: (error as grpc.ServiceError).details } });
    expect(server!.attributes[ATTR_RPC_STATUS_CODE]).toBe(String(grpc.status.INVALID_ARGUMENT));
  });
});

describe('a failing Redis', () => {
  it('ends the Redis span with the error and the server span names the failure mode', async () => {
    const own = await startRedis();
    const flags = ['--redis', own.url, '--redis-timeout', '200', '--failure-mode', 'allow', '--tracing'];
    await withTracedSidecar(startOtlpHttpReceiver, flags, async (rg, receiver) => {
      await own.kill9();
      expect((await call(rg, {}, 't', 'down')).overallCode).toBe(Code.OK);
      const spans = await exported(rg, receiver, 2);
      const [server] = byName(spans, SERVER_SPAN_NAME);
      const [store] = byName(spans, STORE_SPAN_NAME);
      expect(server!.attributes['rateguard.decision_source']).toBe('failure_mode');
      expect(store).toMatchObject({ parentSpanId: server!.spanId, status: { code: ERROR_STATUS }, events: ['exception'] });
    }).finally(() => own.stop());
  });
});

describe('Redis Cluster', () => {
  it('records how many slot groups a plan was decided in', async () => {
    const receiver = await startOtlpHttpReceiver();
    vi.stubEnv('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', receiver.endpoint);
    const tracing = await startTracing({
      tracingEnabled: true,
      tracingExporterProtocol: 'http',
      tracingServiceName: 'RateLimit',
      tracingServiceNamespace: undefined,
      tracingServiceInstanceId: undefined,
      tracingSamplingRate: 1,
      redisMode: 'cluster',
    });
    try {
      const limit = tokenBucket({ capacity: 5, refillTokens: 5, periodUs: 1_000_000 });
      // {a} and {b} hash to different slots; the two {a} keys share one.
      const buckets = ['rg:{a}1', 'rg:{a}2', 'rg:{b}1'].map((key) => ({ key, limit, cost: 1, shadow: false }));
      const traced = tracing.startCall(new grpc.Metadata(), undefined);
      await traced.run(() => tracing.traceStore(new MemoryStore()).decide({ mode: 'all_or_nothing', buckets }));
      traced.end(grpc.status.OK, { overallCode: Code.OK, statuses: [], responseHeadersToAdd: [], requestHeadersToAdd: [] });
      await tracing.flush();
      const [store] = byName(await receiver.waitForSpans(2), STORE_SPAN_NAME);
      expect(store!.attributes).toMatchObject({ 'rateguard.redis.key_count': 3, 'rateguard.redis.slot_groups': 2 });
    } finally {
      await tracing.shutdown();
      await receiver.close();
    }
  });
});

describe('sampling', () => {
  it('at rate 0 a call without a parent is not traced, one with a sampled parent is', async () => {
    await withTracedSidecar(startOtlpHttpReceiver, ['--tracing', '--tracing-sampling-rate', '0'], async (rg, receiver) => {
      for (let i = 0; i < 20; i++) await call(rg, {}, 't', `root-${i}`);
      await call(rg, { traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` }, 't', 'child');
      // The memory store: a server span only.
      const spans = await exported(rg, receiver, 1);
      expect(spans.map((s) => [s.name, s.traceId, s.parentSpanId])).toEqual([[SERVER_SPAN_NAME, TRACE_ID, PARENT_ID]]);
    });
  });
});

describe('tracing over OTLP gRPC', () => {
  it('exports the same spans to a gRPC collector', async () => {
    const flags = ['--redis', redis.url, '--redis-timeout', '1000', '--tracing', '--tracing-exporter-protocol', 'grpc'];
    await withTracedSidecar(startOtlpGrpcReceiver, flags, async (rg, receiver) => {
      await call(rg, { traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` }, 't', 'grpc');
      const spans = await exported(rg, receiver, 2);
      const [server] = byName(spans, SERVER_SPAN_NAME);
      expect(server).toMatchObject({ traceId: TRACE_ID, parentSpanId: PARENT_ID });
      expect(byName(spans, STORE_SPAN_NAME).map((s) => s.parentSpanId)).toEqual([server!.spanId]);
    });
  });
});

describe('tracing off (the default)', () => {
  it('starts no tracer and exports nothing', async () => {
    await withTracedSidecar(startOtlpHttpReceiver, [], async (rg, receiver) => {
      expect(rg.sidecar.tracing).toBeUndefined();
      await call(rg, { traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` });
      // Draining is when a tracer would export what is left.
      await rg.stop();
      expect(receiver.requests).toBe(0);
    });
  });
});

/** The @opentelemetry modules a sidecar process with `flags` loads while answering one call. */
async function openTelemetryModulesLoaded(flags: string[], env: Record<string, string>): Promise<string[]> {
  const support = (file: string) => fileURLToPath(new URL(`../support/${file}`, import.meta.url));
  const { stdout, stderr } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', '--import', support('report-opentelemetry-loads.mjs'), support('one-call-sidecar.ts'), ...flags],
    { env: { ...process.env, ...env } },
  );
  expect(stdout.trim()).toBe(`answered ${Code.OK}`);
  return stderr.split('\n').filter((line) => line.startsWith('opentelemetry module '));
}

describe('the cost of tracing off', () => {
  it('a sidecar with tracing off loads no OpenTelemetry module; with tracing on it does', async () => {
    const receiver = await startOtlpHttpReceiver();
    try {
      const env = { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.endpoint };
      expect(await openTelemetryModulesLoaded([], env)).toEqual([]);
      expect(receiver.requests).toBe(0);
      expect((await openTelemetryModulesLoaded(['--tracing'], env)).length).toBeGreaterThan(0);
      expect(receiver.spans.map((s) => s.name)).toEqual([SERVER_SPAN_NAME]);
    } finally {
      await receiver.close();
    }
  }, 30_000);
});

describe('propagation', () => {
  it('reads W3C baggage from the metadata, next to the trace context', () => {
    const context = extractParent(metadata({ traceparent: `00-${TRACE_ID}-${PARENT_ID}-01`, baggage: 'tenant=acme,region=eu-west-1' }));
    const baggage = propagation.getBaggage(context);
    expect(baggage?.getAllEntries().map(([key, entry]) => [key, entry.value])).toEqual([
      ['tenant', 'acme'],
      ['region', 'eu-west-1'],
    ]);
  });
});
