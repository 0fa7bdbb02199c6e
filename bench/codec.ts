/**
 * Micro-benchmark: hand-written RLS codec vs the dynamic protobufjs path of @grpc/proto-loader.
 *
 *   npx tsx bench/codec.ts            (ROUNDS=30 ITERS=20000 by default; override via env)
 *
 * Interleaved rounds (A B C A B C ... with a rotating start) so drift/GC hits every contender alike;
 * reports the median ns/op per contender and the ratio against ours.
 */
import type * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import {
  PROTO_DIR,
  decodeRateLimitRequest,
  encodeRateLimitRequest,
  encodeRateLimitResponse,
  loadProtoPackageDefinition,
  type RateLimitRequest,
  type RateLimitResponse,
} from '../src/rls/codec.js';

const ROUNDS = Number(process.env.ROUNDS ?? 30);
const ITERS = Number(process.env.ITERS ?? 20000);

// --- contenders' machinery ---
const pkgDef = loadProtoPackageDefinition();
const method = (pkgDef['envoy.service.ratelimit.v3.RateLimitService'] as grpc.ServiceDefinition).ShouldRateLimit!;

const root = new protobuf.Root();
root.resolvePath = (_o, t) => (t.startsWith('google/protobuf/') ? t : `${PROTO_DIR}${t}`);
root.loadSync('envoy/service/ratelimit/v3/rls.proto', { keepCase: true });
root.resolveAll();
const PbRequest = root.lookupType('envoy.service.ratelimit.v3.RateLimitRequest');
const PbResponse = root.lookupType('envoy.service.ratelimit.v3.RateLimitResponse');

// --- workloads ---
function request(n: number): RateLimitRequest {
  const keys = [
    [{ key: 'remote_address', value: '203.0.113.42' }],
    [
      { key: 'generic_key', value: 'api' },
      { key: 'path', value: '/v1/orders' },
    ],
    [
      { key: 'header_match', value: 'authenticated' },
      { key: 'x-api-key', value: 'k_7f3a9c2e41b0' },
    ],
    [{ key: 'destination_cluster', value: 'orders-service' }],
    [
      { key: 'remote_address', value: '203.0.113.42' },
      { key: 'method', value: 'POST' },
    ],
  ];
  return { domain: 'envoy', descriptors: keys.slice(0, n).map((entries) => ({ entries })), hitsAddend: 0 };
}
function response(n: number): RateLimitResponse {
  return {
    overallCode: 1,
    statuses: Array.from({ length: n }, (_, i) => ({
      code: 1,
      currentLimit: { requestsPerUnit: 100 * (i + 1), unit: 2, name: `limit_${i}` },
      limitRemaining: 57 + i,
      durationUntilReset: { seconds: 23, nanos: 0 },
    })),
    responseHeadersToAdd: [],
    requestHeadersToAdd: [],
  };
}
/** The same response as proto-loader (keepCase) expects it. */
function responseForProtoLoader(r: RateLimitResponse): Record<string, unknown> {
  return {
    overall_code: r.overallCode,
    statuses: r.statuses.map((s) => ({
      code: s.code,
      current_limit: s.currentLimit && { requests_per_unit: s.currentLimit.requestsPerUnit, unit: s.currentLimit.unit, name: s.currentLimit.name },
      limit_remaining: s.limitRemaining,
      duration_until_reset: s.durationUntilReset && { seconds: s.durationUntilReset.seconds }, // nanos 0 omitted (canonical)
    })),
    response_headers_to_add: [],
    request_headers_to_add: [],
  };
}

type Contender = { name: string; run: () => unknown };
let sink = 0;

function bench(title: string, contenders: Contender[]): void {
  for (const c of contenders) for (let i = 0; i < 2000; i++) c.run(); // warm-up
  const samples: number[][] = contenders.map(() => []);
  for (let r = 0; r < ROUNDS; r++) {
    for (let k = 0; k < contenders.length; k++) {
      const idx = (k + r) % contenders.length; // rotate the start: A B C, B C A, C A B, ...
      const c = contenders[idx]!;
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < ITERS; i++) {
        const v = c.run();
        if (v === undefined) sink++;
      }
      samples[idx]!.push(Number(process.hrtime.bigint() - t0) / ITERS);
    }
  }
  const med = samples.map((s) => {
    const a = [...s].sort((x, y) => x - y);
    const m = a.length >> 1;
    return a.length % 2 ? a[m]! : (a[m - 1]! + a[m]!) / 2;
  });
  const ours = med[0]!;
  console.log(`\n${title}`);
  contenders.forEach((c, i) => {
    const ratio = i === 0 ? '' : `  (${(med[i]! / ours).toFixed(2)}x ours)`;
    console.log(`  ${c.name.padEnd(44)} ${med[i]!.toFixed(0).padStart(7)} ns/op${ratio}`);
  });
}

console.log(`node ${process.version}, ${ROUNDS} interleaved rounds x ${ITERS} ops, medians`);
for (const n of [1, 5]) {
  const req = request(n);
  const bytes = encodeRateLimitRequest(req);
  const viaPb = PbRequest.toObject(PbRequest.decode(bytes)) as { descriptors: unknown[] };
  if (JSON.stringify(decodeRateLimitRequest(bytes)) !== JSON.stringify({ ok: true, request: req }) || viaPb.descriptors.length !== n) {
    throw new Error('request decodings differ');
  }
  bench(`decode RateLimitRequest, ${n} descriptor(s), ${bytes.length} bytes`, [
    { name: 'ours: decodeRateLimitRequest', run: () => decodeRateLimitRequest(bytes) },
    { name: 'proto-loader requestDeserialize (decode+toObject)', run: () => method.requestDeserialize(bytes) },
    { name: 'protobufjs Type.decode (no toObject)', run: () => PbRequest.decode(bytes) },
  ]);
}
for (const n of [1, 5]) {
  const res = response(n);
  const plObj = responseForProtoLoader(res);
  const pbMsg = PbResponse.fromObject(plObj);
  const ours = encodeRateLimitResponse(res);
  if (!ours.equals(Buffer.from(PbResponse.encode(pbMsg).finish()))) throw new Error('response encodings differ');
  bench(`encode RateLimitResponse, ${n} status(es), ${ours.length} bytes`, [
    { name: 'ours: encodeRateLimitResponse', run: () => encodeRateLimitResponse(res) },
    { name: 'proto-loader responseSerialize (fromObject+encode)', run: () => method.responseSerialize(plObj) },
    { name: 'protobufjs Type.encode(message).finish()', run: () => PbResponse.encode(pbMsg).finish() },
  ]);
}
if (sink === -1) console.log(sink);
