/**
 * Kubernetes NetworkPolicy ingress semantics, for the parts deploy/ uses: a Pod selected by no
 * policy accepts everything; once selected, a connection passes when some rule of some selecting
 * policy matches both its port (by name or number; no ports = every port) and its source (no
 * `from` = everyone; a podSelector alone = Pods of the policy's namespace; with a
 * namespaceSelector = Pods of the matching namespaces). Anything else (ipBlock, matchExpressions,
 * endPort) throws, so a manifest cannot lean on what this does not model.
 */
import { at, type Json } from './deploy-files.js';

export interface Peer {
  readonly podLabels: Readonly<Record<string, string>>;
  readonly namespace: string;
  readonly namespaceLabels: Readonly<Record<string, string>>;
}

export interface Target {
  readonly podLabels: Readonly<Record<string, string>>;
  readonly namespace: string;
  readonly port: { readonly name: string; readonly number: number };
}

function selects(selector: unknown, labels: Readonly<Record<string, string>>): boolean {
  const { matchLabels = {}, ...rest } = (selector ?? {}) as { matchLabels?: Record<string, string> };
  if (Object.keys(rest).length > 0) throw new Error(`selector fields not modelled: ${Object.keys(rest).join(', ')}`);
  return Object.entries(matchLabels).every(([key, value]) => labels[key] === value);
}

function portMatches(ports: Json[] | undefined, port: Target['port']): boolean {
  if (ports === undefined || ports.length === 0) return true;
  return ports.some(({ port: p, protocol = 'TCP', ...rest }) => {
    if (Object.keys(rest).length > 0) throw new Error(`port fields not modelled: ${Object.keys(rest).join(', ')}`);
    return protocol === 'TCP' && (p === port.name || p === port.number);
  });
}

function sourceMatches(from: Json[] | undefined, peer: Peer, policyNamespace: string): boolean {
  if (from === undefined || from.length === 0) return true;
  return from.some(({ namespaceSelector, podSelector, ...rest }) => {
    if (Object.keys(rest).length > 0) throw new Error(`peer fields not modelled: ${Object.keys(rest).join(', ')}`);
    const namespaceOk = namespaceSelector === undefined ? peer.namespace === policyNamespace : selects(namespaceSelector, peer.namespaceLabels);
    return namespaceOk && selects(podSelector, peer.podLabels);
  });
}

/** Whether `peer` may open a connection to `target` under `policies`. */
export function admits(policies: readonly Json[], target: Target, peer: Peer): boolean {
  const selecting = policies.filter(
    (p) =>
      at(p, 'metadata', 'namespace') === target.namespace &&
      selects(at(p, 'spec', 'podSelector'), target.podLabels) &&
      (at(p, 'spec', 'policyTypes') as string[]).includes('Ingress'),
  );
  if (selecting.length === 0) return true;
  return selecting.some((p) =>
    ((at(p, 'spec', 'ingress') as Json[] | undefined) ?? []).some(
      (rule) => portMatches(rule.ports as Json[] | undefined, target.port) && sourceMatches(rule.from as Json[] | undefined, peer, target.namespace),
    ),
  );
}
