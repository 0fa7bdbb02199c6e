/**
 * The one place decisions are counted: per-domain request totals, envoyproxy/ratelimit's
 * per-limit counters, and the top limited identities. `/stats` reads it directly and the
 * Prometheus families are views of it, so the two always agree. Memory is bounded whatever the
 * traffic: label keys by BoundedKeys, identities by Space-Saving.
 */
import type { DecisionObserver, LimitOutcome, RequestOutcome } from '../service/decision-observer.js';
import type { DescriptorEntry } from '../rls/codec.js';
import { BoundedKeys, OVERFLOW_KEY } from './bounded-keys.js';
import { addLimitCounts, type CountingRules, type LimitCounts, zeroCounts } from './limit-counts.js';
import { SpaceSaving } from './space-saving.js';

/** How requests of one domain came out. `overLimit + shadowOverLimit + allowed = requests`. */
export interface DomainTotals {
  requests: number;
  allowed: number;
  overLimit: number;
  /** Allowed only because every limit that denied was in shadow mode. */
  shadowOverLimit: number;
  /** Decided by the failure mode while the store was unavailable (also counted above). */
  failureMode: number;
  /** Denied by the local over-limit cache without asking the store (also counted above). */
  localCache: number;
  /** Requests for a domain the config does not have (also counted above, as allowed). */
  domainNotFound: number;
}

export interface LimitTotals {
  readonly domain: string;
  /** The metric key without its domain: `key_value.key2` (values only with detailed_metric). */
  readonly key: string;
  readonly counts: LimitCounts;
}

export interface LimitedIdentity {
  readonly domain: string;
  readonly descriptor: readonly DescriptorEntry[];
}

export interface TopLimited extends LimitedIdentity {
  /** Limited requests (an upper bound: Space-Saving). */
  readonly limited: number;
  /** How much of `limited` may belong to identities this one displaced. */
  readonly error: number;
}

export interface DecisionStatsOptions extends CountingRules {
  /** Identities the top-K tracks; the heaviest are exact once they pass total/capacity. Default 256. */
  readonly topCapacity?: number;
  /** Most distinct domains and metric keys kept; more fold into `_other`. Default 10 000. */
  readonly maxSeries?: number;
  /** Told once when a label is folded into `_other`. */
  readonly onOverflow?: (kind: 'domain' | 'metric key', key: string) => void;
}

export function emptyDomainTotals(): DomainTotals {
  return { requests: 0, allowed: 0, overLimit: 0, shadowOverLimit: 0, failureMode: 0, localCache: 0, domainNotFound: 0 };
}

/** The top-K key of an identity: injective (JSON of the parts). */
export function identityKey(domain: string, descriptor: readonly DescriptorEntry[]): string {
  return JSON.stringify([domain, ...descriptor.map((e) => [e.key, e.value])]);
}

function limitedByEnforcement(limit: LimitOutcome): boolean {
  return !limit.allowed && !limit.shadow;
}

export class DecisionStats implements DecisionObserver {
  readonly startedAt = Date.now();
  private readonly domains = new Map<string, DomainTotals>();
  private readonly limits = new Map<string, LimitTotals>();
  private readonly domainKeys: BoundedKeys;
  private readonly metricKeys: BoundedKeys;
  private readonly top: SpaceSaving<LimitedIdentity>;

  constructor(private readonly options: DecisionStatsOptions) {
    const max = options.maxSeries ?? 10_000;
    this.domainKeys = new BoundedKeys(max, (key) => options.onOverflow?.('domain', key));
    this.metricKeys = new BoundedKeys(max, (key) => options.onOverflow?.('metric key', key));
    this.top = new SpaceSaving(options.topCapacity ?? 256);
  }

  get nearLimitRatio(): number {
    return this.options.nearLimitRatio;
  }

  observe(outcome: RequestOutcome): void {
    this.countRequest(outcome);
    for (const limit of outcome.limits) this.countLimit(limit, outcome);
    this.countLimitedIdentities(outcome);
  }

  /** Every domain's totals, in first-seen order. */
  domainTotals(): ReadonlyMap<string, Readonly<DomainTotals>> {
    return this.domains;
  }

  /** Requests the failure mode decided, over every domain. */
  failureModeDecisions(): number {
    let total = 0;
    for (const totals of this.domains.values()) total += totals.failureMode;
    return total;
  }

  /** Every limit's counters, in first-seen order. */
  limitTotals(): Iterable<LimitTotals> {
    return this.limits.values();
  }

  /** The `n` most limited identities, most limited first. */
  topLimited(n: number): TopLimited[] {
    return this.top.top(n).map(({ item, count, error }) => ({ ...item, limited: count, error }));
  }

  /** Drops an identity from the top-K: its buckets were reset. */
  forgetIdentity(domain: string, descriptor: readonly DescriptorEntry[]): void {
    this.top.remove(identityKey(domain, descriptor));
  }

  private countRequest(outcome: RequestOutcome): void {
    const domain = this.domainKeys.admit(outcome.domain);
    let totals = this.domains.get(domain);
    if (totals === undefined) {
      totals = emptyDomainTotals();
      this.domains.set(domain, totals);
    }
    totals.requests += 1;
    if (outcome.overLimit) totals.overLimit += 1;
    else if (outcome.limits.some((l) => !l.allowed && l.shadow)) totals.shadowOverLimit += 1;
    else totals.allowed += 1;
    if (outcome.source === 'failure_mode') totals.failureMode += 1;
    if (outcome.source === 'local_cache') totals.localCache += 1;
    if (outcome.domainNotFound === true) totals.domainNotFound += 1;
  }

  private countLimit(limit: LimitOutcome, request: RequestOutcome): void {
    const metricKey = this.metricKeys.admit(limit.metricKey);
    let totals = this.limits.get(metricKey);
    if (totals === undefined) {
      const folded = metricKey === OVERFLOW_KEY;
      const key = folded ? OVERFLOW_KEY : limit.metricKey.slice(limit.domain.length + 1);
      totals = { domain: folded ? OVERFLOW_KEY : limit.domain, key, counts: zeroCounts() };
      this.limits.set(metricKey, totals);
    }
    addLimitCounts(totals.counts, limit, request, this.options);
  }

  /** Each descriptor a request was limited on counts once, however many of its limits denied. */
  private countLimitedIdentities(outcome: RequestOutcome): void {
    // A failure-mode denial says nothing about the client.
    if (!outcome.overLimit || outcome.source === 'failure_mode') return;
    let seen: Set<readonly DescriptorEntry[]> | undefined;
    for (const limit of outcome.limits) {
      if (!limitedByEnforcement(limit) || seen?.has(limit.entries) === true) continue;
      seen ??= new Set();
      seen.add(limit.entries);
      const descriptor = limit.entries.map(({ key, value }) => ({ key, value }));
      this.top.add(identityKey(outcome.domain, descriptor), { domain: outcome.domain, descriptor });
    }
  }
}
