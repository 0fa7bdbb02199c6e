/**
 * google.protobuf.Struct / Value / ListValue as plain JSON (RateLimitResponse.dynamic_metadata).
 * Map entries always carry key and value; nesting is bounded by MAX_DEPTH both ways.
 */
import type { JsonObject, JsonValue } from './codec-types.js';
import { type FieldTable, MAX_DEPTH, fail, nest, nested, rd, readLength, readString, readVarint, skipField } from './codec-wire-reader.js';
import {
  lenDelimSize,
  nextSize,
  recordSize,
  reserveSize,
  utf8Len,
  wr,
  writeByte,
  writeDouble,
  writeMessageHead,
  writeString,
  writeVarint,
} from './codec-wire-writer.js';

const STRUCT_FIELDS: FieldTable = { names: [undefined, 'fields'], wireTypes: [0, 2] };
const ENTRY_FIELDS: FieldTable = { names: [undefined, 'key', 'value'], wireTypes: [0, 2, 2] };
const VALUE_FIELDS: FieldTable = {
  names: [undefined, 'null_value', 'number_value', 'string_value', 'bool_value', 'struct_value', 'list_value'],
  wireTypes: [0, 0, 1, 2, 0, 2, 2],
};
const LIST_FIELDS: FieldTable = { names: [undefined, 'values'], wireTypes: [0, 2] };

// --- decoding ---

export function decodeStruct(end: number, into: JsonObject | undefined, depth: number): JsonObject {
  if (depth > MAX_DEPTH) fail('', `Struct nested deeper than ${MAX_DEPTH}`);
  const obj: JsonObject = into ?? {};
  while (rd.pos < end) {
    const tag = readVarint(end);
    if (tag === 0x0a && rd.hi === 0) {
      let key = '';
      try {
        const e = readLength(end, '');
        let value: JsonValue = null;
        while (rd.pos < e) {
          const t = readVarint(e);
          if (t === 0x0a && rd.hi === 0) key = readString(e, 'key');
          else if (t === 0x12 && rd.hi === 0) value = decodeValue(readLength(e, 'value'), depth + 1);
          else skipField(t, e, ENTRY_FIELDS);
        }
        // map semantics: last entry for a key wins; "__proto__" must stay an own data property
        if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
        else obj[key] = value;
      } catch (e) {
        throw nest(e, `fields[${JSON.stringify(key)}]`, -1);
      }
    } else skipField(tag, end, STRUCT_FIELDS);
  }
  return obj;
}

function decodeList(end: number, depth: number): JsonValue[] {
  const list: JsonValue[] = [];
  while (rd.pos < end) {
    const t = readVarint(end);
    if (t === 0x0a && rd.hi === 0) list.push(decodeValue(readLength(end, `values[${list.length}]`), depth + 1));
    else skipField(t, end, LIST_FIELDS);
  }
  return list;
}

function decodeValue(end: number, depth: number): JsonValue {
  if (depth > MAX_DEPTH) fail('', `Value nested deeper than ${MAX_DEPTH}`);
  let v: JsonValue = null; // a Value with no kind set decodes as null
  while (rd.pos < end) {
    const tag = readVarint(end);
    if (rd.hi !== 0) skipField(tag, end, VALUE_FIELDS);
    else if (tag === 0x08) {
      readVarint(end);
      v = null;
    } else if (tag === 0x11) {
      if (end - rd.pos < 8) fail('number_value', `truncated double at offset ${rd.pos}`);
      v = rd.buf.readDoubleLE(rd.pos);
      rd.pos += 8;
    } else if (tag === 0x1a) v = readString(end, 'string_value');
    else if (tag === 0x20) v = readVarint(end) !== 0 || rd.hi !== 0;
    else if (tag === 0x2a) v = nested(end, 'struct_value', -1, (e) => decodeStruct(e, undefined, depth + 1));
    else if (tag === 0x32) v = nested(end, 'list_value', -1, (e) => decodeList(e, depth));
    else skipField(tag, end, VALUE_FIELDS);
  }
  return v;
}

// --- encoding ---

function tooDeep(): never {
  throw new RangeError(`dynamic_metadata nested deeper than ${MAX_DEPTH}`);
}

/** Returns the Struct body size; records nested sizes. */
export function structSize(o: JsonObject, depth: number): number {
  if (depth > MAX_DEPTH) tooDeep();
  let n = 0;
  for (const key in o) {
    if (!Object.hasOwn(o, key)) continue;
    const v = o[key];
    if (v === undefined) continue;
    const slot = reserveSize();
    const k = utf8Len(key);
    recordSize(k);
    const vs = valueSize(v, depth + 1);
    const m = lenDelimSize(k) + lenDelimSize(vs);
    wr.sizes[slot] = m;
    n += lenDelimSize(m);
  }
  return n;
}

/** Returns the Value body size; records it (and nested sizes). */
function valueSize(v: JsonValue, depth: number): number {
  if (depth > MAX_DEPTH) tooDeep();
  const slot = reserveSize();
  let n: number;
  if (v === null) n = 2;
  else if (typeof v === 'number') n = 9;
  else if (typeof v === 'boolean') n = 2;
  else if (typeof v === 'string') {
    const k = utf8Len(v);
    recordSize(k);
    n = lenDelimSize(k);
  } else if (Array.isArray(v)) {
    const lslot = reserveSize();
    let m = 0;
    for (let i = 0; i < v.length; i++) m += lenDelimSize(valueSize(v[i] ?? null, depth + 1));
    wr.sizes[lslot] = m;
    n = lenDelimSize(m);
  } else {
    const sslot = reserveSize();
    const m = structSize(v, depth + 1);
    wr.sizes[sslot] = m;
    n = lenDelimSize(m);
  }
  wr.sizes[slot] = n;
  return n;
}

export function writeStruct(o: JsonObject): void {
  for (const key in o) {
    if (!Object.hasOwn(o, key)) continue;
    const v = o[key];
    if (v === undefined) continue;
    writeMessageHead(0x0a);
    const k = nextSize();
    writeByte(0x0a);
    writeVarint(k);
    writeString(key, k);
    writeByte(0x12);
    writeValue(v);
  }
}

/** Writes length + Value body (tag already written). */
function writeValue(v: JsonValue): void {
  writeVarint(nextSize());
  if (v === null) {
    writeByte(0x08);
    writeByte(0);
  } else if (typeof v === 'number') {
    writeByte(0x11);
    writeDouble(v);
  } else if (typeof v === 'boolean') {
    writeByte(0x20);
    writeByte(v ? 1 : 0);
  } else if (typeof v === 'string') {
    const k = nextSize();
    writeByte(0x1a);
    writeVarint(k);
    writeString(v, k);
  } else if (Array.isArray(v)) {
    writeMessageHead(0x32);
    for (let i = 0; i < v.length; i++) {
      writeByte(0x0a);
      writeValue(v[i] ?? null);
    }
  } else {
    writeMessageHead(0x2a);
    writeStruct(v);
  }
}
