/**
 * The `GET /stats` document: decision totals per domain and per limit (the same numbers as
 * /metrics), the top limited identities (their values shown as `--stats-identities` says), Redis
 * health and the loaded config.
 */
import type { ConfigSnapshot } from '../config/index.js';
import { type DomainTotals, emptyDomainTotals, type TopLimited } from '../observe/decision-stats.js';
import type { LimitCounts } from '../observe/limit-counts.js';
import type { ConfigLoads, Observability } from '../observe/observability.js';
import type { RedisStatus } from '../observe/redis-telemetry.js';
import { displayDescriptor, type IdentityDisplay } from './identity-display.js';

export interface StatsReport {
  readonly generatedAt: string;
  readonly uptimeSeconds: number;
  readonly nearLimitRatio: number;
  readonly totals: DomainTotals;
  readonly domains: readonly ({ readonly domain: string } & DomainTotals)[];
  readonly limits: readonly ({ readonly domain: string; readonly key: string } & LimitCounts)[];
  /** How `topLimited` descriptor values are shown. */
  readonly identities: IdentityDisplay;
  readonly topLimited: readonly TopLimited[];
  readonly store: { readonly kind: 'memory' | 'redis'; readonly redis: RedisStatus | undefined };
  readonly config: {
    readonly files: readonly string[];
    readonly digest: string;
    readonly domains: readonly string[];
    readonly limits: number;
    readonly loads: ConfigLoads;
  };
  readonly admin: { readonly tokenRequired: boolean; readonly mayReset: boolean };
}

export interface StatsSources {
  readonly observability: Observability;
  readonly config: () => ConfigSnapshot;
  readonly identities: IdentityDisplay;
}

function sumTotals(all: Iterable<Readonly<DomainTotals>>): DomainTotals {
  const sum = emptyDomainTotals();
  for (const totals of all) for (const field of Object.keys(sum) as (keyof DomainTotals)[]) sum[field] += totals[field];
  return sum;
}

export function statsReport(sources: StatsSources, top: number, admin: StatsReport['admin']): StatsReport {
  const { stats, configLoads, redis } = sources.observability;
  const config = sources.config();
  const domains = stats.domainTotals();
  return {
    generatedAt: new Date().toISOString(),
    uptimeSeconds: (Date.now() - stats.startedAt) / 1000,
    nearLimitRatio: stats.nearLimitRatio,
    totals: sumTotals(domains.values()),
    domains: [...domains].map(([domain, totals]) => ({ domain, ...totals })),
    limits: [...stats.limitTotals()].map(({ domain, key, counts }) => ({ domain, key, ...counts })),
    identities: sources.identities,
    topLimited: stats.topLimited(top).map((entry) => ({ ...entry, descriptor: displayDescriptor(entry.descriptor, sources.identities) })),
    store: redis === undefined ? { kind: 'memory', redis: undefined } : { kind: 'redis', redis: redis.status() },
    config: {
      files: config.files,
      digest: config.digest,
      domains: [...config.domains.keys()],
      limits: config.limits().length,
      loads: configLoads,
    },
    admin,
  };
}
