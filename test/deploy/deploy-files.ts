/**
 * Reads the deployment files users copy (envoy/, deploy/, Dockerfile) the way the tests need them:
 * YAML parsed strictly (duplicate keys and syntax errors throw), and the parts of envoy.yaml the
 * consistency tests look at, found by name rather than by position.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import type { AddressRules } from './envoy-rate-limits.js';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));

export type Json = Record<string, unknown>;

export const repoFile = (relative: string) => join(REPO, relative);
export const readRepoText = (relative: string) => readFileSync(repoFile(relative), 'utf8');

/** One YAML document; merge keys (<<) on, as Docker Compose reads them. */
export function readYaml(relative: string): Json {
  return parse(readRepoText(relative), { merge: true, strict: true }) as Json;
}

/** Every document of a multi-document YAML file; any error in any of them throws. */
export function readYamlDocuments(relative: string): Json[] {
  return parseAllDocuments(readRepoText(relative)).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${relative}: ${doc.errors.map((e) => e.message).join('; ')}`);
    return doc.toJS() as Json;
  });
}

/** Walks a path of keys and list indexes, failing with the path when something is missing. */
export function at(value: unknown, ...path: (string | number)[]): unknown {
  let current = value;
  for (const [i, step] of path.entries()) {
    const next = (current as Record<string | number, unknown> | undefined)?.[step];
    if (next === undefined) throw new Error(`missing ${path.slice(0, i + 1).join('.')}`);
    current = next;
  }
  return current;
}

export const atRecord = (value: unknown, ...path: (string | number)[]) => at(value, ...path) as Json;
export const atList = (value: unknown, ...path: (string | number)[]) => at(value, ...path) as Json[];

export function byName(items: Json[], name: string): Json {
  const found = items.find((item) => item.name === name);
  if (found === undefined) throw new Error(`no item named ${name} among ${items.map((i) => String(i.name)).join(', ')}`);
  return found;
}

/** The parts of envoy/envoy.yaml the tests look at. */
export interface EnvoyFront {
  readonly listenerPort: number;
  readonly hcm: Json;
  readonly addressRules: AddressRules;
  readonly routes: unknown;
  readonly httpFilters: Json[];
  readonly rateLimit: Json;
  readonly clusters: Json[];
}

export function readEnvoyFront(relative = 'envoy/envoy.yaml'): EnvoyFront {
  const envoy = readYaml(relative);
  const listeners = atList(envoy, 'static_resources', 'listeners');
  if (listeners.length !== 1) throw new Error(`${relative}: expected one listener`);
  const chains = atList(listeners[0], 'filter_chains');
  const hcm = atRecord(byName(atList(chains[0], 'filters'), 'envoy.filters.network.http_connection_manager'), 'typed_config');
  const hosts = atList(hcm, 'route_config', 'virtual_hosts');
  if (hosts.length !== 1) throw new Error(`${relative}: expected one virtual host`);
  const httpFilters = atList(hcm, 'http_filters');
  return {
    listenerPort: Number(at(listeners[0], 'address', 'socket_address', 'port_value')),
    hcm,
    addressRules: { useRemoteAddress: at(hcm, 'use_remote_address') === true, xffNumTrustedHops: Number(hcm.xff_num_trusted_hops ?? 0) },
    routes: at(hosts[0], 'routes'),
    httpFilters,
    rateLimit: atRecord(byName(httpFilters, 'envoy.filters.http.ratelimit'), 'typed_config'),
    clusters: atList(envoy, 'static_resources', 'clusters'),
  };
}

/** host:port of every endpoint of a cluster. */
export function clusterEndpoints(cluster: Json): { address: string; port: number }[] {
  return atList(cluster, 'load_assignment', 'endpoints').flatMap((group) =>
    atList(group, 'lb_endpoints').map((lb) => ({
      address: String(at(lb, 'endpoint', 'address', 'socket_address', 'address')),
      port: Number(at(lb, 'endpoint', 'address', 'socket_address', 'port_value')),
    })),
  );
}
