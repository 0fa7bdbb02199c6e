/**
 * Validated raw files → per-domain matching tables. Each level of the descriptor tree becomes
 * three lookups in the order the reference tries them: exact key+value (nested Maps, so no string
 * is built per request), wildcard values of the key (config order, precompiled), key-only default.
 */
import type { Algorithm } from '../engine/limit.js';
import type { Position } from './errors.js';
import type { LimitDefaults, LimitInterner } from './limits.js';
import type { RawDescriptor, RawFile, RawRateLimit } from './read-document.js';
import { compositeKey, effectiveAlgorithm } from './rules.js';
import type { ConfiguredLimit, DescriptorRule } from './types.js';
import { parseUnit, unitProtoName } from './units.js';
import { compileWildcard, isWildcard, type WildcardPattern } from './wildcard.js';

export interface IndexNode {
  /** Set when the config node has limits (or is unlimited); a placeholder node has none. */
  readonly rule: DescriptorRule | undefined;
  readonly children: LevelIndex | undefined;
  /**
   * `share_threshold` on a wildcard entry: the pattern, which stands for the request's value in the
   * bucket identity, so every value matching it shares one bucket.
   */
  readonly sharedValue: string | undefined;
  /** `value_to_metric`: this level of a metric key is `<key>_<request value>` (see metricKeyFor). */
  readonly valueToMetric: boolean;
  /** This level of a metric key from the config: `key_value`, or `key` for a key-only entry. */
  readonly metricPart: string;
}

export interface WildcardNode {
  readonly pattern: WildcardPattern;
  readonly node: IndexNode;
}

export interface LevelIndex {
  readonly exact: ReadonlyMap<string, ReadonlyMap<string, IndexNode>>;
  readonly wildcards: ReadonlyMap<string, readonly WildcardNode[]>;
  readonly defaults: ReadonlyMap<string, IndexNode>;
}

export interface DomainIndex {
  readonly domain: string;
  readonly file: string;
  readonly root: LevelIndex;
  /** Every rule of the domain in config order (for dumps, diffs and stats registration). */
  readonly rules: readonly DescriptorRule[];
  /** Whether any limit of the domain has `replaces`: lets `applyReplaces` skip its work. */
  readonly hasReplaces: boolean;
}

interface BuildContext {
  readonly domain: string;
  readonly defaultAlgorithm: Algorithm;
  /** Overdraft of a limit that does not say (`--overdraft`). */
  readonly defaultOverdraft: boolean;
  readonly limits: LimitInterner;
  readonly rules: DescriptorRule[];
}

function metricSuffix(rateLimit: RawRateLimit, inList: boolean): string {
  if (!inList) return '';
  const name = rateLimit.name?.value;
  if (name !== undefined && name !== '') return `.${name}`;
  return `.${rateLimit.requestsPerUnit?.value ?? 0}_per_${rateLimit.unit?.value.toLowerCase() ?? ''}`;
}

function buildConfiguredLimit(ctx: BuildContext, d: RawDescriptor, rateLimit: RawRateLimit, fullKey: string, index: number, inList: boolean): ConfiguredLimit {
  const name = rateLimit.name?.value || undefined;
  const replaces = Object.freeze(rateLimit.replaces.map((r) => r.name?.value ?? ''));
  const shadowMode = d.shadowMode?.value ?? false;
  const detailedMetric = d.detailedMetric?.value ?? false;
  const common = { name, replaces, shadowMode, detailedMetric, metricSuffix: metricSuffix(rateLimit, inList), source: rateLimit.at };
  if (rateLimit.unlimited?.value === true) {
    return Object.freeze({
      ...common,
      limit: undefined,
      unlimited: true,
      algorithm: undefined,
      rateLimit: Object.freeze({ name: name ?? '', requestsPerUnit: 0, unit: 'UNKNOWN' as const }),
      fingerprint: `${fullKey}[${index}]@unlimited`,
    });
  }
  // The rules have run: unit is known and requests_per_unit is a uint32 here.
  const unit = parseUnit(rateLimit.unit?.value ?? '') ?? 'second';
  const requestsPerUnit = rateLimit.requestsPerUnit?.value ?? 0;
  const algorithm = effectiveAlgorithm(rateLimit, { defaultAlgorithm: ctx.defaultAlgorithm });
  const capacity = (rateLimit.capacity ?? rateLimit.burst)?.value;
  const overdraft = rateLimit.overdraft?.value ?? ctx.defaultOverdraft;
  const limit = ctx.limits.get({ algorithm, requestsPerUnit, unit, capacity, overdraft });
  return Object.freeze({
    ...common,
    limit,
    unlimited: false,
    algorithm,
    rateLimit: Object.freeze({ name: name ?? '', requestsPerUnit, unit: unitProtoName(unit) }),
    fingerprint: `${fullKey}[${index}]@${limit.id}`,
  });
}

