/**
 * The gRPC listener's connection limits and their defaults: two of them are settings
 * (`GRPC_MAX_CONNECTION_AGE`, `_GRACE`), all of them are used by src/server/grpc-server.ts.
 */
/** How long connections and streams may live and how many there may be: the peer cannot choose. */
export interface GrpcConnectionLimits {
  /** Streams one connection may have open at once (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS). */
  readonly maxConcurrentStreams: number;
  /** Server pings after this long without activity, to find dead peers. */
  readonly keepaliveTimeMs: number;
  /** A ping unanswered this long closes the connection. */
  readonly keepaliveTimeoutMs: number;
  /** A connection without streams this long is closed (GOAWAY): idle sockets cannot pile up. */
  readonly maxConnectionIdleMs: number;
  /** Every connection gets a GOAWAY after this long (+-10% jitter): clients rebalance, stalled streams end. */
  readonly maxConnectionAgeMs: number;
  /** After that GOAWAY, in-flight calls get this long before the connection is destroyed. */
  readonly maxConnectionAgeGraceMs: number;
}

/**
 * Chosen for Envoy's usage (a few long-lived HTTP/2 connections carrying many short streams) and for
 * hostile peers: a stalled or idle connection is bounded in time, a greedy one in streams.
 */
export const GRPC_CONNECTION_LIMITS: GrpcConnectionLimits = Object.freeze({
  maxConcurrentStreams: 1024,
  keepaliveTimeMs: 60_000,
  keepaliveTimeoutMs: 20_000,
  maxConnectionIdleMs: 300_000,
  maxConnectionAgeMs: 1_800_000,
  maxConnectionAgeGraceMs: 30_000,
});
