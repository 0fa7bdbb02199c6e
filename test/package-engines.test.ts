/**
 * The package's dependency list as npm sees it: every locked package (dev tools included) accepts
 * the Node running the suite, no runtime dependency goes unimported, and `engines` says the
 * Node the README promises. npm itself decides the engine question (`--engine-strict`), from the
 * lock alone, in a scratch directory (`--dry-run --offline`: nothing is fetched or installed).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';

interface PackageJson {
  engines: { node: string };
  dependencies: Record<string, string>;
}

const packageJson = JSON.parse(readFileSync('package.json', 'utf8')) as PackageJson;

it('npm ci accepts every locked package on this Node: no EBADENGINE, even with --engine-strict', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rg-engines-'));
  try {
    for (const file of ['package.json', 'package-lock.json']) copyFileSync(file, join(dir, file));
    const npm = spawnSync('npm', ['ci', '--dry-run', '--engine-strict', '--ignore-scripts', '--offline', '--no-audit', '--no-fund'], {
      cwd: dir,
      encoding: 'utf8',
    });
    expect(npm.stderr).not.toMatch(/EBADENGINE|notsup/);
    expect(npm.status).toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it("engines.node is the README's Node >= 20.19, and the suite runs on a Node inside it", () => {
  expect(packageJson.engines.node).toBe('>=20.19');
  const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
  expect(major > 20 || (major === 20 && minor >= 19)).toBe(true);
});

it('every runtime dependency is imported by src/: none is installed for nothing (zod was)', () => {
  const sources = readdirSync('src', { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => readFileSync(join('src', file), 'utf8'))
    .join('\n');
  const imported = (name: string) => new RegExp(`(from |import\\()'${name.replace(/[/.]/g, '\\$&')}(/[^']*)?'`).test(sources);
  expect(Object.keys(packageJson.dependencies).filter((name) => !imported(name))).toEqual([]);
});
