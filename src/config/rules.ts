/**
 * The semantic rules of a config, as one list. The shape layer (read-document.ts) guarantees
 * types; each rule here checks one meaning and reports one code, at the line of the offending key.
 * Rules run on everything that could be read, so a load reports all its problems at once.
 */
import type { Algorithm } from '../engine/limit.js';
import { configError, type ConfigError, type ConfigErrorCode, type Position } from './errors.js';
import type { Located, RawDescriptor, RawFile, RawRateLimit } from './read-document.js';
import { parseUnit, UNIT_NAMES } from './units.js';
import { isWildcard } from './wildcard.js';

export const MAX_UINT32 = 4_294_967_295;
export const ALGORITHMS: readonly Algorithm[] = ['token_bucket', 'fixed_window'];

export interface RuleOptions {
  /** The algorithm of a limit that does not name one. */
  readonly defaultAlgorithm: Algorithm;
}

type Report = (at: Position, message: string) => void;

/** A rate limit as a rule sees it: where it sits and whether it is an entry of `rate_limits`. */
export interface RateLimitVisit {
  readonly rateLimit: RawRateLimit;
  readonly inList: boolean;
  readonly domain: string | undefined;
}

export type Rule =
  | { readonly code: ConfigErrorCode; readonly scope: 'file'; check(file: RawFile, report: Report): void }
  | { readonly code: ConfigErrorCode; readonly scope: 'level'; check(level: readonly RawDescriptor[], report: Report): void }
  | { readonly code: ConfigErrorCode; readonly scope: 'descriptor'; check(d: RawDescriptor, report: Report): void }
  | {
      readonly code: ConfigErrorCode;
      readonly scope: 'rate_limit';
      check(visit: RateLimitVisit, options: RuleOptions, report: Report): void;
    }
  | { readonly code: ConfigErrorCode; readonly scope: 'load'; check(files: readonly RawFile[], report: Report): void };

/** The algorithm a rate limit will use: its own, else the load's default. */
export function effectiveAlgorithm(rateLimit: RawRateLimit, options: RuleOptions): Algorithm {
  const named = rateLimit.algorithm?.value;
  return named === 'token_bucket' || named === 'fixed_window' ? named : options.defaultAlgorithm;
}

function isUnlimited(rateLimit: RawRateLimit): boolean {
  return rateLimit.unlimited?.value === true;
}

/** `key_value`, or `key` for a key-only default: the reference's composite key of a level. */
export function compositeKey(d: RawDescriptor): string {
  const key = d.key?.value ?? '';
  const value = d.value?.value ?? '';
  return value === '' ? key : `${key}_${value}`;
}

/** Every rate limit of a file, with whether it came from `rate_limits`. */
function* rateLimitsOf(descriptors: readonly RawDescriptor[], domain: string | undefined): Generator<RateLimitVisit> {
  for (const d of descriptors) {
    if (d.rateLimit !== undefined) yield { rateLimit: d.rateLimit, inList: false, domain };
    for (const rateLimit of d.rateLimits?.value ?? []) yield { rateLimit, inList: true, domain };
    yield* rateLimitsOf(d.descriptors, domain);
  }
}

function* levelsOf(descriptors: readonly RawDescriptor[]): Generator<readonly RawDescriptor[]> {
  yield descriptors;
  for (const d of descriptors) yield* levelsOf(d.descriptors);
}

/** Files grouped by domain (first file of a duplicated domain only: the duplicate is its own error). */
function byDomain(files: readonly RawFile[]): Map<string, RawFile> {
  const domains = new Map<string, RawFile>();
  for (const file of files) {
    const domain = file.domain?.value;
    if (domain !== undefined && domain !== '' && !domains.has(domain)) domains.set(domain, file);
  }
  return domains;
}

/** Named limits of one domain, first occurrence of each name. */
function namedLimits(file: RawFile): Map<string, RawRateLimit> {
  const names = new Map<string, RawRateLimit>();
  for (const { rateLimit } of rateLimitsOf(file.descriptors, undefined)) {
    const name = rateLimit.name?.value;
    if (name !== undefined && name !== '' && !names.has(name)) names.set(name, rateLimit);
  }
  return names;
}

