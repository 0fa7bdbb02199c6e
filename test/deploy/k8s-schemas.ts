/**
 * Validates Kubernetes and Istio objects against their published schemas, offline, with
 * kubernetes-models / @kubernetes-models/istio (the model for an apiVersion + kind is looked up,
 * so an unknown kind or version is an error too). These schemas check types, enums and required
 * fields; they accept unknown fields, which the deploy tests cover by reading the fields they rely on.
 */
import type { Json } from './deploy-files.js';

type Model = new (data: unknown) => { validate(): void };

function modelModule(apiVersion: string): string {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  if (group === '') return `kubernetes-models/${version}`;
  if (group!.endsWith('istio.io')) return `@kubernetes-models/istio/${group}/${version}`;
  return `kubernetes-models/${group}/${version}`;
}

/** Undefined when valid, else the validation errors (or why no schema was found). */
export async function schemaErrors(object: Json): Promise<string | undefined> {
  const apiVersion = String(object.apiVersion);
  const kind = String(object.kind);
  let models: Record<string, Model | undefined>;
  try {
    models = (await import(modelModule(apiVersion))) as Record<string, Model | undefined>;
  } catch {
    return `no schema for apiVersion ${apiVersion}`;
  }
  const model = models[kind];
  if (model === undefined) return `no schema for ${apiVersion} ${kind}`;
  try {
    new model(object).validate();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}
