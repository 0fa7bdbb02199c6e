/**
 * One client's buckets as an operator sees them: looked up through the same config match and
 * bucket keys as ShouldRateLimit, read with a cost-0 decision (which charges and writes nothing),
 * and reset through the store (whose layers also clear their local over-limit cache).
 */
import type { ConfigSnapshot, ConfiguredLimit, DescriptorMatch } from '../config/index.js';
import { bucketKey } from '../engine/keys.js';
import { US_PER_SECOND } from '../engine/limit.js';
import type { BucketResult, Decision } from '../engine/plan.js';
import type { DescriptorEntry } from '../rls/codec.js';
import { isStoreError, type BucketStore } from '../stores/store.js';

export interface BucketAdminOptions {
  readonly store: BucketStore;
  readonly config: () => ConfigSnapshot;
  readonly keyPrefix: string;
}

export interface BucketView {
  /** The limit's metric key (as in /metrics and /stats). */
  readonly limit: string;
  readonly name: string | undefined;
  readonly algorithm: string;
  readonly unit: string;
  readonly requestsPerUnit: number;
  readonly shadowMode: boolean;
  readonly capacity: number;
  /** Exact tokens left (fractional for a token bucket); for a fixed window, hits left in the window. */
  readonly tokens: number;
  readonly remaining: number;
  /** Token bucket: tokens added per second. Fixed window: undefined (it empties at the window's end). */
  readonly refillPerSecond: number | undefined;
  /** Token bucket: seconds until full. Fixed window: seconds until the window ends. */
  readonly secondsToFull: number;
}

/**
 * Who gave the numbers: the store, or (while Redis is unavailable) the failure mode, whose buckets
 * are this process's own estimate and never reach the store.
 */
export type BucketSource = 'store' | NonNullable<Decision['source']>;

export type AdminResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly status: 404 | 503; readonly error: string };

interface Located {
  readonly match: DescriptorMatch;
  readonly limits: readonly (ConfiguredLimit & { readonly limit: NonNullable<ConfiguredLimit['limit']> })[];
  readonly keys: readonly string[];
}

function hasBucket(configured: ConfiguredLimit): configured is ConfiguredLimit & { readonly limit: NonNullable<ConfiguredLimit['limit']> } {
  return configured.limit !== undefined;
}

function view(match: DescriptorMatch, configured: Located['limits'][number], result: BucketResult): BucketView {
  const { limit } = configured;
  return {
    limit: match.metricKey + configured.metricSuffix,
    name: configured.name,
    algorithm: limit.algorithm,
    unit: configured.rateLimit.unit,
    requestsPerUnit: configured.rateLimit.requestsPerUnit,
    shadowMode: configured.shadowMode,
    // The capacity the answer was computed with: a failure mode's local share may hold less.
    capacity: result.limit,
    tokens: result.level,
    remaining: result.remaining,
    refillPerSecond: limit.algorithm === 'token_bucket' ? (limit.refillTokens * US_PER_SECOND) / limit.periodUs : undefined,
    secondsToFull: result.resetUs / US_PER_SECOND,
  };
}

export class BucketAdmin {
  constructor(private readonly options: BucketAdminOptions) {}

  /** The descriptor's buckets, uncharged. */
  async inspect(domain: string, descriptor: readonly DescriptorEntry[]): Promise<AdminResult<{ source: BucketSource; buckets: BucketView[] }>> {
    const located = this.locate(domain, descriptor);
    if (!located.ok) return located;
    const { match, limits, keys } = located.value;
    if (keys.length === 0) return { ok: true, value: { source: 'store', buckets: [] } };
    try {
      const decision = await this.options.store.decide({
        mode: 'all_or_nothing',
        buckets: limits.map((configured, i) => ({ key: keys[i]!, limit: configured.limit, cost: 0 })),
      });
      const buckets = limits.map((configured, i) => view(match, configured, decision.buckets[i]!));
      return { ok: true, value: { source: decision.source ?? 'store', buckets } };
    } catch (error) {
      if (!isStoreError(error)) throw error;
      return { ok: false, status: 503, error: error.message };
    }
  }

  /** Deletes the descriptor's buckets; `cleared` counts those that existed. */
  async reset(domain: string, descriptor: readonly DescriptorEntry[]): Promise<AdminResult<{ buckets: number; cleared: number }>> {
    const located = this.locate(domain, descriptor);
    if (!located.ok) return located;
    const { keys } = located.value;
    try {
      const cleared = keys.length === 0 ? 0 : await this.options.store.reset(keys);
      return { ok: true, value: { buckets: keys.length, cleared } };
    } catch (error) {
      if (!isStoreError(error)) throw error;
      return { ok: false, status: 503, error: error.message };
    }
  }

  private locate(domain: string, descriptor: readonly DescriptorEntry[]): AdminResult<Located> {
    const config = this.options.config();
    if (!config.hasDomain(domain)) return { ok: false, status: 404, error: `unknown domain ${JSON.stringify(domain)}` };
    // As the service plans one descriptor: without the limits another of its limits replaces.
    const match = config.applyReplaces([config.match(domain, descriptor)])[0];
    if (match === undefined) return { ok: false, status: 404, error: 'no limit of the config matches this descriptor' };
    const limits = match.limits.filter(hasBucket);
    const keys = limits.map((configured) => bucketKey(this.options.keyPrefix, configured.limit.id, match.identity));
    return { ok: true, value: { match, limits, keys } };
  }
}
