/**
 * The xDS messages the config client speaks, by their documented field numbers
 * (shared/reference/envoy-gateway.md), on the RLS codec's wire primitives:
 * - DiscoveryRequest (encode): version_info 1, node 2, resource_names 3, type_url 4,
 *   response_nonce 5, error_detail 6 (google.rpc.Status: code 1, message 2);
 *   Node: id 1, cluster 2, metadata 3 (Struct), user_agent_name 6.
 * - DiscoveryResponse (decode): version_info 1, resources 2 (Any: type_url 1, value 2), type_url 4, nonce 5.
 * - RateLimitConfig (decode): name 1, domain 2, descriptors 3; RateLimitDescriptor: key 1, value 2,
 *   rate_limit 3, descriptors 4, shadow_mode 5, detailed_metric 6, quota_mode 7, metadata 8;
 *   RateLimitPolicy: unit 1, requests_per_unit 2, unlimited 3, name 4, replaces 5 (name 1).
 *
 * A RateLimitConfig decodes into the document the YAML loader reads (snake_case keys, unit names),
 * so validation and its messages are the files' own. proto3 defaults are left out, so a field never
 * set reads as missing; a zero unit is written `UNKNOWN` (refused) unless the limit is unlimited,
 * which needs no unit.
 */
import type { JsonObject, JsonValue } from '../rls/codec-types.js';
import { decodeStruct, structSize, writeStruct } from '../rls/codec-struct.js';
import { type FieldTable, decodeWith, fail, MAX_DEPTH, nested, rd, readBytes, readString, readVarint, skipField } from '../rls/codec-wire-reader.js';
import {
  beginSizes,
  beginWrite,
  finish,
  i32FieldSize,
  lenDelimSize,
  reserveSize,
  stringFieldSize,
  wr,
  writeI32Field,
  writeMessageHead,
  writeStringField,
} from '../rls/codec-wire-writer.js';
import { UNIT_ENUM } from './units.js';

export const RATE_LIMIT_CONFIG_TYPE_URL = 'type.googleapis.com/ratelimit.config.ratelimit.v3.RateLimitConfig';

export interface XdsNode {
  readonly id: string;
  readonly cluster: string;
  readonly metadata: JsonObject;
  readonly userAgentName: string;
}

export interface DiscoveryRequest {
  readonly versionInfo: string;
  readonly node: XdsNode;
  readonly typeUrl: string;
  readonly responseNonce: string;
  /** Set on a NACK: why the response was refused (google.rpc.Status). */
  readonly errorDetail?: { readonly code: number; readonly message: string };
}

export interface XdsResource {
  readonly typeUrl: string;
  readonly value: Buffer;
}

export interface DiscoveryResponse {
  readonly versionInfo: string;
  readonly resources: readonly XdsResource[];
  readonly typeUrl: string;
  readonly nonce: string;
}

/** One RateLimitConfig as a config document: what a YAML file of the same limits parses to. */
export interface XdsConfigDocument {
  readonly name: string;
  readonly document: { [key: string]: JsonValue };
}

// --- DiscoveryRequest ---

function nodeSize(node: XdsNode): number {
  const slot = reserveSize();
  let n = stringFieldSize(node.id) + stringFieldSize(node.cluster);
  if (Object.keys(node.metadata).length > 0) {
    const metaSlot = reserveSize();
    const m = structSize(node.metadata, 0);
    wr.sizes[metaSlot] = m;
    n += lenDelimSize(m);
  }
  n += stringFieldSize(node.userAgentName);
  wr.sizes[slot] = n;
  return lenDelimSize(n);
}

function writeNode(node: XdsNode): void {
  writeMessageHead(0x12);
  writeStringField(0x0a, node.id);
  writeStringField(0x12, node.cluster);
  if (Object.keys(node.metadata).length > 0) {
    writeMessageHead(0x1a);
    writeStruct(node.metadata);
  }
  writeStringField(0x32, node.userAgentName);
}

