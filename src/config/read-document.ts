/**
 * The shape layer: YAML text → a typed, positioned tree (`RawFile`). It reports bad YAML, unknown
 * keys, wrong types and nothing else; the meaning of the values is checked by `rules.ts`.
 *
 * Why a small walker over the YAML AST rather than zod on `toJS()`: the AST keeps each node's
 * offset (so every error gets a line) and each scalar's source text. envoyproxy/ratelimit decodes
 * with Go's yaml.v2, which hands a string field the scalar's raw text: `value: 0.10` is "0.10" and
 * `value: 429` is "429". `toJS()` would turn those into numbers and lose "0.10".
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { configError, type ConfigError, type Position } from './errors.js';

export interface Located<T> {
  readonly value: T;
  readonly at: Position;
}

export interface RawReplace {
  readonly at: Position;
  readonly name: Located<string> | undefined;
}

export interface RawRateLimit {
  readonly at: Position;
  /** Keys written in the mapping, valid or not: a key given with a wrong type is not "missing". */
  readonly keys: ReadonlySet<string>;
  readonly requestsPerUnit: Located<number> | undefined;
  readonly unit: Located<string> | undefined;
  readonly unlimited: Located<boolean> | undefined;
  readonly name: Located<string> | undefined;
  readonly replaces: readonly RawReplace[];
  readonly algorithm: Located<string> | undefined;
  readonly capacity: Located<number> | undefined;
  /** `burst` is an alias of `capacity`; both are kept so a rule can reject giving both. */
  readonly burst: Located<number> | undefined;
  readonly overdraft: Located<boolean> | undefined;
}

export interface RawDescriptor {
  readonly at: Position;
  readonly keys: ReadonlySet<string>;
  readonly key: Located<string> | undefined;
  readonly value: Located<string> | undefined;
  readonly rateLimit: RawRateLimit | undefined;
  readonly rateLimits: Located<readonly RawRateLimit[]> | undefined;
  readonly shadowMode: Located<boolean> | undefined;
  readonly detailedMetric: Located<boolean> | undefined;
  readonly quotaMode: Located<boolean> | undefined;
  readonly valueToMetric: Located<boolean> | undefined;
  readonly shareThreshold: Located<boolean> | undefined;
  /** Any mapping, kept as it was written (a google.protobuf.Struct in the reference). */
  readonly metadata: Located<Readonly<Record<string, unknown>>> | undefined;
  readonly descriptors: readonly RawDescriptor[];
}

export interface RawFile {
  readonly file: string;
  readonly at: Position;
  readonly keys: ReadonlySet<string>;
  readonly domain: Located<string> | undefined;
  readonly descriptors: readonly RawDescriptor[];
}

/** The keys each mapping accepts: the reference's, plus rateguard's extensions (marked). */
export const ROOT_KEYS = ['domain', 'descriptors'] as const;
export const DESCRIPTOR_KEYS = [
  'key',
  'value',
  'rate_limit',
  'rate_limits', // extension
  'descriptors',
  'shadow_mode',
  'detailed_metric',
  'quota_mode',
  'value_to_metric',
  'share_threshold',
  'metadata',
] as const;
export const RATE_LIMIT_KEYS = [
  'requests_per_unit',
  'unit',
  'unlimited',
  'name',
  'replaces',
  'algorithm', // extension
  'capacity', // extension
  'burst', // extension, alias of capacity
  'overdraft', // extension
] as const;
export const REPLACES_KEYS = ['name'] as const;

interface Context {
  readonly file: string;
  readonly doc: Document.Parsed;
  readonly lines: LineCounter;
  readonly errors: ConfigError[];
}

interface Field {
  readonly node: unknown;
  readonly at: Position;
}

interface Fields<K extends string> {
  readonly fields: Partial<Record<K, Field>>;
  /** Every accepted key written in the mapping, including those whose value turns out invalid. */
  readonly keys: ReadonlySet<string>;
}

function lineOf(ctx: Context, node: unknown, fallback: number): number {
  const range = (node as Node | null)?.range;
  return range ? ctx.lines.linePos(range[0]).line : fallback;
}

function childAt(ctx: Context, parent: Position, key: string | number, node: unknown): Position {
  const path = typeof key === 'number' ? `${parent.path}[${key}]` : parent.path === '' ? key : `${parent.path}.${key}`;
  return { file: ctx.file, line: lineOf(ctx, node, parent.line), path };
}

function resolve(ctx: Context, node: unknown): unknown {
  return isAlias(node) ? node.resolve(ctx.doc) : node;
}

function isNull(node: unknown): boolean {
  return node === null || node === undefined || (isScalar(node) && node.value === null);
}

function describe(node: unknown): string {
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) return node.value === null ? 'null' : `${typeof node.value} ${JSON.stringify(node.source ?? node.value)}`;
  return 'nothing';
}