function checkUnlimitedConflicts(visit: RateLimitVisit, report: Report): void {
  const r = visit.rateLimit;
  if (!isUnlimited(r) || visit.inList) return;
  const conflicting: [string, Located<unknown> | undefined][] = [
    ['unit', r.unit],
    ['requests_per_unit', r.requestsPerUnit],
    ['algorithm', r.algorithm],
    ['capacity', r.capacity],
    ['burst', r.burst],
    ['overdraft', r.overdraft],
  ];
  for (const [key, field] of conflicting) {
    if (field !== undefined) report(field.at, `"${key}" cannot be given with unlimited: true`);
  }
}

function checkCapacity(visit: RateLimitVisit, options: RuleOptions, report: Report): void {
  const r = visit.rateLimit;
  if (r.capacity !== undefined && r.burst !== undefined) {
    report(r.burst.at, 'give capacity or its alias burst, not both');
  }
  const field = r.capacity ?? r.burst;
  if (field === undefined || isUnlimited(r)) return;
  const value = field.value;
  if (!Number.isInteger(value) || value < 1 || value > MAX_UINT32) {
    report(field.at, `capacity must be a whole number from 1 to ${MAX_UINT32}, got ${value}`);
  } else if (effectiveAlgorithm(r, options) === 'fixed_window') {
    report(field.at, 'capacity applies to token_bucket only; a fixed_window allows requests_per_unit per window');
  } else if (r.requestsPerUnit?.value === 0) {
    report(field.at, 'capacity cannot be given with requests_per_unit: 0 (a bucket that never refills)');
  }
}

function checkReplacesCycles(file: RawFile, report: Report): void {
  const graph = new Map<string, string[]>();
  for (const { rateLimit } of rateLimitsOf(file.descriptors, undefined)) {
    const name = rateLimit.name?.value;
    if (name === undefined || name === '' || graph.has(name)) continue;
    graph.set(
      name,
      rateLimit.replaces.map((r) => r.name?.value ?? '').filter((n) => n !== '' && n !== name),
    );
  }
  const names = namedLimits(file);
  const done = new Set<string>();
  const visit = (name: string, trail: string[]): void => {
    if (done.has(name)) return;
    const at = trail.indexOf(name);
    if (at >= 0) {
      const cycle = [...trail.slice(at), name];
      const rateLimit = names.get(name);
      if (rateLimit !== undefined) report(rateLimit.name?.at ?? rateLimit.at, `replaces form a cycle: ${cycle.join(' -> ')}`);
      return;
    }
    for (const next of graph.get(name) ?? []) visit(next, [...trail, name]);
    done.add(name);
  };
  for (const name of graph.keys()) visit(name, []);
}

