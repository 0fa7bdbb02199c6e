/**
 * Protobuf wire primitives for the encoders (docs/wire.md, "Encoding").
 *
 * Two passes: a size pass records every nested length (pre-order) in `wr.sizes`, then one exact-size
 * Buffer.allocUnsafe is filled by a write pass that consumes `wr.sizes` in the same order.
 * Encoding is synchronous and non-reentrant, so one module-level writer state is safe and fast.
 */
import type { Duration } from './codec-types.js';
import { TWO_32 } from './codec-wire-reader.js';

const MAX_UINT32 = 4294967295;
const EMPTY = Buffer.alloc(0);

/** Writer state: recorded sizes, their read index in the write pass, the output and its write offset. */
export const wr = { sizes: [] as number[], si: 0, out: EMPTY as Buffer, wp: 0 };

/** Starts a size pass. */
export function beginSizes(): void {
  wr.sizes.length = 0;
}

/** Ends the size pass: allocates the output of the computed size and starts the write pass. */
export function beginWrite(total: number): void {
  wr.out = Buffer.allocUnsafe(total);
  wr.wp = 0;
  wr.si = 0;
}

/** Ends the write pass and hands over the output. */
export function finish(total: number): Buffer {
  if (wr.wp !== total) throw new Error(`rls codec bug: wrote ${wr.wp} bytes, computed ${total}`);
  const b = wr.out;
  wr.out = EMPTY;
  if (wr.sizes.length > 4096) wr.sizes = []; // do not keep a huge scratch array alive
  return b;
}

/** Reserves a slot in `sizes` for a nested length known only after its children are sized. */
export function reserveSize(): number {
  const slot = wr.sizes.length;
  wr.sizes.push(0);
  return slot;
}

export function recordSize(n: number): void {
  wr.sizes.push(n);
}

export function nextSize(): number {
  return wr.sizes[wr.si++]!;
}

export function varintSize(v: number): number {
  // v: uint32
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

function varint64Size(lo: number, h: number): number {
  if (h === 0) return varintSize(lo);
  return h < 0x8 ? 5 : h < 0x400 ? 6 : h < 0x20000 ? 7 : h < 0x1000000 ? 8 : h < 0x80000000 ? 9 : 10;
}

/** Size of an int32 (incl. enums): negative values take 10 bytes (sign-extended to 64 bits). */
export function int32Size(v: number): number {
  return v < 0 ? 10 : varintSize(v);
}

/** UTF-8 length of a JS string, counting lone surrogates as U+FFFD (3 bytes), as Buffer.write does. */
export function utf8Len(s: string): number {
  const n = s.length;
  let len = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) len += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      len += 2; // surrogate pair: 2 UTF-16 units -> 4 bytes
      i++;
    } else len += 2;
  }
  return len;
}

export function writeByte(b: number): void {
  wr.out[wr.wp++] = b;
}

