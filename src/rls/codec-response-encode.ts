/**
 * RateLimitResponse encoding (the server's hot path), canonical proto3 (docs/wire.md, "Encoding").
 */
import type { CurrentLimit, DescriptorStatus, HeaderValue, Quota, RateLimitResponse } from './codec-types.js';
import { structSize, writeStruct } from './codec-struct.js';
import {
  beginSizes,
  beginWrite,
  durationSize,
  finish,
  i32,
  i32FieldSize,
  lenDelimSize,
  reserveSize,
  stringFieldSize,
  u32,
  u32FieldSize,
  wr,
  writeByte,
  writeBytes,
  writeDurationField,
  writeI32Field,
  writeMessageHead,
  writeStringField,
  writeU32Field,
  writeVarint,
} from './codec-wire-writer.js';

function quotaSize(q: Quota): number {
  const slot = reserveSize();
  let n = u32FieldSize(u32(q.requests));
  if (q.validUntil !== undefined) n += lenDelimSize(durationSize(q.validUntil));
  n += stringFieldSize(q.id);
  wr.sizes[slot] = n;
  return lenDelimSize(n);
}

function writeQuota(tag: number, q: Quota): void {
  writeMessageHead(tag);
  writeU32Field(0x08, u32(q.requests));
  if (q.validUntil !== undefined) writeDurationField(0x12, q.validUntil);
  writeStringField(0x1a, q.id);
}

function currentLimitSize(cl: CurrentLimit): number {
  const slot = reserveSize();
  const m = u32FieldSize(u32(cl.requestsPerUnit)) + i32FieldSize(i32(cl.unit)) + stringFieldSize(cl.name);
  wr.sizes[slot] = m;
  return lenDelimSize(m);
}

function writeCurrentLimit(cl: CurrentLimit): void {
  writeMessageHead(0x12);
  writeU32Field(0x08, u32(cl.requestsPerUnit));
  writeI32Field(0x10, i32(cl.unit));
  writeStringField(0x1a, cl.name);
}

function statusSize(s: DescriptorStatus): number {
  const slot = reserveSize();
  let n = i32FieldSize(i32(s.code));
  if (s.currentLimit !== undefined) n += currentLimitSize(s.currentLimit);
  n += u32FieldSize(u32(s.limitRemaining));
  if (s.durationUntilReset !== undefined) n += lenDelimSize(durationSize(s.durationUntilReset));
  if (s.quota !== undefined) n += quotaSize(s.quota);
  wr.sizes[slot] = n;
  return lenDelimSize(n);
}

function writeStatus(s: DescriptorStatus): void {
  writeMessageHead(0x12);
  writeI32Field(0x08, i32(s.code));
  if (s.currentLimit !== undefined) writeCurrentLimit(s.currentLimit);
  writeU32Field(0x18, u32(s.limitRemaining));
  if (s.durationUntilReset !== undefined) writeDurationField(0x22, s.durationUntilReset);
  if (s.quota !== undefined) writeQuota(0x2a, s.quota);
}

function headersSize(hs: readonly HeaderValue[]): number {
  let n = 0;
  for (let i = 0; i < hs.length; i++) {
    const h = hs[i]!;
    const slot = reserveSize();
    const m = stringFieldSize(h.key) + stringFieldSize(h.value);
    wr.sizes[slot] = m;
    n += lenDelimSize(m);
  }
  return n;
}

function writeHeaders(tag: number, hs: readonly HeaderValue[]): void {
  for (let i = 0; i < hs.length; i++) {
    const h = hs[i]!;
    writeMessageHead(tag);
    writeStringField(0x0a, h.key);
    writeStringField(0x12, h.value);
  }
}

/**
 * Encodes an envoy.service.ratelimit.v3.RateLimitResponse (canonical proto3 encoding).
 * Out-of-range numbers are normalized, not rejected: uint32 fields are floored and clamped to
 * [0, 4294967295]; enums/int32 use `v | 0`; Duration seconds are truncated and clamped to the safe range.
 * Throws only for dynamic_metadata nested deeper than 64 levels (a programming error).
 */
export function encodeRateLimitResponse(res: RateLimitResponse): Buffer {
  beginSizes();
  const code = i32(res.overallCode);
  let n = i32FieldSize(code);
  const statuses = res.statuses;
  for (let i = 0; i < statuses.length; i++) n += statusSize(statuses[i]!);
  n += headersSize(res.responseHeadersToAdd);
  n += headersSize(res.requestHeadersToAdd);
  const body = res.rawBody;
  if (body !== undefined && body.length > 0) n += lenDelimSize(body.length);
  const md = res.dynamicMetadata;
  if (md !== undefined) {
    const slot = reserveSize();
    const m = structSize(md, 0);
    wr.sizes[slot] = m;
    n += lenDelimSize(m);
  }
  if (res.quota !== undefined) n += quotaSize(res.quota);

  beginWrite(n);
  writeI32Field(0x08, code);
  for (let i = 0; i < statuses.length; i++) writeStatus(statuses[i]!);
  writeHeaders(0x1a, res.responseHeadersToAdd);
  writeHeaders(0x22, res.requestHeadersToAdd);
  if (body !== undefined && body.length > 0) {
    writeByte(0x2a);
    writeVarint(body.length);
    writeBytes(body);
  }
  if (md !== undefined) {
    writeMessageHead(0x32);
    writeStruct(md);
  }
  if (res.quota !== undefined) writeQuota(0x3a, res.quota);
  return finish(n);
}