function wrongType(ctx: Context, at: Position, expected: string, node: unknown): undefined {
  ctx.errors.push(configError('RG_CONFIG_WRONG_TYPE', at, `expected ${expected}, got ${describe(node)}`));
  return undefined;
}

/** The known fields of a mapping; reports unknown keys at the key's own line. */
function readFields<K extends string>(ctx: Context, raw: unknown, at: Position, allowed: readonly K[]): Fields<K> | undefined {
  const node = resolve(ctx, raw);
  if (!isMap(node)) return wrongType(ctx, at, 'a mapping', node);
  const keys = new Set<string>();
  const fields: Partial<Record<K, Field>> = {};
  for (const pair of node.items) {
    const keyNode = resolve(ctx, pair.key);
    const name = isScalar(keyNode) ? String(keyNode.source ?? keyNode.value) : undefined;
    if (name === undefined || !(allowed as readonly string[]).includes(name)) {
      const keyAt = childAt(ctx, at, name ?? '?', keyNode);
      const shown = name === undefined ? describe(keyNode) : JSON.stringify(name);
      ctx.errors.push(configError('RG_CONFIG_UNKNOWN_KEY', keyAt, `unknown key ${shown} (expected one of: ${allowed.join(', ')})`));
      continue;
    }
    const value = resolve(ctx, pair.value);
    // A key with no value (`rate_limit:`) is the zero value in the reference's Go decoding: absent.
    if (isNull(value)) continue;
    keys.add(name);
    fields[name as K] = { node: value, at: childAt(ctx, at, name, value ?? keyNode) };
  }
  return { fields, keys };
}

/** A string field: any scalar, as its source text (see the file comment). */
function readString(ctx: Context, field: Field | undefined): Located<string> | undefined {
  if (field === undefined) return undefined;
  const { node, at } = field;
  if (!isScalar(node)) return wrongType(ctx, at, 'a string', node);
  const value = typeof node.value === 'string' ? node.value : String(node.source ?? node.value);
  return { value, at };
}

function readBoolean(ctx: Context, field: Field | undefined): Located<boolean> | undefined {
  if (field === undefined) return undefined;
  const { node, at } = field;
  if (!isScalar(node) || typeof node.value !== 'boolean') return wrongType(ctx, at, 'true or false', node);
  return { value: node.value, at };
}

/** A mapping of anything, as plain data. */
function readMapping(ctx: Context, field: Field | undefined): Located<Readonly<Record<string, unknown>>> | undefined {
  if (field === undefined) return undefined;
  const { node, at } = field;
  if (!isMap(node)) return wrongType(ctx, at, 'a mapping', node);
  // Through JSON: YAML 1.1 timestamps become strings, so the value is plain data (a Struct) for sure.
  return { value: JSON.parse(JSON.stringify(node.toJSON(ctx.doc))) as Record<string, unknown>, at };
}

function readNumber(ctx: Context, field: Field | undefined): Located<number> | undefined {
  if (field === undefined) return undefined;
  const { node, at } = field;
  if (!isScalar(node) || typeof node.value !== 'number') return wrongType(ctx, at, 'a number', node);
  return { value: node.value, at };
}

function readList<T>(ctx: Context, field: Field | undefined, item: (node: unknown, at: Position) => T | undefined): T[] {
  if (field === undefined) return [];
  const { node, at } = field;
  if (!isSeq(node)) {
    wrongType(ctx, at, 'a list', node);
    return [];
  }
  const out: T[] = [];
  node.items.forEach((raw, i) => {
    const child = resolve(ctx, raw);
    const read = item(child, childAt(ctx, at, i, child));
    if (read !== undefined) out.push(read);
  });
  return out;
}

function readReplace(ctx: Context, node: unknown, at: Position): RawReplace | undefined {
  const read = readFields(ctx, node, at, REPLACES_KEYS);
  if (read === undefined) return undefined;
  return { at, name: readString(ctx, read.fields.name) };
}

function readRateLimit(ctx: Context, node: unknown, at: Position): RawRateLimit | undefined {
  const read = readFields(ctx, node, at, RATE_LIMIT_KEYS);
  if (read === undefined) return undefined;
  const { fields, keys } = read;
  return {
    at,
    keys,
    requestsPerUnit: readNumber(ctx, fields.requests_per_unit),
    unit: readString(ctx, fields.unit),
    unlimited: readBoolean(ctx, fields.unlimited),
    name: readString(ctx, fields.name),
    replaces: readList(ctx, fields.replaces, (n, a) => readReplace(ctx, n, a)),
    algorithm: readString(ctx, fields.algorithm),
    capacity: readNumber(ctx, fields.capacity),
    burst: readNumber(ctx, fields.burst),
    overdraft: readBoolean(ctx, fields.overdraft),
  };
}

