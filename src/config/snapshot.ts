/**
 * An immutable, pre-indexed config: what the service matches against. A reload builds a new
 * snapshot and swaps the reference; nothing in a snapshot changes after it is built (the override
 * cache only memoises pure results).
 */
import { encodeIdentity } from '../engine/keys.js';
import type { Algorithm, Unit } from '../engine/limit.js';
import type { DomainIndex } from './build-index.js';
import { buildLimit } from './limits.js';
import { applyReplaces, matchDescriptor } from './match.js';
import type { ConfiguredLimit, DescriptorEntry, DescriptorMatch, DescriptorRule } from './types.js';
import { unitFromEnum, unitProtoName } from './units.js';

/** A limit the request itself carries (RLS `RateLimitDescriptor.limit`). */
export interface LimitOverride {
  readonly requestsPerUnit: number;
  /** The proto enum number (SECOND=1 … WEEK=7) or a unit name. */
  readonly unit: number | Unit;
}

export interface SnapshotJson {
  readonly files: readonly string[];
  readonly defaultAlgorithm: Algorithm;
  readonly domains: readonly {
    readonly domain: string;
    readonly file: string;
    readonly rules: readonly {
      readonly key: string;
      readonly line: number;
      readonly shadowMode: boolean;
      readonly detailedMetric: boolean;
      readonly quotaMode: boolean;
      readonly limits: readonly {
        readonly name: string | undefined;
        readonly unit: string;
        readonly requestsPerUnit: number;
        readonly unlimited: boolean;
        readonly algorithm: Algorithm | undefined;
        readonly capacity: number | undefined;
        readonly replaces: readonly string[];
        readonly fingerprint: string;
      }[];
    }[];
  }[];
}

const MAX_OVERRIDE_CACHE = 1024;

/** The reference's key for an override: every entry, `key_value` (or `key` when the value is empty). */
function overrideMetricKey(domain: string, entries: readonly DescriptorEntry[]): string {
  let key = domain;
  for (const entry of entries) key += entry.value === '' ? `.${entry.key}` : `.${entry.key}_${entry.value}`;
  return key;
}

export class ConfigSnapshot {
  private readonly overrides = new Map<string, readonly ConfiguredLimit[]>();
  private readonly hasReplaces: boolean;

  /** Prefer `loadConfig`/`loadConfigSources`, which validate before building. */
  constructor(
    readonly domains: ReadonlyMap<string, DomainIndex>,
    readonly files: readonly string[],
    /** Hash of the loaded files' names and contents and the options: equal digests, equal configs. */
    readonly digest: string,
    readonly defaultAlgorithm: Algorithm,
    /** Overdraft of every limit that does not say, request-supplied overrides too. */
    readonly defaultOverdraft: boolean,
  ) {
    this.hasReplaces = [...domains.values()].some((d) => d.hasReplaces);
    Object.freeze(this);
  }

  hasDomain(domain: string): boolean {
    return this.domains.has(domain);
  }

  /** The limits for one request descriptor; undefined when the domain is unknown or nothing matches. */
  match(domain: string, entries: readonly DescriptorEntry[]): DescriptorMatch | undefined {
    return matchDescriptor(this.domains.get(domain), entries);
  }

  /**
   * A request-supplied limit, as the reference treats it: used instead of the config for that
   * descriptor, but only for a known domain; never shadowed, no name, metric key from all entries.
   * Undefined for an unknown domain, an UNKNOWN unit or a requests_per_unit that is not a uint32.
   */
  matchOverride(domain: string, entries: readonly DescriptorEntry[], override: LimitOverride): DescriptorMatch | undefined {
    if (!this.domains.has(domain)) return undefined;
    const limits = this.overrideLimits(override);
    if (limits === undefined) return undefined;
    return { rule: undefined, limits, identity: encodeIdentity(domain, entries), metricKey: overrideMetricKey(domain, entries) };
  }

