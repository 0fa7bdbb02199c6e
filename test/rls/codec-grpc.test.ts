import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import {
  RateLimitServiceClient,
  SHOULD_RATE_LIMIT_PATH,
  loadProtoPackageDefinition,
  rateLimitServiceDefinition,
  type RateLimitServiceImplementation,
  shouldRateLimit,
  type RateLimitRequest,
  type RateLimitResponse,
} from '../../src/rls/codec.js';

// A real grpc-js server using the codec-backed service definition; answers with one status per descriptor.
let server: grpc.Server;
let address: string;
const seen: RateLimitRequest[] = [];

function decide(req: RateLimitRequest): RateLimitResponse {
  seen.push(req);
  const over = req.descriptors.some((d) => d.entries.some((e) => e.value === 'blocked'));
  return {
    overallCode: over ? 2 : 1,
    statuses: req.descriptors.map((d) => ({
      code: d.entries.some((e) => e.value === 'blocked') ? 2 : 1,
      currentLimit: { requestsPerUnit: 10, unit: 2, name: d.entries.map((e) => e.key).join('.') },
      limitRemaining: over ? 0 : 9,
      durationUntilReset: { seconds: 42, nanos: 0 },
    })),
    responseHeadersToAdd: over ? [{ key: 'x-why', value: 'blocked' }] : [],
    requestHeadersToAdd: [],
    ...(over ? { rawBody: Buffer.from('nope') } : {}),
  };
}

/** The handler checks the DecodeResult itself, as src/server/grpc-server.ts does. */
const implementation: RateLimitServiceImplementation = {
  ShouldRateLimit(call, callback) {
    const decoded = call.request;
    if (!decoded.ok) callback({ code: grpc.status.INVALID_ARGUMENT, details: decoded.error });
    else if (decoded.request.domain === 'boom') callback({ code: grpc.status.UNAVAILABLE, details: 'store unavailable' });
    else callback(null, decide(decoded.request));
  },
};

beforeAll(async () => {
  server = new grpc.Server();
  server.addService(rateLimitServiceDefinition, implementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  address = `127.0.0.1:${port}`;
});
afterAll(() => {
  server.forceShutdown();
});

describe('grpc-js integration', () => {
  it('serves ShouldRateLimit to the codec-backed client', async () => {
    const client = new RateLimitServiceClient(address, grpc.credentials.createInsecure());
    try {
      const res = await shouldRateLimit(client, {
        domain: 'envoy',
        descriptors: [{ entries: [{ key: 'remote_address', value: '10.0.0.1' }] }, { entries: [{ key: 'user', value: 'blocked' }] }],
        hitsAddend: 0,
      });
      expect(res).toEqual({
        overallCode: 2,
        statuses: [
          { code: 1, currentLimit: { requestsPerUnit: 10, unit: 2, name: 'remote_address' }, limitRemaining: 0, durationUntilReset: { seconds: 42, nanos: 0 } },
          { code: 2, currentLimit: { requestsPerUnit: 10, unit: 2, name: 'user' }, limitRemaining: 0, durationUntilReset: { seconds: 42, nanos: 0 } },
        ],
        responseHeadersToAdd: [{ key: 'x-why', value: 'blocked' }],
        requestHeadersToAdd: [],
        rawBody: Buffer.from('nope'),
      });
    } finally {
      client.close();
    }
  });

  it('interoperates with a dynamic @grpc/proto-loader client (what Envoy-compatible tooling uses)', async () => {
    const pkg = grpc.loadPackageDefinition(loadProtoPackageDefinition()) as unknown as {
      envoy: { service: { ratelimit: { v3: { RateLimitService: grpc.ServiceClientConstructor } } } };
    };
    const Dyn = pkg.envoy.service.ratelimit.v3.RateLimitService;
    const client = new Dyn(address, grpc.credentials.createInsecure());
    try {
      const res = await new Promise<unknown>((resolve, reject) =>
        (client.ShouldRateLimit as (req: unknown, cb: (e: Error | null, r?: unknown) => void) => void)(
          { domain: 'envoy', descriptors: [{ entries: [{ key: 'k', value: 'v' }], hits_addend: { value: '5' } }], hits_addend: 3 },
          (e, r) => (e ? reject(e) : resolve(r)),
        ),
      );
      expect(seen.at(-1)).toEqual({ domain: 'envoy', descriptors: [{ entries: [{ key: 'k', value: 'v' }], hitsAddend: 5 }], hitsAddend: 3 });
      expect(res).toEqual({
        overall_code: 'OK',
        statuses: [
          {
            code: 'OK',
            current_limit: { requests_per_unit: 10, unit: 'MINUTE', name: 'k' },
            limit_remaining: 9,
            duration_until_reset: { seconds: '42', nanos: 0 },
            quota: null,
          },
        ],
        response_headers_to_add: [],
        request_headers_to_add: [],
        raw_body: Buffer.alloc(0),
        dynamic_metadata: null,
        quota: null,
      });
    } finally {
      client.close();
    }
  });

  it('answers INVALID_ARGUMENT with the codec message for malformed request bytes', async () => {
    const client = new grpc.Client(address, grpc.credentials.createInsecure());
    try {
      const e = await new Promise<grpc.ServiceError>((resolve, reject) =>
        client.makeUnaryRequest(
          SHOULD_RATE_LIMIT_PATH,
          (b: Buffer) => b,
          (b: Buffer) => b,
          Buffer.from('0a05616263', 'hex'), // domain: length 5 with only 3 bytes
          (err) => (err ? resolve(err) : reject(new Error('expected an error'))),
        ),
      );
      expect(e.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(e.details).toBe('invalid RateLimitRequest: domain: length 5 at offset 1 exceeds the 3 remaining bytes');
    } finally {
      client.close();
    }
  });

  it('carries a status code the handler answers with to the codec-backed client', async () => {
    const client = new RateLimitServiceClient(address, grpc.credentials.createInsecure());
    try {
      const e = await shouldRateLimit(client, { domain: 'boom', descriptors: [], hitsAddend: 0 }).then(
        () => null,
        (err: grpc.ServiceError) => err,
      );
      expect(e?.code).toBe(grpc.status.UNAVAILABLE);
      expect(e?.details).toBe('store unavailable');
    } finally {
      client.close();
    }
  });
});
