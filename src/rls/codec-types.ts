/**
 * Plain-object shapes produced/consumed by the RLS v3 codec (src/rls/codec*.ts).
 * Field numbers and wire types: docs/wire.md and proto/envoy/service/ratelimit/v3/rls.proto.
 *
 * Conventions:
 * - Optional sub-messages are absent keys (never `undefined` values) when not on the wire.
 * - Scalars carry their proto3 default (0 / '') when not on the wire.
 * - Enums are numbers (proto3 enums are open: unknown values are kept as numbers).
 */

/** RateLimitResponse.Code */
export const Code = { UNKNOWN: 0, OK: 1, OVER_LIMIT: 2 } as const;

/** envoy.type.v3.RateLimitUnit (request side: RateLimitDescriptor.RateLimitOverride.unit). No WEEK. */
export const RateLimitUnit = {
  UNKNOWN: 0,
  SECOND: 1,
  MINUTE: 2,
  HOUR: 3,
  DAY: 4,
  MONTH: 5,
  YEAR: 6,
} as const;

/** RateLimitResponse.RateLimit.Unit (response side: DescriptorStatus.current_limit.unit). Has WEEK = 7. */
export const ResponseUnit = { ...RateLimitUnit, WEEK: 7 } as const;

export interface DescriptorEntry {
  key: string;
  value: string;
}

/** RateLimitDescriptor.RateLimitOverride */
export interface LimitOverride {
  /** uint32 */
  requestsPerUnit: number;
  /** envoy.type.v3.RateLimitUnit as a number */
  unit: number;
}

/** envoy.extensions.common.ratelimit.v3.RateLimitDescriptor */
export interface RateLimitDescriptor {
  entries: DescriptorEntry[];
  limit?: LimitOverride;
  /**
   * google.protobuf.UInt64Value: absent key when the wrapper is absent; 0 is a real value
   * ("check without consuming"). uint64 values above Number.MAX_SAFE_INTEGER are clamped to it.
   */
  hitsAddend?: number;
}

/** envoy.service.ratelimit.v3.RateLimitRequest */
export interface RateLimitRequest {
  domain: string;
  descriptors: RateLimitDescriptor[];
  /** uint32 as on the wire: 0 means "unset", which Envoy's contract says means 1 (the engine applies that). */
  hitsAddend: number;
}

export type DecodeResult = { ok: true; request: RateLimitRequest } | { ok: false; error: string };

/** RateLimitResponse.RateLimit */
export interface CurrentLimit {
  requestsPerUnit: number;
  /** RateLimitResponse.RateLimit.Unit as a number (WEEK = 7 allowed) */
  unit: number;
  name: string;
}

/** google.protobuf.Duration / google.protobuf.Timestamp ({seconds: int64, nanos: int32}) */
export interface Duration {
  /** int64 as a JS number (must be a safe integer) */
  seconds: number;
  nanos: number;
}
export type Timestamp = Duration;

/** RateLimitResponse.Quota (not implemented by Envoy; carried for completeness). */
export interface Quota {
  requests: number;
  validUntil?: Timestamp;
  id: string;
}

/** RateLimitResponse.DescriptorStatus */
export interface DescriptorStatus {
  code: number;
  currentLimit?: CurrentLimit;
  /** uint32; the encoder clamps to [0, 4294967295] */
  limitRemaining: number;
  durationUntilReset?: Duration;
  quota?: Quota;
}

/** envoy.config.core.v3.HeaderValue (raw_value is neither encoded nor decoded: Envoy's RLS client ignores it). */
export interface HeaderValue {
  key: string;
  value: string;
}

/** JSON value carried by google.protobuf.Struct / Value / ListValue. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** envoy.service.ratelimit.v3.RateLimitResponse */
export interface RateLimitResponse {
  overallCode: number;
  statuses: DescriptorStatus[];
  responseHeadersToAdd: HeaderValue[];
  requestHeadersToAdd: HeaderValue[];
  /** bytes; an empty buffer is the same as absent */
  rawBody?: Buffer;
  /** google.protobuf.Struct as a plain JSON object */
  dynamicMetadata?: JsonObject;
  quota?: Quota;
}

export type ResponseDecodeResult = { ok: true; response: RateLimitResponse } | { ok: false; error: string };