function readDescriptor(ctx: Context, node: unknown, at: Position): RawDescriptor | undefined {
  const read = readFields(ctx, node, at, DESCRIPTOR_KEYS);
  if (read === undefined) return undefined;
  const { fields, keys } = read;
  const rateLimit = fields.rate_limit === undefined ? undefined : readRateLimit(ctx, fields.rate_limit.node, fields.rate_limit.at);
  const list = fields.rate_limits;
  return {
    at,
    keys,
    key: readString(ctx, fields.key),
    value: readString(ctx, fields.value),
    rateLimit,
    rateLimits: list === undefined ? undefined : { value: readList(ctx, list, (n, a) => readRateLimit(ctx, n, a)), at: list.at },
    shadowMode: readBoolean(ctx, fields.shadow_mode),
    detailedMetric: readBoolean(ctx, fields.detailed_metric),
    quotaMode: readBoolean(ctx, fields.quota_mode),
    valueToMetric: readBoolean(ctx, fields.value_to_metric),
    shareThreshold: readBoolean(ctx, fields.share_threshold),
    metadata: readMapping(ctx, fields.metadata),
    descriptors: readList(ctx, fields.descriptors, (n, a) => readDescriptor(ctx, n, a)),
  };
}

/** Keys equal as the YAML library compares them: the same scalar value (`a` and `"a"`, not `1` and `"1"`). */
function keyIdentity(node: unknown): string | undefined {
  return isScalar(node) ? `${typeof node.value}:${String(node.value)}` : undefined;
}

/**
 * Every key written twice in one mapping, anywhere in the document (metadata included), named with
 * its line, path and the line of its first occurrence: the YAML library's own error names neither.
 */
function reportDuplicateKeys(ctx: Context, node: unknown, at: Position): void {
  if (isSeq(node)) {
    node.items.forEach((item, i) => {
      reportDuplicateKeys(ctx, item, childAt(ctx, at, i, item));
    });
    return;
  }
  if (!isMap(node)) return;
  const firstLines = new Map<string, number>();
  for (const pair of node.items) {
    const identity = keyIdentity(pair.key);
    const name = isScalar(pair.key) ? String(pair.key.source ?? pair.key.value) : '?';
    const keyAt = childAt(ctx, at, name, pair.key);
    const first = identity === undefined ? undefined : firstLines.get(identity);
    if (first !== undefined) {
      ctx.errors.push(configError('RG_CONFIG_DUPLICATE_YAML_KEY', keyAt, `key ${JSON.stringify(name)} written twice in one mapping (first at line ${first})`));
    } else if (identity !== undefined) {
      firstLines.set(identity, keyAt.line);
    }
    reportDuplicateKeys(ctx, pair.value, childAt(ctx, at, name, pair.value ?? pair.key));
  }
}

function firstLine(message: string): string {
  return message.split('\n', 1)[0] ?? message;
}

/**
 * Parses one file. Returns the tree when the YAML parsed (shape errors may still have been
 * reported: the tree then holds what could be read), undefined when the YAML itself is broken.
 */
export function readConfigDocument(file: string, text: string, errors: ConfigError[]): RawFile | undefined {
  const lines = new LineCounter();
  // YAML 1.1 as Go's yaml.v2 reads it (yes/no booleans, 010 octal); merge keys off, so `<<` is reported.
  // Duplicate keys are found by reportDuplicateKeys, which can name them.
  const doc = parseDocument(text, { lineCounter: lines, version: '1.1', merge: false, prettyErrors: false, uniqueKeys: false });
  if (doc.errors.length > 0) {
    // An "unexpected end" error sits past the last character: point at the last line with text.
    const lastText = Math.max(0, text.trimEnd().length - 1);
    for (const error of doc.errors) {
      const line = lines.linePos(Math.min(error.pos[0], lastText)).line;
      errors.push(configError('RG_CONFIG_YAML_SYNTAX', { file, line, path: '' }, firstLine(error.message)));
    }
    return undefined;
  }
  const ctx: Context = { file, doc, lines, errors };
  const root: Position = { file, line: 1, path: '' };
  if (isNull(doc.contents)) {
    errors.push(configError('RG_CONFIG_EMPTY_FILE', { file, line: 0, path: '' }, 'file holds no document (expected domain and descriptors)'));
    return undefined;
  }
  const errorsBefore = errors.length;
  reportDuplicateKeys(ctx, doc.contents, root);
  // Which of two values a key means is unknowable: nothing more is read from the file.
  if (errors.length > errorsBefore) return undefined;
  const read = readFields(ctx, doc.contents, { ...root, line: lineOf(ctx, doc.contents, 1) }, ROOT_KEYS);
  if (read === undefined) return undefined;
  const { fields, keys } = read;
  return {
    file,
    at: root,
    keys,
    domain: readString(ctx, fields.domain),
    descriptors: readList(ctx, fields.descriptors, (n, a) => readDescriptor(ctx, n, a)),
  };
}
