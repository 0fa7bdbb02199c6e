/**
 * `rateguard validate` over the corpus of broken configs (test/fixtures/config/broken/): exit 1,
 * every problem on its own line starting with the file (and line) and ending with its code, never a
 * crash; a good config exits 0 with a summary; bad usage exits 2.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { validate } from '../../src/cli/validate.js';

const BROKEN = fileURLToPath(new URL('../fixtures/config/broken/', import.meta.url));
const GOOD = fileURLToPath(new URL('../../config/', import.meta.url));
const corpus = readdirSync(BROKEN)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

let out: string[];
let err: string[];
beforeEach(() => {
  out = [];
  err = [];
  // Captures what the command prints; the command itself runs for real.
  vi.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
  vi.spyOn(console, 'error').mockImplementation((line: string) => void err.push(line));
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe('rateguard validate', () => {
  it('the corpus holds the 37 broken configs the tests are written for', () => {
    expect(corpus).toHaveLength(37);
  });

  it.each(corpus)('%s: exit 1, each problem as "file[:line]: [path: ]message [CODE]"', async (name) => {
    const file = join(BROKEN, name);
    expect(await validate([file])).toBe(1);
    const problems = err.slice(0, -1);
    expect(problems.length).toBeGreaterThan(0);
    for (const line of problems) {
      expect(line.startsWith(`${file}:`)).toBe(true);
      expect(line).toMatch(/: .+ \[RG_CONFIG_[A-Z_]+\]$/);
    }
    expect(err.at(-1)).toBe(`${file}: ${problems.length} problem(s); config rejected`);
    expect(out).toEqual([]);
  });

  it('names the path inside the document where there is one', async () => {
    expect(await validate([join(BROKEN, 'rpu-negative.yaml')])).toBe(1);
    expect(err[0]).toMatch(/rpu-negative\.yaml:\d+: descriptors\[0\]\.rate_limit\.requests_per_unit: /);
  });

  it('the whole corpus as one directory: every file reported, exit 1', async () => {
    expect(await validate([BROKEN])).toBe(1);
    const files = new Set(err.slice(0, -1).map((line) => line.slice(0, line.indexOf('.yaml') + 5)));
    expect(files.size).toBeGreaterThanOrEqual(30); // some problems (duplicate domains) are reported once per pair
  });

  it('a good config: exit 0 with a summary', async () => {
    expect(await validate([GOOD])).toBe(0);
    expect(out[0]).toMatch(/: OK — \d+ domain\(s\)/);
    expect(err).toEqual([]);
  });

  it('a missing path: exit 1 with the path', async () => {
    expect(await validate([join(BROKEN, 'does-not-exist.yaml')])).toBe(1);
    expect(err.join('\n')).toContain('does-not-exist.yaml');
  });

  it.each<[string[], string]>([
    [[], 'rateguard validate: give the config PATH (a file or a directory)'],
    [['a', 'b'], 'rateguard validate: one PATH only, got 2: a b'],
    [['--bogus', 'a'], 'rateguard validate: unknown option --bogus'],
  ])('bad usage %j: exit 2, the reason, then the usage', async (args, reason) => {
    expect(await validate(args)).toBe(2);
    expect(err).toEqual([reason, 'usage: rateguard validate PATH [--default-algorithm token_bucket|fixed_window]']);
    expect(out).toEqual([]);
  });
});
