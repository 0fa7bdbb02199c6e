/**
 * @grpc/grpc-js integration of the hand-written RLS codec (docs/wire.md).
 *
 * Server: `server.addService(rateLimitServiceDefinition, { ShouldRateLimit: handler })`. The handler
 * receives `call.request` as a DecodeResult — malformed requests arrive as `{ ok: false, error }` so
 * the handler can answer INVALID_ARGUMENT (grpc-js would answer INTERNAL if requestDeserialize threw).
 * The handler must check `call.request.ok` itself (src/server/grpc-server.ts does).
 *
 * Client: `new RateLimitServiceClient(address, credentials)` + `shouldRateLimit(client, request)`.
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { DecodeResult, RateLimitRequest, RateLimitResponse } from './codec-types.js';
import { decodeRateLimitRequest } from './codec-request-decode.js';
import { encodeRateLimitRequest } from './codec-request-encode.js';
import { decodeRateLimitResponse } from './codec-response-decode.js';
import { encodeRateLimitResponse } from './codec-response-encode.js';

export const RATE_LIMIT_SERVICE_NAME = 'envoy.service.ratelimit.v3.RateLimitService';
export const SHOULD_RATE_LIMIT_PATH = '/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit';

/** Directory holding the trimmed .proto files (works from src/rls and dist/rls). */
export const PROTO_DIR = fileURLToPath(new URL('../../proto/', import.meta.url));

/** Options used with @grpc/proto-loader for the dynamic (reference) path, e.g. the health service. */
export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

/** Loads rls.proto and grpc/health/v1/health.proto with @grpc/proto-loader (well-known types come bundled). */
export function loadProtoPackageDefinition(options: protoLoader.Options = PROTO_LOADER_OPTIONS): protoLoader.PackageDefinition {
  return protoLoader.loadSync(['envoy/service/ratelimit/v3/rls.proto', 'grpc/health/v1/health.proto'], {
    ...options,
    includeDirs: [PROTO_DIR, ...(options.includeDirs ?? []).filter((d) => d !== PROTO_DIR)],
  });
}

/** Implementation type for `server.addService(rateLimitServiceDefinition, impl)`. */
export interface RateLimitServiceImplementation extends grpc.UntypedServiceImplementation {
  ShouldRateLimit: grpc.handleUnaryCall<DecodeResult, RateLimitResponse>;
}

/** Server-side service definition: requests decode to a DecodeResult (never throws), responses use the fast encoder. */
export const rateLimitServiceDefinition: grpc.ServiceDefinition<RateLimitServiceImplementation> = {
  ShouldRateLimit: {
    path: SHOULD_RATE_LIMIT_PATH,
    requestStream: false,
    responseStream: false,
    requestDeserialize: (bytes: Buffer): DecodeResult => decodeRateLimitRequest(bytes),
    responseSerialize: (res: RateLimitResponse): Buffer => encodeRateLimitResponse(res),
    // Client half (unused by a server), kept symmetric so the object is a full MethodDefinition.
    requestSerialize: (req: DecodeResult): Buffer => {
      if (!req.ok) throw new Error(req.error);
      return encodeRateLimitRequest(req.request);
    },
    responseDeserialize: (bytes: Buffer): RateLimitResponse => {
      const r = decodeRateLimitResponse(bytes);
      if (!r.ok) throw new Error(r.error);
      return r.response;
    },
    originalName: 'shouldRateLimit',
  } satisfies grpc.MethodDefinition<DecodeResult, RateLimitResponse>,
};

/** Client-side definition for grpc.makeGenericClientConstructor (CLI `check`, tests). Decode errors throw (grpc-js reports INTERNAL). */
export const rateLimitClientDefinition = {
  ShouldRateLimit: {
    path: SHOULD_RATE_LIMIT_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: (req: RateLimitRequest): Buffer => encodeRateLimitRequest(req),
    responseDeserialize: (bytes: Buffer): RateLimitResponse => {
      const r = decodeRateLimitResponse(bytes);
      if (!r.ok) throw new Error(r.error);
      return r.response;
    },
    requestDeserialize: (bytes: Buffer): RateLimitRequest => {
      const r = decodeRateLimitRequest(bytes);
      if (!r.ok) throw new Error(r.error);
      return r.request;
    },
    responseSerialize: (res: RateLimitResponse): Buffer => encodeRateLimitResponse(res),
    originalName: 'shouldRateLimit',
  } satisfies grpc.MethodDefinition<RateLimitRequest, RateLimitResponse>,
} as const;

/** Generic client class for the RLS service (methods: ShouldRateLimit / shouldRateLimit). */
export const RateLimitServiceClient: grpc.ServiceClientConstructor = grpc.makeGenericClientConstructor(rateLimitClientDefinition, RATE_LIMIT_SERVICE_NAME);

/** Typed promise wrapper around a RateLimitServiceClient call. Rejects with the grpc.ServiceError. */
export function shouldRateLimit(
  client: grpc.Client,
  request: RateLimitRequest,
  options: { deadline?: grpc.Deadline; metadata?: grpc.Metadata } = {},
): Promise<RateLimitResponse> {
  return new Promise((resolve, reject) => {
    const callOptions: grpc.CallOptions = {};
    if (options.deadline !== undefined) callOptions.deadline = options.deadline;
    client.makeUnaryRequest<RateLimitRequest, RateLimitResponse>(
      SHOULD_RATE_LIMIT_PATH,
      rateLimitClientDefinition.ShouldRateLimit.requestSerialize,
      rateLimitClientDefinition.ShouldRateLimit.responseDeserialize,
      request,
      options.metadata ?? new grpc.Metadata(),
      callOptions,
      (err, value) => {
        if (err) reject(err);
        else if (value === undefined) reject(new Error('ShouldRateLimit: empty response'));
        else resolve(value);
      },
    );
  });
}
