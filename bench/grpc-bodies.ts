/**
 * Pre-encoded ShouldRateLimit request bodies (gRPC length-prefixed frames) and the bench config the
 * sidecar serves them with. One hot key, 100k distinct keys, 1 or 5 descriptors, an over-limit client.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeRateLimitRequest, type RateLimitRequest } from '../src/rls/codec.js';

export const BENCH_DOMAIN = 'bench';
export const SHOULD_RATE_LIMIT_PATH = '/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit';

/** Never denies: the allowed path is what throughput runs measure. */
const ROOMY = '{ unit: second, requests_per_unit: 4000000000 }';

/** Five descriptor kinds an Envoy route commonly sends; the first alone is the 1-descriptor request. */
const KINDS = ['remote_address', 'path', 'api_key', 'method', 'tenant'] as const;

export const BENCH_CONFIG = [
  `domain: ${BENCH_DOMAIN}`,
  'descriptors:',
  ...KINDS.map((key) => `  - key: ${key}\n    rate_limit: ${ROOMY}`),
  // One client over its limit for good: after the first call, every call is denied for an hour.
  '  - key: flooder\n    rate_limit: { unit: hour, requests_per_unit: 1 }',
  '',
].join('\n');

/** A request with `descriptors` descriptors; the first one's value names the client. */
export function benchRequest(descriptors: 1 | 5, client: string): RateLimitRequest {
  const values = [client, '/v1/orders', 'k_7f3a9c2e41b0', 'POST', 'acme'];
  return {
    domain: BENCH_DOMAIN,
    descriptors: KINDS.slice(0, descriptors).map((key, i) => ({ entries: [{ key, value: values[i]! }] })),
    hitsAddend: 0,
  };
}

/** A request of the 1-per-hour `flooder` limit: its bucket lives an hour after one call. */
export function floodRequest(client = '198.51.100.7'): RateLimitRequest {
  return { domain: BENCH_DOMAIN, descriptors: [{ entries: [{ key: 'flooder', value: client }] }], hitsAddend: 0 };
}

/** The HTTP/2 body of a unary gRPC call: uncompressed flag, 4-byte big-endian length, message. */
export function grpcFrame(request: RateLimitRequest): Buffer {
  const message = Buffer.from(encodeRateLimitRequest(request));
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  message.copy(frame, 5);
  return frame;
}

/** Writes one frame to `dir/name.bin` for h2load's `-d`; returns the path. */
export function writeBody(dir: string, name: string, request: RateLimitRequest): string {
  const file = join(dir, `${name}.bin`);
  writeFileSync(file, grpcFrame(request));
  return file;
}

/** Client `i` of a population of distinct clients (distinct bucket keys). */
export function clientAddress(i: number): string {
  return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}
