/**
 * RLS v3 codec: the public entry point (docs/wire.md).
 * - codec-types.ts: plain-object shapes and enum tables
 * - codec-wire.ts:  hand-written protobuf encode/decode (hot path)
 * - codec-json.ts:  proto3 JSON mapping (POST /json, CLI)
 * - codec-grpc.ts:  @grpc/grpc-js service/client definitions using the codec
 */
export * from './codec-types.js';
export * from './codec-wire.js';
export * from './codec-json.js';
export * from './codec-grpc.js';
