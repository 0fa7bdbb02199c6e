import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, loadConfigSources } from '../../src/config/load.js';
import { ConfigMapDir } from './configmap.js';
import { entries, limitsOf, snapshotOf } from './helpers.js';

const API = 'domain: api\ndescriptors:\n  - key: user\n    rate_limit: {unit: second, requests_per_unit: 5}\n';
const WEB = 'domain: web\ndescriptors:\n  - key: ip\n    rate_limit: {unit: minute, requests_per_unit: 100}\n';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rateguard-load-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loadConfig', () => {
  it('loads one file', async () => {
    await writeFile(join(dir, 'api.yaml'), API);
    const result = await loadConfig(join(dir, 'api.yaml'));
    expect(result.ok && limitsOf(result.config, 'api', 'user', 'u')).toEqual(['5/SECOND']);
  });

  it('loads every .yaml/.yml of a directory, skipping hidden and other files and subdirectories', async () => {
    await writeFile(join(dir, 'api.yaml'), API);
    await writeFile(join(dir, 'web.yml'), WEB);
    await writeFile(join(dir, '.hidden.yaml'), 'not: [valid');
    await writeFile(join(dir, 'notes.txt'), 'not yaml');
    await mkdir(join(dir, 'sub.yaml'));
    await mkdir(join(dir, 'nested'));
    await writeFile(join(dir, 'nested', 'x.yaml'), 'domain: nested\n');
    const result = await loadConfig(dir);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.files).toEqual([join(dir, 'api.yaml'), join(dir, 'web.yml')]);
    expect([...result.config.domains.keys()]).toEqual(['api', 'web']);
  });

  it('follows symlinked files and reports them under the name in the directory', async () => {
    const elsewhere = join(dir, 'elsewhere');
    await mkdir(elsewhere);
    await writeFile(join(elsewhere, 'real.yaml'), API.replace('requests_per_unit: 5', 'requests_per_unit: fast'));
    const conf = join(dir, 'conf');
    await mkdir(conf);
    await symlink(join(elsewhere, 'real.yaml'), join(conf, 'api.yaml'));
    const result = await loadConfig(conf);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map((e) => [e.file, e.line, e.code])).toEqual([[join(conf, 'api.yaml'), 4, 'RG_CONFIG_WRONG_TYPE']]);
  });

  it('loads a ConfigMap mount exactly once (the ..data and ..<timestamp> copies are hidden)', async () => {
    const map = await ConfigMapDir.create({ 'api.yaml': API, 'web.yaml': WEB });
    try {
      const result = await loadConfig(map.dir);
      expect(result.ok).toBe(true);
      if (!result.ok) return;
      expect(result.files).toEqual([join(map.dir, 'api.yaml'), join(map.dir, 'web.yaml')]);
      expect(limitsOf(result.config, 'web', 'ip', '1.2.3.4')).toEqual(['100/MINUTE']);
    } finally {
      await map.remove();
    }
  });

  it('rejects a second file for the same domain, at that file', async () => {
    await writeFile(join(dir, 'a.yaml'), API);
    await writeFile(join(dir, 'b.yaml'), API);
    const result = await loadConfig(dir);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toEqual([
      {
        code: 'RG_CONFIG_DUPLICATE_DOMAIN',
        file: join(dir, 'b.yaml'),
        line: 1,
        path: 'domain',
        message: `domain "api" is already defined in ${join(dir, 'a.yaml')}`,
      },
    ]);
  });

  it('with mergeDomains (MERGE_DOMAIN_CONFIG), merges the files of one domain; a key in both is still a duplicate, at its file', async () => {
    await writeFile(join(dir, 'a.yaml'), 'domain: api\ndescriptors:\n  - key: user\n    rate_limit: { unit: minute, requests_per_unit: 5 }\n');
    await writeFile(join(dir, 'b.yaml'), 'domain: api\ndescriptors:\n  - key: path\n    rate_limit: { unit: minute, requests_per_unit: 7 }\n');
    const merged = await loadConfig(dir, { mergeDomains: true });
    expect(merged.ok && [limitsOf(merged.config, 'api', 'user', 'u'), limitsOf(merged.config, 'api', 'path', '/')]).toEqual([['5/MINUTE'], ['7/MINUTE']]);
    await writeFile(join(dir, 'c.yaml'), 'domain: api\ndescriptors:\n  - key: user\n    rate_limit: { unit: minute, requests_per_unit: 9 }\n');
    const clash = await loadConfig(dir, { mergeDomains: true });
    expect(!clash.ok && clash.errors.map((e) => [e.code, e.file, e.line])).toEqual([['RG_CONFIG_DUPLICATE_DESCRIPTOR', join(dir, 'c.yaml'), 3]]);
  });

  it('reports a missing path, an empty directory and a dangling symlink', async () => {
    const missing = await loadConfig(join(dir, 'nope'));
    expect(!missing.ok && missing.errors.map((e) => [e.code, e.line, e.path])).toEqual([['RG_CONFIG_READ_FAILED', 0, '']]);
    const empty = await loadConfig(dir);
    expect(!empty.ok && empty.errors.map((e) => e.code)).toEqual(['RG_CONFIG_NO_FILES']);
    await symlink(join(dir, 'gone.yaml'), join(dir, 'dangling.yaml'));
    await writeFile(join(dir, 'api.yaml'), API);
    const dangling = await loadConfig(dir);
    expect(!dangling.ok && dangling.errors.map((e) => [e.code, e.file])).toEqual([['RG_CONFIG_READ_FAILED', join(dir, 'dangling.yaml')]]);
  });
});

