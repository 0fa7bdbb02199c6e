/** RateLimitRequest encoding (clients: CLI `check`, the RLS middleware, tests), canonical proto3. */
import type { RateLimitDescriptor, RateLimitRequest } from './codec-types.js';
import {
  beginSizes,
  beginWrite,
  finish,
  i32,
  i32FieldSize,
  int64Size,
  lenDelimSize,
  recordSize,
  reserveSize,
  stringFieldSize,
  u32,
  u32FieldSize,
  u64,
  wr,
  writeByte,
  writeI32Field,
  writeInt64,
  writeMessageHead,
  writeStringField,
  writeU32Field,
} from './codec-wire-writer.js';

function descriptorSize(d: RateLimitDescriptor): number {
  const slot = reserveSize();
  let m = 0;
  for (let j = 0; j < d.entries.length; j++) {
    const e = d.entries[j]!;
    const eslot = reserveSize();
    const k = stringFieldSize(e.key) + stringFieldSize(e.value);
    wr.sizes[eslot] = k;
    m += lenDelimSize(k);
  }
  if (d.limit !== undefined) {
    const k = u32FieldSize(u32(d.limit.requestsPerUnit)) + i32FieldSize(i32(d.limit.unit));
    recordSize(k);
    m += lenDelimSize(k);
  }
  if (d.hitsAddend !== undefined) {
    const h = u64(d.hitsAddend);
    const k = h !== 0 ? 1 + int64Size(h) : 0;
    recordSize(k);
    m += lenDelimSize(k);
  }
  wr.sizes[slot] = m;
  return lenDelimSize(m);
}

function writeDescriptor(d: RateLimitDescriptor): void {
  writeMessageHead(0x12);
  for (let j = 0; j < d.entries.length; j++) {
    const e = d.entries[j]!;
    writeMessageHead(0x0a);
    writeStringField(0x0a, e.key);
    writeStringField(0x12, e.value);
  }
  if (d.limit !== undefined) {
    writeMessageHead(0x12);
    writeU32Field(0x08, u32(d.limit.requestsPerUnit));
    writeI32Field(0x10, i32(d.limit.unit));
  }
  if (d.hitsAddend !== undefined) {
    writeMessageHead(0x1a);
    const h = u64(d.hitsAddend);
    if (h !== 0) {
      writeByte(0x08);
      writeInt64(h);
    }
  }
}

/**
 * Encodes an envoy.service.ratelimit.v3.RateLimitRequest (canonical proto3 encoding). Out-of-range
 * numbers are normalized like the response encoder's; uint64 is clamped to [0, 2^53-1].
 */
export function encodeRateLimitRequest(req: RateLimitRequest): Buffer {
  beginSizes();
  let n = stringFieldSize(req.domain);
  const ds = req.descriptors;
  for (let i = 0; i < ds.length; i++) n += descriptorSize(ds[i]!);
  const hits = u32(req.hitsAddend);
  n += u32FieldSize(hits);

  beginWrite(n);
  writeStringField(0x0a, req.domain);
  for (let i = 0; i < ds.length; i++) writeDescriptor(ds[i]!);
  writeU32Field(0x18, hits);
  return finish(n);
}