/** A wildcard subscription (no resource_names), an ACK or a NACK. */
export function encodeDiscoveryRequest(request: DiscoveryRequest): Buffer {
  beginSizes();
  let n = stringFieldSize(request.versionInfo) + nodeSize(request.node) + stringFieldSize(request.typeUrl) + stringFieldSize(request.responseNonce);
  const detail = request.errorDetail;
  if (detail !== undefined) {
    const slot = reserveSize();
    const s = i32FieldSize(detail.code) + stringFieldSize(detail.message);
    wr.sizes[slot] = s;
    n += lenDelimSize(s);
  }
  beginWrite(n);
  writeStringField(0x0a, request.versionInfo);
  writeNode(request.node);
  writeStringField(0x22, request.typeUrl);
  writeStringField(0x2a, request.responseNonce);
  if (detail !== undefined) {
    writeMessageHead(0x32);
    writeI32Field(0x08, detail.code);
    writeStringField(0x12, detail.message);
  }
  return finish(n);
}

// --- DiscoveryResponse ---

const RESPONSE_FIELDS: FieldTable = {
  names: [undefined, 'version_info', 'resources', 'canary', 'type_url', 'nonce'],
  wireTypes: [0, 2, 2, 0, 2, 2],
};
const ANY_FIELDS: FieldTable = { names: [undefined, 'type_url', 'value'], wireTypes: [0, 2, 2] };

function decodeAny(end: number): XdsResource {
  let typeUrl = '';
  let value: Buffer = Buffer.alloc(0);
  while (rd.pos < end) {
    const tag = readVarint(end);
    if (tag === 0x0a && rd.hi === 0) typeUrl = readString(end, 'type_url');
    else if (tag === 0x12 && rd.hi === 0) value = readBytes(end, 'value');
    else skipField(tag, end, ANY_FIELDS);
  }
  return { typeUrl, value };
}

export function decodeDiscoveryResponse(input: Buffer): DiscoveryResponse | { ok: false; error: string } {
  return decodeWith(input, 'DiscoveryResponse', (end) => {
    let versionInfo = '';
    let typeUrl = '';
    let nonce = '';
    const resources: XdsResource[] = [];
    while (rd.pos < end) {
      const tag = readVarint(end);
      if (tag === 0x0a && rd.hi === 0) versionInfo = readString(end, 'version_info');
      else if (tag === 0x12 && rd.hi === 0) resources.push(nested(end, 'resources', resources.length, decodeAny));
      else if (tag === 0x22 && rd.hi === 0) typeUrl = readString(end, 'type_url');
      else if (tag === 0x2a && rd.hi === 0) nonce = readString(end, 'nonce');
      else skipField(tag, end, RESPONSE_FIELDS);
    }
    return { versionInfo, resources, typeUrl, nonce };
  });
}

// --- RateLimitConfig ---

const CONFIG_FIELDS: FieldTable = { names: [undefined, 'name', 'domain', 'descriptors'], wireTypes: [0, 2, 2, 2] };
const DESCRIPTOR_FIELDS: FieldTable = {
  names: [undefined, 'key', 'value', 'rate_limit', 'descriptors', 'shadow_mode', 'detailed_metric', 'quota_mode', 'metadata'],
  wireTypes: [0, 2, 2, 2, 2, 0, 0, 0, 2],
};
const POLICY_FIELDS: FieldTable = {
  names: [undefined, 'unit', 'requests_per_unit', 'unlimited', 'name', 'replaces'],
  wireTypes: [0, 0, 0, 0, 2, 2],
};
const REPLACE_FIELDS: FieldTable = { names: [undefined, 'name'], wireTypes: [0, 2] };

const UNIT_BY_NUMBER = new Map(Object.entries(UNIT_ENUM).map(([name, number]) => [number, name]));

function decodeReplace(end: number): JsonObject {
  let name = '';
  while (rd.pos < end) {
    const tag = readVarint(end);
    if (tag === 0x0a && rd.hi === 0) name = readString(end, 'name');
    else skipField(tag, end, REPLACE_FIELDS);
  }
  return name === '' ? {} : { name };
}