function buildRule(ctx: BuildContext, d: RawDescriptor, fullKey: string, depth: number, valueToMetricOnPath: boolean): DescriptorRule | undefined {
  const raw: [RawRateLimit, boolean][] = d.rateLimit !== undefined ? [[d.rateLimit, false]] : (d.rateLimits?.value ?? []).map((r) => [r, true]);
  if (raw.length === 0) return undefined;
  const limits = Object.freeze(raw.map(([r, inList], i) => buildConfiguredLimit(ctx, d, r, fullKey, i, inList)));
  const source: Position = d.at;
  return Object.freeze({
    domain: ctx.domain,
    fullKey,
    depth,
    limits,
    shadowMode: d.shadowMode?.value ?? false,
    detailedMetric: d.detailedMetric?.value ?? false,
    quotaMode: d.quotaMode?.value ?? false,
    metadata: d.metadata?.value,
    source,
    runtimeMetricKey: (d.detailedMetric?.value ?? false) || valueToMetricOnPath,
  });
}

function buildLevel(ctx: BuildContext, descriptors: readonly RawDescriptor[], parentKey: string, depth: number, valueToMetricAbove = false): LevelIndex {
  const exact = new Map<string, Map<string, IndexNode>>();
  const wildcards = new Map<string, WildcardNode[]>();
  const defaults = new Map<string, IndexNode>();
  for (const d of descriptors) {
    const key = d.key?.value ?? '';
    const value = d.value?.value ?? '';
    const metricPart = compositeKey(d);
    const fullKey = `${parentKey}.${metricPart}`;
    const valueToMetric = d.valueToMetric?.value ?? false;
    const rule = buildRule(ctx, d, fullKey, depth, valueToMetricAbove || valueToMetric);
    if (rule !== undefined) ctx.rules.push(rule);
    const children = d.descriptors.length > 0 ? buildLevel(ctx, d.descriptors, fullKey, depth + 1, valueToMetricAbove || valueToMetric) : undefined;
    const sharedValue = d.shareThreshold?.value === true ? value : undefined;
    const node: IndexNode = Object.freeze({ rule, children, sharedValue, valueToMetric, metricPart });
    if (value === '') {
      defaults.set(key, node);
    } else if (isWildcard(value)) {
      const list = wildcards.get(key) ?? [];
      list.push(Object.freeze({ pattern: compileWildcard(value), node }));
      wildcards.set(key, list);
    } else {
      const byValue = exact.get(key) ?? new Map<string, IndexNode>();
      byValue.set(value, node);
      exact.set(key, byValue);
    }
  }
  return Object.freeze({ exact, wildcards, defaults });
}

/** Builds the index of one validated file (its domain is known and unique). */
export function buildDomainIndex(file: RawFile, defaults: LimitDefaults, limits: LimitInterner): DomainIndex {
  const domain = file.domain?.value ?? '';
  const ctx: BuildContext = { domain, defaultAlgorithm: defaults.algorithm, defaultOverdraft: defaults.overdraft, limits, rules: [] };
  const root = buildLevel(ctx, file.descriptors, domain, 1);
  const rules = Object.freeze(ctx.rules);
  const hasReplaces = rules.some((rule) => rule.limits.some((l) => l.replaces.length > 0));
  return Object.freeze({ domain, file: file.file, root, rules, hasReplaces });
}
