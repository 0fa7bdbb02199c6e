/**
 * RLS v3 codec: the public entry point (docs/wire.md).
 * - codec-types.ts:           plain-object shapes and enum tables
 * - codec-request-decode.ts:  RateLimitRequest decoding + semantic validation (server hot path)
 * - codec-response-encode.ts: RateLimitResponse encoding (server hot path)
 * - codec-request-encode.ts / codec-response-decode.ts: the client halves
 * - codec-wire-reader.ts / codec-wire-writer.ts / codec-struct.ts: wire primitives, Struct (internal)
 * - codec-json.ts:            proto3 JSON mapping (POST /json, CLI)
 * - codec-grpc.ts:            @grpc/grpc-js service/client definitions using the codec
 */
export * from './codec-types.js';
export { decodeRateLimitRequest, validateRateLimitRequest } from './codec-request-decode.js';
export { encodeRateLimitResponse } from './codec-response-encode.js';
export { encodeRateLimitRequest } from './codec-request-encode.js';
export { decodeRateLimitResponse } from './codec-response-decode.js';
export * from './codec-json.js';
export * from './codec-grpc.js';