export function writeVarint(v: number): void {
  const out = wr.out;
  let wp = wr.wp;
  while (v > 0x7f) {
    out[wp++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  out[wp++] = v;
  wr.wp = wp;
}

function writeVarint64(lo: number, h: number): void {
  const out = wr.out;
  while (h !== 0) {
    out[wr.wp++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (h << 25)) >>> 0;
    h >>>= 7;
  }
  writeVarint(lo);
}

export function writeInt32(v: number): void {
  if (v < 0) writeVarint64(v >>> 0, 0xffffffff);
  else writeVarint(v);
}

export function writeString(s: string, byteLen: number): void {
  const out = wr.out;
  if (byteLen === s.length) {
    // ASCII
    let wp = wr.wp;
    for (let i = 0; i < byteLen; i++) out[wp++] = s.charCodeAt(i);
    wr.wp = wp;
  } else {
    wr.wp += out.write(s, wr.wp, byteLen, 'utf8');
  }
}

export function writeBytes(b: Buffer): void {
  wr.wp += b.copy(wr.out, wr.wp);
}

export function writeDouble(v: number): void {
  wr.out.writeDoubleLE(v, wr.wp);
  wr.wp += 8;
}

// Normalizers: the codec's contract for out-of-range numbers (documented in docs/wire.md).
export function u32(v: number): number {
  return v >= MAX_UINT32 ? MAX_UINT32 : v > 0 ? Math.floor(v) : 0;
}
export function i32(v: number): number {
  return v | 0;
}
/** int64 from a JS number: truncated toward zero and clamped to the safe-integer range. */
function i64(v: number): number {
  if (Number.isNaN(v)) return 0;
  const t = Math.trunc(v);
  return Math.min(Number.MAX_SAFE_INTEGER, Math.max(-Number.MAX_SAFE_INTEGER, t));
}
export function u64(v: number): number {
  return v >= Number.MAX_SAFE_INTEGER ? Number.MAX_SAFE_INTEGER : v > 0 ? Math.floor(v) : 0;
}

let i64lo = 0;
let i64hi = 0;
function splitInt64(v: number): void {
  if (v >= 0) {
    i64lo = v >>> 0;
    i64hi = Math.floor(v / TWO_32) >>> 0;
    return;
  }
  const a = -v;
  let lo = a >>> 0;
  let h = Math.floor(a / TWO_32) >>> 0;
  h = ~h >>> 0;
  lo = ~lo >>> 0;
  if (++lo > MAX_UINT32) {
    lo = 0;
    if (++h > MAX_UINT32) h = 0;
  }
  i64lo = lo;
  i64hi = h;
}

/** Size of a (u)int64 varint of a safe integer. */
export function int64Size(v: number): number {
  splitInt64(v);
  return varint64Size(i64lo, i64hi);
}

export function writeInt64(v: number): void {
  splitInt64(v);
  writeVarint64(i64lo, i64hi);
}

/** Duration/Timestamp body size; records nothing (caller records the total). */
export function durationSize(d: Duration): number {
  let n = 0;
  const s = i64(d.seconds);
  if (s !== 0) n += 1 + int64Size(s);
  const ns = i32(d.nanos);
  if (ns !== 0) n += 1 + int32Size(ns);
  return n;
}

/** Writes tag + length + Duration/Timestamp body. */
export function writeDurationField(tag: number, d: Duration): void {
  writeByte(tag);
  writeVarint(durationSize(d));
  const s = i64(d.seconds);
  if (s !== 0) {
    writeByte(0x08);
    writeInt64(s);
  }
  const ns = i32(d.nanos);
  if (ns !== 0) {
    writeByte(0x10);
    writeInt32(ns);
  }
}

export function lenDelimSize(n: number): number {
  return 1 + varintSize(n) + n;
}

/** Records string byte length; returns the size of tag+len+bytes, or 0 for ''. */
export function stringFieldSize(s: string): number {
  if (s.length === 0) return 0;
  const n = utf8Len(s);
  wr.sizes.push(n);
  return lenDelimSize(n);
}

export function writeStringField(tag: number, s: string): void {
  if (s.length === 0) return;
  const n = nextSize();
  writeByte(tag);
  writeVarint(n);
  writeString(s, n);
}

/** Size of an optional uint32 field (0 = omitted). */
export function u32FieldSize(v: number): number {
  return v !== 0 ? 1 + varintSize(v) : 0;
}

/** Size of an optional int32/enum field (0 = omitted). */
export function i32FieldSize(v: number): number {
  return v !== 0 ? 1 + int32Size(v) : 0;
}

export function writeU32Field(tag: number, v: number): void {
  if (v === 0) return;
  writeByte(tag);
  writeVarint(v);
}

export function writeI32Field(tag: number, v: number): void {
  if (v === 0) return;
  writeByte(tag);
  writeInt32(v);
}

/** Writes tag + the next recorded length: the head of a nested message. */
export function writeMessageHead(tag: number): void {
  writeByte(tag);
  writeVarint(nextSize());
}