  private overrideLimits(override: LimitOverride): readonly ConfiguredLimit[] | undefined {
    const unit = typeof override.unit === 'number' ? unitFromEnum(override.unit) : override.unit;
    const rpu = override.requestsPerUnit;
    if (unit === undefined || !Number.isInteger(rpu) || rpu < 0 || rpu > 4_294_967_295) return undefined;
    const cacheKey = `${rpu}/${unit}`;
    const cached = this.overrides.get(cacheKey);
    if (cached !== undefined) return cached;
    const limit = buildLimit({ algorithm: this.defaultAlgorithm, requestsPerUnit: rpu, unit, overdraft: this.defaultOverdraft });
    const configured: ConfiguredLimit = Object.freeze({
      limit,
      unlimited: false,
      algorithm: this.defaultAlgorithm,
      name: undefined,
      replaces: Object.freeze([]),
      rateLimit: Object.freeze({ name: '', requestsPerUnit: rpu, unit: unitProtoName(unit) }),
      shadowMode: false,
      detailedMetric: false,
      metricSuffix: '',
      fingerprint: `override@${limit.id}`,
      source: Object.freeze({ file: '', line: 0, path: '' }),
    });
    const limits = Object.freeze([configured]);
    // Requests choose these numbers: bound the memo so they cannot grow it without end.
    if (this.overrides.size >= MAX_OVERRIDE_CACHE) this.overrides.clear();
    this.overrides.set(cacheKey, limits);
    return limits;
  }

  /** See `applyReplaces` in match.ts; free when no limit of the config has `replaces`. */
  applyReplaces(matches: readonly (DescriptorMatch | undefined)[]): readonly (DescriptorMatch | undefined)[] {
    return this.hasReplaces ? applyReplaces(matches) : matches;
  }

  /** Every rule, domain by domain, in config order. */
  rules(): DescriptorRule[] {
    return [...this.domains.values()].flatMap((d) => d.rules);
  }

  limits(): ConfiguredLimit[] {
    return this.rules().flatMap((rule) => rule.limits);
  }

  fingerprints(): Set<string> {
    return new Set(this.limits().map((l) => l.fingerprint));
  }

  /**
   * The `/rlconfig` text: the reference's line per limit
   * (`domain.key_value: unit=MINUTE requests_per_unit=10, shadow_mode: false, quota_mode: false`), in config order,
   * followed by rateguard's fields (algorithm, capacity, overdraft) so the dump says what is enforced.
   */
  dump(): string {
    let out = '';
    for (const rule of this.rules()) {
      for (const l of rule.limits) {
        out += `${rule.fullKey}${l.metricSuffix}: unit=${l.rateLimit.unit} requests_per_unit=${l.rateLimit.requestsPerUnit}, shadow_mode: ${l.shadowMode}, quota_mode: ${rule.quotaMode}`;
        if (l.unlimited) out += ', unlimited: true';
        else if (l.limit !== undefined) {
          out += `, algorithm: ${l.limit.algorithm}`;
          if (l.limit.algorithm === 'token_bucket') out += `, capacity: ${l.limit.capacity}`;
          if (l.limit.overdraft) out += ', overdraft: true';
        }
        out += '\n';
      }
    }
    return out;
  }

  toJSON(): SnapshotJson {
    return {
      files: this.files,
      defaultAlgorithm: this.defaultAlgorithm,
      domains: [...this.domains.values()].map((d) => ({
        domain: d.domain,
        file: d.file,
        rules: d.rules.map((rule) => ({
          key: rule.fullKey,
          line: rule.source.line,
          shadowMode: rule.shadowMode,
          detailedMetric: rule.detailedMetric,
          quotaMode: rule.quotaMode,
          limits: rule.limits.map((l) => ({
            name: l.name,
            unit: l.rateLimit.unit,
            requestsPerUnit: l.rateLimit.requestsPerUnit,
            unlimited: l.unlimited,
            algorithm: l.algorithm,
            capacity: l.limit?.algorithm === 'token_bucket' ? l.limit.capacity : undefined,
            replaces: l.replaces,
            fingerprint: l.fingerprint,
          })),
        })),
      })),
    };
  }
}

export interface SnapshotDiff {
  /** Limits in both snapshots: their buckets carry over. */
  readonly kept: readonly string[];
  readonly added: readonly string[];
  readonly removed: readonly string[];
}

/** Which limits a reload kept, added and removed, by fingerprint. */
export function diffSnapshots(previous: ConfigSnapshot | undefined, next: ConfigSnapshot): SnapshotDiff {
  const before = previous?.fingerprints() ?? new Set<string>();
  const after = next.fingerprints();
  return {
    kept: [...after].filter((f) => before.has(f)),
    added: [...after].filter((f) => !before.has(f)),
    removed: [...before].filter((f) => !after.has(f)),
  };
}