describe('YAML scalars, as Go yaml.v2 hands them to the reference', () => {
  it('keeps the source text of numeric and boolean values and keys', () => {
    const s = snapshotOf(`
domain: d
descriptors:
  - key: status
    value: 0.10
    rate_limit: {unit: second, requests_per_unit: 1}
  - key: port
    value: 080
    rate_limit: {unit: second, requests_per_unit: 2}
  - key: flag
    value: yes
    rate_limit: {unit: second, requests_per_unit: 3}
  - key: 404
    rate_limit: {unit: second, requests_per_unit: 4}
`);
    expect(limitsOf(s, 'd', 'status', '0.10')).toEqual(['1/SECOND']);
    expect(limitsOf(s, 'd', 'status', '0.1')).toBeUndefined();
    expect(limitsOf(s, 'd', 'port', '080')).toEqual(['2/SECOND']);
    expect(limitsOf(s, 'd', 'flag', 'yes')).toEqual(['3/SECOND']);
    expect(limitsOf(s, 'd', '404', 'x')).toEqual(['4/SECOND']);
  });

  it('reads YAML 1.1 booleans and resolves anchors', () => {
    const s = snapshotOf(`
domain: d
descriptors:
  - key: a
    shadow_mode: yes
    rate_limit: &limit {unit: second, requests_per_unit: 1}
  - key: b
    rate_limit: *limit
`);
    expect(s.match('d', entries('a', 'v'))?.limits[0]?.shadowMode).toBe(true);
    expect(limitsOf(s, 'd', 'b', 'v')).toEqual(['1/SECOND']);
  });

  it('an empty value is the key-only default, as in the reference', () => {
    const s = snapshotOf('domain: d\ndescriptors:\n  - key: k\n    value: ""\n    rate_limit: {unit: second, requests_per_unit: 9}\n');
    expect(limitsOf(s, 'd', 'k', 'anything')).toEqual(['9/SECOND']);
  });

  it('accepts sources from memory', () => {
    const result = loadConfigSources([{ file: 'mem.yaml', text: API }], { defaultAlgorithm: 'fixed_window' });
    expect(result.ok && result.config.defaultAlgorithm).toBe('fixed_window');
  });
});
