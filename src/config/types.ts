/**
 * What a loaded config gives the service for one request descriptor. Everything here is built once
 * per load, frozen and shared: the hot path returns these objects, it does not copy them.
 */
import type { Algorithm, Limit } from '../engine/limit.js';
import type { Position } from './errors.js';
import type { RateLimitUnitName } from './units.js';

/** One entry of a request descriptor (structurally the engine's `IdentityEntry`). */
export interface DescriptorEntry {
  readonly key: string;
  readonly value: string;
}

/** `RateLimitResponse.RateLimit` of RLS v3, as the response's `current_limit` carries it. */
export interface ResponseRateLimit {
  /** The limit's `name`; '' when it has none (proto3 default). */
  readonly name: string;
  readonly requestsPerUnit: number;
  /** The proto enum name; UNKNOWN for an unlimited limit (whose status carries no current_limit, as in the reference). */
  readonly unit: RateLimitUnitName;
}

/** One limit of a config node: a `rate_limit`, or one entry of `rate_limits`. */
export interface ConfiguredLimit {
  /** The engine limit, built at load; undefined when unlimited (nothing to store). */
  readonly limit: Limit | undefined;
  readonly unlimited: boolean;
  readonly algorithm: Algorithm | undefined;
  readonly name: string | undefined;
  /** Names of the limits this one replaces when both match one request. */
  readonly replaces: readonly string[];
  readonly rateLimit: ResponseRateLimit;
  /** From the descriptor: evaluated and counted, reported OK. */
  readonly shadowMode: boolean;
  readonly detailedMetric: boolean;
  /**
   * Appended to the match's metric key: '' for `rate_limit`; for an entry of `rate_limits`,
   * `.<name>` or `.<requests_per_unit>_per_<unit>`, so each limit of a list has its own counters.
   */
  readonly metricSuffix: string;
  /**
   * Stable across reloads while the limit's place and numbers stay the same:
   * `<full key>[<index>]@<Limit.id | unlimited>`. Diff two snapshots' fingerprints to see
   * which limits a reload kept (their buckets live on, since bucket keys hold `Limit.id`).
   */
  readonly fingerprint: string;
  readonly source: Position;
}

/** A config node that carries limits. */
export interface DescriptorRule {
  readonly domain: string;
  /** The reference's FullKey: `domain.key_value.key2` (config values; a key-only level is just `key`). */
  readonly fullKey: string;
  /** Number of entries a request descriptor must have to use this node. */
  readonly depth: number;
  readonly limits: readonly ConfiguredLimit[];
  readonly shadowMode: boolean;
  readonly detailedMetric: boolean;
  /**
   * `quota_mode`: over its limit, this descriptor alone does not make the answer OVER_LIMIT (only
   * when every quota-mode descriptor of the request is over). Statuses and charging are unchanged.
   */
  readonly quotaMode: boolean;
  /** `metadata`, as written (a google.protobuf.Struct in the reference); undefined when absent. */
  readonly metadata: Readonly<Record<string, unknown>> | undefined;
  readonly source: Position;
  /**
   * The metric key needs the request's values: `detailed_metric` here, or `value_to_metric` on a
   * level of its path. Otherwise `fullKey` is the metric key, with no work per request.
   */
  readonly runtimeMetricKey: boolean;
}

/** The answer for one request descriptor. */
export interface DescriptorMatch {
  /** The node that matched; undefined for a request-supplied limit override. */
  readonly rule: DescriptorRule | undefined;
  /** The node's limits (shared array), or fewer after `applyReplaces`. Never empty. */
  readonly limits: readonly ConfiguredLimit[];
  /**
   * `encodeIdentity(domain, request entries)`: the request's actual values, so a key-only default
   * or a wildcard gives one bucket per distinct value. Pass it to `bucketKey(prefix, limit.id, identity)`.
   */
  readonly identity: string;
  /** Stats prefix for this descriptor, e.g. `messaging.message_type_marketing.to_number`. */
  readonly metricKey: string;
}
