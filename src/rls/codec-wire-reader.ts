/**
 * Protobuf wire primitives for the decoders (docs/wire.md): varints, lengths, strings, bytes,
 * unknown-field skipping and the error type whose path the message decoders build on failure.
 *
 * Decoding is synchronous and non-reentrant, so one module-level cursor (`rd`) is safe and fast;
 * `beginInput` / `endInput` bracket every top-level decode.
 */

export const TWO_32 = 4294967296;

/** Deepest Struct/Value nesting either direction of the codec accepts. */
export const MAX_DEPTH = 64;

/**
 * Decode failure. `path` is built bottom-up by the enclosing decoders' catch blocks only when a failure
 * happens, so the success path builds no strings: e.g. "descriptors[0].entries[1].key".
 */
class WireError extends Error {
  constructor(
    public path: string,
    public detail: string,
  ) {
    super(detail);
  }
}

const EMPTY = Buffer.alloc(0);

/** The cursor: input, read offset, and the high 32 bits of the last varint (readVarint returns the low 32). */
export const rd = { buf: EMPTY as Buffer, pos: 0, hi: 0 };

const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
type SliceFn = (this: Buffer, start: number, end: number) => string;
// Node's Buffer#latin1Slice (what Buffer#toString('latin1') calls) — skips encoding-name dispatch.
const latin1Slice: SliceFn =
  typeof (Buffer.prototype as unknown as { latin1Slice?: unknown }).latin1Slice === 'function'
    ? (Buffer.prototype as unknown as { latin1Slice: SliceFn }).latin1Slice
    : function (this: Buffer, start: number, end: number) {
        return this.toString('latin1', start, end);
      };

export function fail(path: string, detail: string): never {
  throw new WireError(path, detail);
}

/** Prefixes a path segment onto a WireError bubbling out of a nested message (failure path only). */
export function nest(e: unknown, name: string, index: number): unknown {
  if (e instanceof WireError) {
    const seg = index < 0 ? name : `${name}[${index}]`;
    e.path = e.path === '' ? seg : `${seg}.${e.path}`;
  }
  return e;
}

/** Decodes the length-delimited message at the cursor, naming it in the error path on failure. */
export function nested<T>(end: number, name: string, index: number, decode: (end: number) => T): T {
  try {
    return decode(readLength(end, ''));
  } catch (e) {
    throw nest(e, name, index);
  }
}

function truncatedVarint(start: number): never {
  return fail('', `truncated varint at offset ${start}`);
}

/** Reads a varint of up to 10 bytes that must end before `end`. Returns the low 32 bits (unsigned); high bits in `rd.hi`. */
export function readVarint(end: number): number {
  let p = rd.pos;
  const b0 = p < end ? rd.buf[p++]! : truncatedVarint(p);
  if (b0 < 0x80) {
    rd.pos = p;
    rd.hi = 0;
    return b0;
  }
  return readVarintSlow(end, b0 & 0x7f, p);
}

function readVarintSlow(end: number, lo: number, p: number): number {
  const buf = rd.buf;
  const start = p - 1;
  let b: number;
  for (let shift = 7; shift < 28; shift += 7) {
    if (p >= end) truncatedVarint(start);
    b = buf[p++]!;
    lo |= (b & 0x7f) << shift;
    if (b < 0x80) {
      rd.pos = p;
      rd.hi = 0;
      return lo;
    }
  }
  if (p >= end) truncatedVarint(start);
  b = buf[p++]!;
  lo = (lo | ((b & 0x0f) << 28)) >>> 0;
  let h = (b & 0x7f) >> 4;
  if (b < 0x80) {
    rd.pos = p;
    rd.hi = h;
    return lo;
  }
  for (let shift = 3; shift <= 31; shift += 7) {
    if (p >= end) truncatedVarint(start);
    b = buf[p++]!;
    h |= (b & 0x7f) << shift; // bits beyond 64 are discarded, as protoc's parsers do
    if (b < 0x80) {
      rd.pos = p;
      rd.hi = h >>> 0;
      return lo;
    }
  }
  return fail('', `varint longer than 10 bytes at offset ${start}`);
}

/** Reads a length prefix and returns the end offset of the length-delimited payload. */
export function readLength(end: number, what: string): number {
  const at = rd.pos;
  const len = readVarint(end);
  if (rd.hi !== 0 || len > end - rd.pos) {
    fail(what, `length ${rd.hi * TWO_32 + len} at offset ${at} exceeds the ${end - rd.pos} remaining bytes`);
  }
  return rd.pos + len;
}

/** int64 varint (lo + `rd.hi`) -> JS number (exact within the safe range). */
export function int64FromParts(lo: number): number {
  const hi = rd.hi;
  if (hi & 0x80000000) {
    // negative two's complement
    const nlo = (~lo + 1) >>> 0;
    const nhi = (~hi + (nlo === 0 ? 1 : 0)) >>> 0;
    return -(nhi * TWO_32 + nlo);
  }
  return hi * TWO_32 + lo;
}

const WIRE_TYPE_NAMES = ['varint', 'fixed64', 'length-delimited', 'start-group', 'end-group', 'fixed32', '6', '7'];

/**
 * A message's field table for error messages: field number -> name and expected wire type.
 * Fields absent from the table are unknown and skipped.
 */
export interface FieldTable {
  readonly names: readonly (string | undefined)[];
  readonly wireTypes: readonly number[];
}

