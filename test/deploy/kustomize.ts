/**
 * The part of `kustomize build` the deploy/ kustomizations use — resources (files and nested
 * kustomization directories), namespace, images, and Secrets generated from files without a name
 * hash — so tests see the objects kubectl would apply.
 * Any other kustomization field throws: the tests must not pass over something they do not model.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { at, type Json, REPO, readYaml, readYamlDocuments } from './deploy-files.js';

const KUSTOMIZATION_FIELDS = ['apiVersion', 'kind', 'namespace', 'resources', 'images', 'secretGenerator', 'generatorOptions'];
/** Kinds of these manifests that live outside namespaces. */
const CLUSTER_SCOPED = new Set(['Namespace']);

interface ImageRule {
  name: string;
  newName?: string;
  newTag?: string;
}

interface SecretGenerator {
  name: string;
  /** `key=path` or `path` (the key is then the file's name), relative to the kustomization. */
  files: string[];
}

export interface Built {
  readonly objects: Json[];
  /** Every file read, relative to the repository. */
  readonly files: string[];
  /**
   * Files secretGenerator reads (relative to the repository): the operator's, never in git, so
   * the generated Secrets hold a placeholder naming the file instead of its bytes.
   */
  readonly secretFiles: string[];
}

function generateSecret(dir: string, generator: SecretGenerator, secretFiles: string[]): Json {
  const data: Record<string, string> = {};
  for (const entry of generator.files) {
    const [key, path] = entry.includes('=') ? (entry.split('=', 2) as [string, string]) : [entry.split('/').at(-1)!, entry];
    const file = join(dir, path);
    secretFiles.push(file);
    data[key] = Buffer.from(`<the contents of ${file}>`).toString('base64');
  }
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name: generator.name }, type: 'Opaque', data };
}

function podSpecs(object: Json): Json[] {
  const spec = object.spec as Json | undefined;
  const template = spec?.template as Json | undefined;
  return template?.spec === undefined ? [] : [template.spec as Json];
}

function applyImages(object: Json, rules: ImageRule[]): void {
  for (const pod of podSpecs(object)) {
    for (const container of [...((pod.containers as Json[] | undefined) ?? []), ...((pod.initContainers as Json[] | undefined) ?? [])]) {
      const rule = rules.find((r) => r.name === container.image);
      if (rule !== undefined) container.image = `${rule.newName ?? rule.name}${rule.newTag === undefined ? '' : `:${rule.newTag}`}`;
    }
  }
}

/** Builds the kustomization in `dir` (relative to the repository). */
export function kustomize(dir: string): Built {
  const file = join(dir, 'kustomization.yaml');
  const kustomization = readYaml(file);
  const unknown = Object.keys(kustomization).filter((k) => !KUSTOMIZATION_FIELDS.includes(k));
  if (unknown.length > 0) throw new Error(`${file}: fields not modelled by the tests: ${unknown.join(', ')}`);
  const objects: Json[] = [];
  const files = [file];
  const secretFiles: string[] = [];
  const generators = (kustomization.secretGenerator as SecretGenerator[] | undefined) ?? [];
  // With the hash suffix kustomize renames the Secret and every reference to it; not modelled.
  if (generators.length > 0 && at(kustomization, 'generatorOptions', 'disableNameSuffixHash') !== true) {
    throw new Error(`${file}: secretGenerator is modelled with generatorOptions.disableNameSuffixHash: true only`);
  }
  for (const generator of generators) objects.push(generateSecret(dir, generator, secretFiles));
  for (const resource of (kustomization.resources as string[] | undefined) ?? []) {
    const path = join(dir, resource);
    if (!existsSync(join(REPO, path))) throw new Error(`${file}: resource ${resource} does not exist`);
    if (statSync(join(REPO, path)).isDirectory()) {
      const nested = kustomize(path);
      objects.push(...nested.objects);
      files.push(...nested.files);
      secretFiles.push(...nested.secretFiles);
    } else {
      objects.push(...readYamlDocuments(path));
      files.push(path);
    }
  }
  for (const object of objects) {
    const metadata = object.metadata as Json;
    if (typeof kustomization.namespace === 'string' && !CLUSTER_SCOPED.has(String(object.kind))) metadata.namespace = kustomization.namespace;
    applyImages(object, (kustomization.images as ImageRule[] | undefined) ?? []);
  }
  return { objects, files, secretFiles };
}

/** YAML files in a directory tree (relative to the repository). */
export function yamlFilesUnder(dir: string): string[] {
  return readdirSync(join(REPO, dir), { recursive: true, encoding: 'utf8' })
    .filter((name) => /\.ya?ml$/.test(name))
    .map((name) => relative(REPO, join(REPO, dir, name)));
}

export const kustomizationDirs = (dir: string) =>
  yamlFilesUnder(dir)
    .filter((f) => f.endsWith('kustomization.yaml'))
    .map((f) => dirname(f));