function decodePolicy(end: number): JsonObject {
  let unit = 0;
  let requestsPerUnit = 0;
  let unlimited = false;
  let name = '';
  const replaces: JsonObject[] = [];
  while (rd.pos < end) {
    const tag = readVarint(end);
    if (tag === 0x08 && rd.hi === 0) unit = readVarint(end) | 0;
    else if (tag === 0x10 && rd.hi === 0) requestsPerUnit = readVarint(end);
    else if (tag === 0x18 && rd.hi === 0) unlimited = readVarint(end) !== 0 || rd.hi !== 0;
    else if (tag === 0x22 && rd.hi === 0) name = readString(end, 'name');
    else if (tag === 0x2a && rd.hi === 0) replaces.push(nested(end, 'replaces', replaces.length, decodeReplace));
    else skipField(tag, end, POLICY_FIELDS);
  }
  const policy: JsonObject = {};
  // An unlimited limit needs no unit; any other reads a zero (or unknown) unit as UNKNOWN, which validation refuses.
  if (unit !== 0 || !unlimited) policy.unit = UNIT_BY_NUMBER.get(unit) ?? 'UNKNOWN';
  if (requestsPerUnit !== 0 || !unlimited) policy.requests_per_unit = requestsPerUnit;
  if (unlimited) policy.unlimited = true;
  if (name !== '') policy.name = name;
  if (replaces.length > 0) policy.replaces = replaces;
  return policy;
}

function decodeDescriptor(end: number, depth: number): JsonObject {
  if (depth > MAX_DEPTH) fail('', `descriptors nested deeper than ${MAX_DEPTH}`);
  const descriptor: JsonObject = { key: '' };
  const children: JsonObject[] = [];
  while (rd.pos < end) {
    const tag = readVarint(end);
    if (tag === 0x0a && rd.hi === 0) descriptor.key = readString(end, 'key');
    else if (tag === 0x12 && rd.hi === 0) {
      const value = readString(end, 'value');
      if (value === '') delete descriptor.value;
      else descriptor.value = value;
    } else if (tag === 0x1a && rd.hi === 0) descriptor.rate_limit = nested(end, 'rate_limit', -1, decodePolicy);
    else if (tag === 0x22 && rd.hi === 0) children.push(nested(end, 'descriptors', children.length, (e) => decodeDescriptor(e, depth + 1)));
    else if (tag === 0x28 && rd.hi === 0) descriptor.shadow_mode = readVarint(end) !== 0 || rd.hi !== 0;
    else if (tag === 0x30 && rd.hi === 0) descriptor.detailed_metric = readVarint(end) !== 0 || rd.hi !== 0;
    // quota_mode (7) has no meaning in rateguard and metadata (8) none for decisions: read past them.
    else if (tag === 0x42 && rd.hi === 0) nested(end, 'metadata', -1, (e) => decodeStruct(e, undefined, depth + 1));
    else skipField(tag, end, DESCRIPTOR_FIELDS);
  }
  if (descriptor.shadow_mode === false) delete descriptor.shadow_mode;
  if (descriptor.detailed_metric === false) delete descriptor.detailed_metric;
  if (children.length > 0) descriptor.descriptors = children;
  return descriptor;
}

/** One resource's RateLimitConfig as a config document; a decode error names the field path. */
export function decodeRateLimitConfig(input: Buffer): XdsConfigDocument | { ok: false; error: string } {
  return decodeWith(input, 'RateLimitConfig', (end) => {
    let name = '';
    const document: JsonObject = {};
    const descriptors: JsonObject[] = [];
    while (rd.pos < end) {
      const tag = readVarint(end);
      if (tag === 0x0a && rd.hi === 0) name = readString(end, 'name');
      else if (tag === 0x12 && rd.hi === 0) document.domain = readString(end, 'domain');
      else if (tag === 0x1a && rd.hi === 0) descriptors.push(nested(end, 'descriptors', descriptors.length, (e) => decodeDescriptor(e, 0)));
      else skipField(tag, end, CONFIG_FIELDS);
    }
    if (descriptors.length > 0) document.descriptors = descriptors;
    return { name, document };
  });
}
