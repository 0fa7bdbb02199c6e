/**
 * The `grpc-timeout` request header (PROTOCOL-HTTP2.md): a positive integer of at most 8 digits and
 * a unit, H M S m u n. Read strictly: anything else is not a timeout.
 */
const TIMEOUT = /^(\d{1,8})([HMSmun])$/;

const UNIT_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000_001 };

/** The timeout in milliseconds, or undefined when `value` is not a valid grpc-timeout. */
export function parseGrpcTimeoutMs(value: string): number | undefined {
  const match = TIMEOUT.exec(value);
  return match === null ? undefined : Number(match[1]) * UNIT_MS[match[2]!]!;
}
