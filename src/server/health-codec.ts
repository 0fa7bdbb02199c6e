/**
 * grpc.health.v1 messages for the node:http2 server, on the RLS codec's wire primitives:
 * HealthCheckRequest { string service = 1 } and HealthCheckResponse { ServingStatus status = 1 }.
 */
import { type FieldTable, decodeWith, rd, readString, readVarint, skipField } from '../rls/codec-wire-reader.js';
import type { ServingStatus } from './health.js';

export type HealthAnswer = ServingStatus | 'SERVICE_UNKNOWN';

/** grpc.health.v1.HealthCheckResponse.ServingStatus numbers (UNKNOWN = 0 is never sent). */
const STATUS_NUMBERS: Record<HealthAnswer, number> = { SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 };

const REQUEST_FIELDS: FieldTable = { names: [undefined, 'service'], wireTypes: [0, 2] };

export function decodeHealthCheckRequest(bytes: Buffer): { ok: true; service: string } | { ok: false; error: string } {
  return decodeWith(bytes, 'HealthCheckRequest', (end) => {
    let service = '';
    while (rd.pos < end) {
      const tag = readVarint(end);
      if (tag === 0x0a && rd.hi === 0) service = readString(end, 'service');
      else skipField(tag, end, REQUEST_FIELDS);
    }
    return { ok: true as const, service };
  });
}

/** Field 1, varint: two bytes. */
export function encodeHealthCheckResponse(status: HealthAnswer): Buffer {
  return Buffer.from([0x08, STATUS_NUMBERS[status]]);
}