/** Handles a tag not matched by the caller's fast path: rejects known fields with the wrong wire type, skips unknown ones. */
export function skipField(tag: number, end: number, fields: FieldTable): void {
  const field = tag >>> 3;
  const wt = tag & 7;
  if (rd.hi !== 0 || field === 0) fail('', `invalid field number ${rd.hi !== 0 ? '>= 2^29' : 0}`);
  const name = fields.names[field];
  if (name !== undefined) {
    const want = fields.wireTypes[field]!;
    fail(`${name} (field ${field})`, `wire type ${WIRE_TYPE_NAMES[wt]} (${wt}), expected ${WIRE_TYPE_NAMES[want]} (${want})`);
  }
  switch (wt) {
    case 0:
      readVarint(end);
      return;
    case 1:
      if (end - rd.pos < 8) fail(`field ${field}`, `truncated fixed64 at offset ${rd.pos}`);
      rd.pos += 8;
      return;
    case 2:
      rd.pos = readLength(end, `field ${field}`);
      return;
    case 5:
      if (end - rd.pos < 4) fail(`field ${field}`, `truncated fixed32 at offset ${rd.pos}`);
      rd.pos += 4;
      return;
    case 3:
    case 4:
      fail('', `groups (wire type ${wt}, field ${field}) are not supported`);
      return;
    default:
      fail('', `invalid wire type ${wt} (field ${field}) at offset ${rd.pos}`);
  }
}

const fcc = String.fromCharCode;

/**
 * Short ASCII strings built with one exact-arity String.fromCharCode call: a flat string without the
 * native-call overhead of Buffer#latin1Slice (~3x faster for the 5-16 byte keys/values Envoy sends).
 */
// biome-ignore format: one exact-arity call per length, a line each, reads as the table it is
function asciiShort(b: Buffer, s: number, n: number): string {
  switch (n) {
    case 1:
      return fcc(b[s]!);
    case 2:
      return fcc(b[s]!, b[s + 1]!);
    case 3:
      return fcc(b[s]!, b[s + 1]!, b[s + 2]!);
    case 4:
      return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!);
    case 5:
      return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!);
    case 6:
      return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!);
    case 7:
      return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!);
    case 8:
      return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!);
    case 9:
      return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!);
    case 10:
      return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!);
    case 11:
      return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!, b[s + 10]!);
    case 12:
      return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!, b[s + 10]!, b[s + 11]!);
    case 13:
      return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!, b[s + 10]!, b[s + 11]!, b[s + 12]!);
    case 14:
      return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!, b[s + 10]!, b[s + 11]!, b[s + 12]!, b[s + 13]!);
    case 15:
      return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!, b[s + 10]!, b[s + 11]!, b[s + 12]!, b[s + 13]!, b[s + 14]!);
    case 16:
      return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!, b[s + 10]!, b[s + 11]!, b[s + 12]!, b[s + 13]!, b[s + 14]!, b[s + 15]!);
    default:
      return latin1Slice.call(b, s, s + n);
  }
}

/** Reads a length-delimited UTF-8 string. Invalid UTF-8 is rejected (strings become bucket identities). */
export function readString(end: number, what: string): string {
  const stop = readLength(end, what);
  const start = rd.pos;
  const buf = rd.buf;
  rd.pos = stop;
  if (start === stop) return '';
  // ASCII fast path.
  let i = start;
  while (i < stop && buf[i]! < 0x80) i++;
  if (i === stop) return asciiShort(buf, start, stop - start);
  try {
    return utf8Strict.decode(buf.subarray(start, stop));
  } catch {
    return fail(what, `invalid UTF-8 at offset ${start}`);
  }
}

const KEY_VALUE_FIELDS: FieldTable = { names: [undefined, 'key', 'value'], wireTypes: [0, 2, 2] };

/** A message of two strings, key = 1 and value = 2: a descriptor Entry, or a HeaderValue (whose raw_value = 3 is skipped). */
export function decodeKeyValue(end: number): { key: string; value: string } {
  let key = '';
  let value = '';
  while (rd.pos < end) {
    const tag = readVarint(end);
    if (tag === 0x0a && rd.hi === 0) key = readString(end, 'key');
    else if (tag === 0x12 && rd.hi === 0) value = readString(end, 'value');
    else skipField(tag, end, KEY_VALUE_FIELDS);
  }
  return { key, value };
}

export function readBytes(end: number, what: string): Buffer {
  const stop = readLength(end, what);
  const copy = Buffer.from(rd.buf.subarray(rd.pos, stop)); // copy: the input buffer may be pooled/reused
  rd.pos = stop;
  return copy;
}

function errorMessage(e: unknown): string {
  if (e instanceof WireError) return e.path === '' ? e.detail : `${e.path}: ${e.detail}`;
  return `internal decoder error: ${e instanceof Error ? e.message : String(e)}`;
}

/**
 * Runs a top-level decoder over `input`, turning any failure into `{ ok: false, error }` (decoders
 * never throw) and never retaining the caller's buffer. `body` builds the success result itself.
 */
export function decodeWith<T>(input: Buffer | Uint8Array, what: string, body: (end: number) => T): T | { ok: false; error: string } {
  rd.buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  rd.pos = 0;
  rd.hi = 0;
  try {
    return body(rd.buf.length);
  } catch (e) {
    return { ok: false, error: `invalid ${what}: ${errorMessage(e)}` };
  } finally {
    rd.buf = EMPTY; // do not retain the caller's buffer
  }
}
