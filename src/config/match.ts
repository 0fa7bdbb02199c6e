/**
 * Matching a request descriptor against a domain index, as envoyproxy/ratelimit does:
 * level by level, exact key+value first, then wildcard values in config order, then the key-only
 * default. The limits of the node reached by the last entry apply; a request with more entries
 * than the tree is deep, or that stops at a placeholder node, matches nothing. There is no
 * backtracking: an exact node without the next level does not fall back to the default node.
 */
import { encodeIdentity } from '../engine/keys.js';
import type { DomainIndex, IndexNode, LevelIndex } from './build-index.js';
import type { ConfiguredLimit, DescriptorEntry, DescriptorMatch, DescriptorRule } from './types.js';
import { matchWildcard } from './wildcard.js';

/** The node one entry selects at one level, or undefined. */
export function lookupLevel(level: LevelIndex, key: string, value: string): IndexNode | undefined {
  const exact = level.exact.get(key)?.get(value);
  if (exact !== undefined) return exact;
  const wildcards = level.wildcards.get(key);
  if (wildcards !== undefined) {
    for (const candidate of wildcards) if (matchWildcard(candidate.pattern, value)) return candidate.node;
  }
  return level.defaults.get(key);
}

interface Found {
  readonly rule: DescriptorRule;
  /** The entries the bucket identity is made of: the request's, with `share_threshold` patterns for their values. */
  readonly identityEntries: readonly DescriptorEntry[];
}

/** The node reached by the last entry (with a rule), or undefined; see the file comment. */
function find(index: DomainIndex, entries: readonly DescriptorEntry[]): Found | undefined {
  const last = entries.length - 1;
  if (last < 0) return undefined;
  let level: LevelIndex = index.root;
  let identityEntries = entries;
  for (let i = 0; ; i++) {
    const entry = entries[i]!;
    const node = lookupLevel(level, entry.key, entry.value);
    if (node === undefined) return undefined;
    if (node.sharedValue !== undefined) {
      // Copied only on the rare shared path: the common one allocates nothing here.
      if (identityEntries === entries) identityEntries = entries.slice();
      (identityEntries as DescriptorEntry[])[i] = { key: entry.key, value: node.sharedValue };
    }
    if (i === last) return node.rule === undefined ? undefined : { rule: node.rule, identityEntries };
    if (node.children === undefined) return undefined;
    level = node.children;
  }
}

/** The rule whose depth equals the descriptor's entry count, or undefined. */
export function findRule(index: DomainIndex, entries: readonly DescriptorEntry[]): DescriptorRule | undefined {
  return find(index, entries)?.rule;
}

/** `key_value` from the request, or `key` when the value is empty. */
function runtimePart(entry: DescriptorEntry, value = entry.value): string {
  return value === '' ? entry.key : `${entry.key}_${value}`;
}

/**
 * The metric key, as the reference names stats: the rule's full key (config values, `key` for a
 * key-only level); with `detailed_metric` on the rule, the request's values at every level
 * (`domain.k1_v1.k2_v2`); with `value_to_metric` on a level, that level's request value — or, with
 * `share_threshold`, the pattern's part before its first `*`. detailed_metric wins over both.
 */
export function metricKeyFor(index: DomainIndex, rule: DescriptorRule, entries: readonly DescriptorEntry[]): string {
  if (!rule.runtimeMetricKey) return rule.fullKey;
  let key = index.domain;
  let level: LevelIndex | undefined = index.root;
  for (const entry of entries) {
    const node: IndexNode | undefined = level === undefined ? undefined : lookupLevel(level, entry.key, entry.value);
    if (node === undefined) break; // the rule was found on this path: not reached
    if (rule.detailedMetric) key += `.${runtimePart(entry)}`;
    else if (node.valueToMetric) key += `.${runtimePart(entry, node.sharedValue?.slice(0, node.sharedValue.indexOf('*')) ?? entry.value)}`;
    else key += `.${node.metricPart}`;
    level = node.children;
  }
  return key;
}

export function matchDescriptor(index: DomainIndex | undefined, entries: readonly DescriptorEntry[]): DescriptorMatch | undefined {
  if (index === undefined) return undefined;
  const found = find(index, entries);
  if (found === undefined) return undefined;
  const { rule } = found;
  return {
    rule,
    limits: rule.limits,
    identity: encodeIdentity(index.domain, found.identityEntries),
    metricKey: metricKeyFor(index, rule, entries),
  };
}

function dropReplaced(match: DescriptorMatch, replaced: ReadonlySet<string>): DescriptorMatch | undefined {
  let kept: ConfiguredLimit[] | undefined;
  match.limits.forEach((limit, i) => {
    const drop = limit.name !== undefined && replaced.has(limit.name);
    if (drop && kept === undefined) kept = match.limits.slice(0, i);
    else if (!drop && kept !== undefined) kept.push(limit);
  });
  if (kept === undefined) return match;
  return kept.length === 0 ? undefined : { ...match, limits: kept };
}

/**
 * Applies `replaces` across all descriptors of one request: a limit named X is dropped when any
 * matched limit (replaced or not, as in the reference) lists X. A descriptor whose limits are all
 * dropped becomes undefined, i.e. OK with no current limit. Returns the input array itself when
 * nothing is replaced.
 */
export function applyReplaces(matches: readonly (DescriptorMatch | undefined)[]): readonly (DescriptorMatch | undefined)[] {
  let replaced: Set<string> | undefined;
  for (const match of matches) {
    if (match === undefined) continue;
    for (const limit of match.limits) {
      if (limit.replaces.length === 0) continue;
      replaced ??= new Set();
      for (const name of limit.replaces) replaced.add(name);
    }
  }
  if (replaced === undefined) return matches;
  let out: (DescriptorMatch | undefined)[] | undefined;
  matches.forEach((match, i) => {
    const next = match === undefined ? undefined : dropReplaced(match, replaced);
    if (next !== match) out ??= matches.slice();
    if (out !== undefined) out[i] = next;
  });
  return out ?? matches;
}
