/**
 * The folders of src/ form layers: a folder imports only folders of lower layers (or its own).
 * A new edge upwards — the kind that made every folder part of one cycle — fails here, naming the files.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../../src');

/** Bottom first. Folders on one line are one layer and must not import each other. */
const LAYERS: readonly (readonly string[])[] = [
  ['engine', 'validation'],
  ['rls'],
  ['config'],
  ['stores'],
  ['service'],
  ['observe'],
  ['admin', 'http'],
  ['settings'],
  ['transport'],
  ['server'],
  ['demo'],
  ['cli'],
  ['.'], // src/index.ts, the package's entry
];

const layerOf = new Map(LAYERS.flatMap((folders, layer) => folders.map((folder) => [folder, layer] as const)));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The top folder of src/ a path lies in ('.' for files directly in src/). */
function folderOf(path: string): string {
  const parts = relative(SRC, path).split('/');
  return parts.length === 1 ? '.' : parts[0]!;
}

interface ImportEdge {
  readonly file: string;
  readonly target: string;
  readonly from: string;
  readonly to: string;
}

/** Every relative import, re-export and dynamic import between two different folders. */
function crossFolderImports(): ImportEdge[] {
  const specifier = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)'(\.{1,2}\/[^']+)'/g;
  return sourceFiles(SRC).flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(specifier)].flatMap((match) => {
      const target = resolve(dirname(file), match[1]!);
      const edge = { file: relative(SRC, file), target: relative(SRC, target), from: folderOf(file), to: folderOf(target) };
      return edge.from === edge.to ? [] : [edge];
    }),
  );
}

describe('folder layers', () => {
  const edges = crossFolderImports();

  it('finds the imports it checks (the scan itself works)', () => {
    expect(edges.some((edge) => edge.from === 'server' && edge.to === 'service')).toBe(true);
    expect(edges.some((edge) => edge.from === 'http' && edge.to === 'stores')).toBe(true);
  });

  it('every folder of src/ has a layer', () => {
    const folders = new Set(sourceFiles(SRC).map(folderOf));
    expect([...folders].filter((folder) => !layerOf.has(folder))).toEqual([]);
  });

  it('no folder imports a folder of its own layer or above', () => {
    const upwards = edges
      .filter((edge) => layerOf.get(edge.to)! >= layerOf.get(edge.from)!)
      .map((edge) => `${edge.file} imports ${edge.target} (${edge.from} → ${edge.to})`);
    expect(upwards).toEqual([]);
  });
});