export const RULES: readonly Rule[] = [
  {
    code: 'RG_CONFIG_MISSING_KEY',
    scope: 'file',
    check(file, report) {
      if (!file.keys.has('domain')) report(file.at, 'missing required key "domain"');
    },
  },
  {
    code: 'RG_CONFIG_EMPTY_DOMAIN',
    scope: 'file',
    check(file, report) {
      if (file.domain?.value === '') report(file.domain.at, 'domain must not be empty');
    },
  },
  {
    code: 'RG_CONFIG_MISSING_KEY',
    scope: 'descriptor',
    check(d, report) {
      if (!d.keys.has('key')) report(d.at, 'missing required key "key"');
    },
  },
  {
    code: 'RG_CONFIG_EMPTY_KEY',
    scope: 'descriptor',
    check(d, report) {
      if (d.key?.value === '') report(d.key.at, 'descriptor key must not be empty');
    },
  },
  {
    code: 'RG_CONFIG_SHARE_THRESHOLD_NOT_WILDCARD',
    scope: 'descriptor',
    check(d, report) {
      // One shared bucket for every value matching a pattern: meaningless without a pattern.
      if (d.shareThreshold?.value === true && !isWildcard(d.value?.value ?? '')) {
        report(d.shareThreshold.at, 'share_threshold applies only to a wildcard value (one containing *)');
      }
    },
  },
  {
    code: 'RG_CONFIG_RATE_LIMIT_CONFLICT',
    scope: 'descriptor',
    check(d, report) {
      if (d.rateLimit !== undefined && d.rateLimits !== undefined) {
        report(d.rateLimits.at, 'give rate_limit or rate_limits, not both');
      }
    },
  },
  {
    code: 'RG_CONFIG_EMPTY_RATE_LIMITS',
    scope: 'descriptor',
    check(d, report) {
      if (d.rateLimits !== undefined && d.rateLimits.value.length === 0) {
        report(d.rateLimits.at, 'rate_limits must hold at least one limit');
      }
    },
  },
  {
    code: 'RG_CONFIG_DUPLICATE_LIMIT',
    scope: 'descriptor',
    check(d, report) {
      // Two equal entries would share one bucket and one metric name.
      const seen = new Set<string>();
      for (const r of d.rateLimits?.value ?? []) {
        const id = `${r.requestsPerUnit?.value}/${r.unit?.value.toLowerCase()}`;
        if (seen.has(id)) report(r.at, `rate_limits holds ${r.requestsPerUnit?.value} per ${r.unit?.value} twice`);
        seen.add(id);
      }
    },
  },
  {
    code: 'RG_CONFIG_DUPLICATE_DESCRIPTOR',
    scope: 'level',
    check(level, report) {
      const seen = new Map<string, RawDescriptor>();
      for (const d of level) {
        if (d.key === undefined) continue;
        const id = compositeKey(d);
        const first = seen.get(id);
        if (first !== undefined) {
          report(d.at, `duplicate descriptor "${id}" at the same level (first at line ${first.at.line})`);
        } else {
          seen.set(id, d);
        }
      }
    },
  },
  {
    code: 'RG_CONFIG_MISSING_KEY',
    scope: 'rate_limit',
    check({ rateLimit: r }, _options, report) {
      if (isUnlimited(r)) return;
      if (!r.keys.has('unit')) report(r.at, 'missing required key "unit"');
      if (!r.keys.has('requests_per_unit')) report(r.at, 'missing required key "requests_per_unit"');
    },
  },
  {
    code: 'RG_CONFIG_BAD_REQUESTS_PER_UNIT',
    scope: 'rate_limit',
    check({ rateLimit: r }, _options, report) {
      const field = r.requestsPerUnit;
      if (field === undefined) return;
      if (!Number.isInteger(field.value) || field.value < 0 || field.value > MAX_UINT32) {
        report(field.at, `requests_per_unit must be a whole number from 0 to ${MAX_UINT32}, got ${field.value}`);
      }
    },
  },
  {
    code: 'RG_CONFIG_UNKNOWN_UNIT',
    scope: 'rate_limit',
    check({ rateLimit: r }, _options, report) {
      if (r.unit === undefined || isUnlimited(r) || parseUnit(r.unit.value) !== undefined) return;
      report(r.unit.at, `unknown unit "${r.unit.value}" (expected ${UNIT_NAMES.join(', ')})`);
    },
  },
  {
    code: 'RG_CONFIG_UNLIMITED_WITH_LIMIT',
    scope: 'rate_limit',
    check: (visit, _options, report) => checkUnlimitedConflicts(visit, report),
  },
  {
    code: 'RG_CONFIG_UNLIMITED_IN_LIST',
    scope: 'rate_limit',
    check({ rateLimit: r, inList }, _options, report) {
      if (inList && r.unlimited !== undefined) {
        report(r.unlimited.at, 'unlimited belongs in rate_limit; an entry of rate_limits must be a limit');
      }
    },
  },
  {
    code: 'RG_CONFIG_UNKNOWN_ALGORITHM',
    scope: 'rate_limit',
    check({ rateLimit: r }, _options, report) {
      const field = r.algorithm;
      if (field !== undefined && !(ALGORITHMS as readonly string[]).includes(field.value)) {
        report(field.at, `unknown algorithm "${field.value}" (expected ${ALGORITHMS.join(', ')})`);
      }
    },
  },
  { code: 'RG_CONFIG_BAD_CAPACITY', scope: 'rate_limit', check: checkCapacity },
  {
    code: 'RG_CONFIG_BAD_OVERDRAFT',
    scope: 'rate_limit',
    check({ rateLimit: r }, _options, report) {
      if (r.overdraft?.value === true && r.requestsPerUnit?.value === 0) {
        report(r.overdraft.at, 'overdraft cannot be given with requests_per_unit: 0 (a limit that admits nothing has no debt to repay)');
      }
    },
  },
  {
    code: 'RG_CONFIG_EMPTY_REPLACES_NAME',
    scope: 'rate_limit',
    check({ rateLimit: r }, _options, report) {
      for (const entry of r.replaces) {
        if (entry.name === undefined || entry.name.value === '') report(entry.name?.at ?? entry.at, 'replaces entry needs a non-empty name');
      }
    },
  },
  {
    code: 'RG_CONFIG_REPLACES_SELF',
    scope: 'rate_limit',
    check({ rateLimit: r }, _options, report) {
      const name = r.name?.value;
      if (name === undefined || name === '') return;
      for (const entry of r.replaces) {
        if (entry.name?.value === name) report(entry.name.at, `limit "${name}" replaces itself`);
      }
    },
  },
  {
    code: 'RG_CONFIG_DUPLICATE_DOMAIN',
    scope: 'load',
    check(files, report) {
      const seen = new Map<string, RawFile>();
      for (const file of files) {
        const domain = file.domain;
        if (domain === undefined || domain.value === '') continue;
        const first = seen.get(domain.value);
        if (first === undefined) seen.set(domain.value, file);
        else report(domain.at, `domain "${domain.value}" is already defined in ${first.file}`);
      }
    },
  },
  {
    code: 'RG_CONFIG_DUPLICATE_LIMIT_NAME',
    scope: 'load',
    check(files, report) {
      for (const [domain, file] of byDomain(files)) {
        const seen = new Map<string, Position>();
        for (const { rateLimit } of rateLimitsOf(file.descriptors, domain)) {
          const name = rateLimit.name;
          if (name === undefined || name.value === '') continue;
          const first = seen.get(name.value);
          if (first === undefined) seen.set(name.value, name.at);
          else report(name.at, `limit name "${name.value}" is already used in domain "${domain}" (line ${first.line})`);
        }
      }
    },
  },
  {
    code: 'RG_CONFIG_UNKNOWN_REPLACES',
    scope: 'load',
    check(files, report) {
      for (const [domain, file] of byDomain(files)) {
        const names = namedLimits(file);
        for (const { rateLimit } of rateLimitsOf(file.descriptors, domain)) {
          for (const entry of rateLimit.replaces) {
            const name = entry.name;
            if (name === undefined || name.value === '' || names.has(name.value)) continue;
            report(name.at, `replaces names "${name.value}", but no limit of domain "${domain}" has that name`);
          }
        }
      }
    },
  },
  {
    code: 'RG_CONFIG_REPLACES_CYCLE',
    scope: 'load',
    check(files, report) {
      for (const file of byDomain(files).values()) checkReplacesCycles(file, report);
    },
  },
];

function* descriptorsOf(descriptors: readonly RawDescriptor[]): Generator<RawDescriptor> {
  for (const d of descriptors) {
    yield d;
    yield* descriptorsOf(d.descriptors);
  }
}

/** Runs every rule over the files of one load; returns what they report. */
export function checkRules(files: readonly RawFile[], options: RuleOptions, rules: readonly Rule[] = RULES): ConfigError[] {
  const errors: ConfigError[] = [];
  for (const rule of rules) {
    const report: Report = (at, message) => errors.push(configError(rule.code, at, message));
    switch (rule.scope) {
      case 'load':
        rule.check(files, report);
        break;
      case 'file':
        for (const file of files) rule.check(file, report);
        break;
      case 'level':
        for (const file of files) for (const level of levelsOf(file.descriptors)) rule.check(level, report);
        break;
      case 'descriptor':
        for (const file of files) for (const d of descriptorsOf(file.descriptors)) rule.check(d, report);
        break;
      case 'rate_limit':
        for (const file of files) {
          for (const visit of rateLimitsOf(file.descriptors, file.domain?.value)) rule.check(visit, options, report);
        }
        break;
    }
  }
  return errors;
}
