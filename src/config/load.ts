/**
 * Loading: one YAML file, or a directory of `*.yaml`/`*.yml` files (one domain per file).
 * Expected bad input never throws: the result lists every error of the load.
 */
import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Algorithm } from '../engine/limit.js';
import { buildDomainIndex, type DomainIndex } from './build-index.js';
import { configError, sortConfigErrors, type ConfigError } from './errors.js';
import { type LimitDefaults, LimitInterner } from './limits.js';
import { readConfigDocument, type RawFile } from './read-document.js';
import { checkRules } from './rules.js';
import { ConfigSnapshot } from './snapshot.js';

export interface LoadOptions {
  /**
   * Algorithm of every limit that does not name one. `fixed_window` runs a reference config with
   * the reference's epoch-aligned windows. Default `token_bucket`.
   */
  readonly defaultAlgorithm?: Algorithm;
  /**
   * Overdraft of every limit that does not say (`overdraft:` in `rate_limit`): every charge is
   * applied, into debt if need be (docs/token-bucket-spec.md, "Overdraft"). Default false.
   */
  readonly overdraft?: boolean;
  /**
   * `MERGE_DOMAIN_CONFIG`: files naming the same domain are one domain, their descriptors merged
   * (a key_value defined in two of them is still a duplicate, reported at its own file and line).
   * Without it a second file for a domain is an error, as in the reference. Default false.
   */
  readonly mergeDomains?: boolean;
}

export interface ConfigSource {
  /** Shown in errors; the path as the user gave it (not the symlink target). */
  readonly file: string;
  readonly text: string;
}

interface LoadFacts {
  /** Files read (or tried), in load order. */
  readonly files: readonly string[];
  /** Hash of the files' names, contents and the options: the watcher's change detector. */
  readonly digest: string;
}

export type LoadResult =
  | ({ readonly ok: true; readonly config: ConfigSnapshot } & LoadFacts)
  | ({ readonly ok: false; readonly errors: readonly ConfigError[] } & LoadFacts);

const CONFIG_FILE = /\.ya?ml$/;

function digestOf(sources: readonly ConfigSource[], defaults: LimitDefaults, mergeDomains: boolean, extra: readonly ConfigError[]): string {
  const hash = createHash('sha256');
  // Without overdraft (or merging) the digest is what it was before the option existed.
  hash.update(defaults.overdraft ? `${defaults.algorithm}+overdraft` : defaults.algorithm);
  if (mergeDomains) hash.update('+merge');
  for (const s of sources) hash.update(`\0${s.file}\0${s.text}`);
  // Read failures are part of the state: a file that becomes readable again is a change.
  for (const e of extra) hash.update(`\0${e.code}\0${e.file}\0${e.message}`);
  return hash.digest('base64url');
}

/** One file per domain: a later file of a domain adds its descriptors to the first one's. */
function mergeByDomain(raws: readonly RawFile[]): RawFile[] {
  const merged: RawFile[] = [];
  const at = new Map<string, number>();
  for (const raw of raws) {
    const domain = raw.domain?.value;
    const index = domain === undefined || domain === '' ? undefined : at.get(domain);
    if (index === undefined) {
      if (domain !== undefined && domain !== '') at.set(domain, merged.length);
      merged.push(raw);
    } else {
      merged[index] = { ...merged[index]!, descriptors: [...merged[index]!.descriptors, ...raw.descriptors] };
    }
  }
  return merged;
}

/** Validates and indexes sources already in memory (tests, stdin, other providers). */
export function loadConfigSources(sources: readonly ConfigSource[], options: LoadOptions = {}): LoadResult {
  return buildResult(sources, [], options);
}

function buildResult(sources: readonly ConfigSource[], readErrors: readonly ConfigError[], options: LoadOptions): LoadResult {
  const defaults: LimitDefaults = { algorithm: options.defaultAlgorithm ?? 'token_bucket', overdraft: options.overdraft ?? false };
  const errors: ConfigError[] = [...readErrors];
  const raws: RawFile[] = [];
  for (const source of sources) {
    const raw = readConfigDocument(source.file, source.text, errors);
    if (raw !== undefined) raws.push(raw);
  }
  const domainFiles = options.mergeDomains === true ? mergeByDomain(raws) : raws;
  errors.push(...checkRules(domainFiles, { defaultAlgorithm: defaults.algorithm }));
  const files = [...sources.map((s) => s.file), ...readErrors.map((e) => e.file)];
  const digest = digestOf(sources, defaults, options.mergeDomains === true, readErrors);
  if (errors.length > 0) return { ok: false, errors: sortConfigErrors(errors), files, digest };
  const limits = new LimitInterner();
  const domains = new Map<string, DomainIndex>();
  for (const raw of domainFiles) {
    const index = buildDomainIndex(raw, defaults, limits);
    domains.set(index.domain, index);
  }
  const config = new ConfigSnapshot(domains, Object.freeze(files), digest, defaults.algorithm, defaults.overdraft);
  return { ok: true, config, files, digest };
}

function describeFsError(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  return e.code === undefined ? String(e.message ?? error) : `${e.code}: ${e.message}`;
}

/**
 * The config files at `path`: itself when it is a file; else its `*.yaml`/`*.yml` entries (after
 * following symlinks), sorted by name, skipping hidden entries. Skipping hidden names is what makes
 * a Kubernetes ConfigMap mount load once: its files are symlinks `x.yaml -> ..data/x.yaml`, and
 * `..data` and `..2024_…` are hidden directories holding the same files. Not recursive, like the
 * reference's runtime directory.
 */
export async function listConfigFiles(path: string): Promise<{ files: string[]; errors: ConfigError[] }> {
  let info: Stats;
  try {
    info = await stat(path);
  } catch (error) {
    return {
      files: [],
      errors: [configError('RG_CONFIG_READ_FAILED', { file: path, line: 0, path: '' }, `cannot read config path: ${describeFsError(error)}`)],
    };
  }
  if (!info.isDirectory()) return { files: [path], errors: [] };
  let entries: string[];
  try {
    entries = await readdir(path);
  } catch (error) {
    return {
      files: [],
      errors: [configError('RG_CONFIG_READ_FAILED', { file: path, line: 0, path: '' }, `cannot list config directory: ${describeFsError(error)}`)],
    };
  }
  const names = entries.filter((name) => !name.startsWith('.') && CONFIG_FILE.test(name)).sort();
  const files: string[] = [];
  const errors: ConfigError[] = [];
  for (const name of names) {
    const file = join(path, name);
    try {
      if ((await stat(file)).isFile()) files.push(file);
    } catch (error) {
      errors.push(configError('RG_CONFIG_READ_FAILED', { file, line: 0, path: '' }, `cannot read config file: ${describeFsError(error)}`));
    }
  }
  if (files.length === 0 && errors.length === 0) {
    errors.push(configError('RG_CONFIG_NO_FILES', { file: path, line: 0, path: '' }, 'directory holds no .yaml or .yml file'));
  }
  return { files, errors };
}

/** Loads a file or a directory (see `listConfigFiles`). */
export async function loadConfig(path: string, options: LoadOptions = {}): Promise<LoadResult> {
  const listed = await listConfigFiles(path);
  const sources: ConfigSource[] = [];
  const readErrors = [...listed.errors];
  for (const file of listed.files) {
    try {
      sources.push({ file, text: await readFile(file, 'utf8') });
    } catch (error) {
      readErrors.push(configError('RG_CONFIG_READ_FAILED', { file, line: 0, path: '' }, `cannot read config file: ${describeFsError(error)}`));
    }
  }
  return buildResult(sources, readErrors, options);
}
