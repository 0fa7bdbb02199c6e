/**
 * deploy/: every manifest parses and passes the Kubernetes / Istio schemas; the objects fit
 * together (selectors, Services, ConfigMap, ports, probes, the Istio cluster name); the limits in
 * the ConfigMap are config/ itself and pass `rateguard validate`; rateguard's settings, read by its
 * own settings table, listen where the manifests point.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { validate } from '../../src/cli/validate.js';
import { resolveSettings, SETTINGS } from '../../src/settings/settings.js';
import { at, atList, atRecord, byName, type Json, readRepoText, readYamlDocuments, repoFile } from './deploy-files.js';
import { instructionsOf, readDockerfile } from './dockerfile.js';
import { schemaErrors } from './k8s-schemas.js';
import { kustomizationDirs, kustomize, yamlFilesUnder } from './kustomize.js';

const base = kustomize('deploy/k8s/base').objects;
const sidecarOverlay = kustomize('deploy/k8s/overlays/sidecar').objects;
const istio = kustomize('deploy/istio').objects;

const find = (objects: Json[], kind: string, name: string) => {
  const found = objects.find((o) => o.kind === kind && at(o, 'metadata', 'name') === name);
  if (found === undefined) throw new Error(`no ${kind} ${name}`);
  return found;
};
const podSpec = (workload: Json) => atRecord(workload, 'spec', 'template', 'spec');
/** Containers and init containers (native sidecars are init containers). */
const allContainers = (workload: Json) => [...atList(podSpec(workload), 'containers'), ...((podSpec(workload).initContainers as Json[] | undefined) ?? [])];
const containerNamed = (workload: Json, name: string) => byName(allContainers(workload), name);
const envOf = (container: Json): Record<string, string> =>
  Object.fromEntries(((container.env as Json[] | undefined) ?? []).map((e) => [String(e.name), String(e.value)]));

/** rateguard's own reading of a container's args and env: what it will listen on and load. */
function rateguardSettings(container: Json) {
  const [command, ...flags] = atList(container, 'args') as unknown as string[];
  expect(command).toBe('serve');
  const resolved = resolveSettings(flags, envOf(container));
  if (!resolved.ok) throw new Error(resolved.errors.join('; '));
  return resolved.settings;
}

const portNumber = (container: Json, name: string) => Number(at(byName(atList(container, 'ports'), name), 'containerPort'));

describe('every manifest', () => {
  it('every YAML file under deploy/ is part of a kustomization (nothing orphaned, nothing missing)', () => {
    const used = new Set(kustomizationDirs('deploy').flatMap((dir) => kustomize(dir).files));
    expect(yamlFilesUnder('deploy').filter((f) => !used.has(f))).toEqual([]);
  });

  it.each([
    ['deploy/k8s/base', base],
    ['deploy/k8s/overlays/sidecar', sidecarOverlay],
    ['deploy/istio', istio],
  ])('%s: passes the Kubernetes and Istio schemas', async (_dir, objects) => {
    expect(objects.length).toBeGreaterThan(0);
    for (const object of objects) expect(await schemaErrors(object), `${String(object.kind)} ${String(at(object, 'metadata', 'name'))}`).toBeUndefined();
  });

  it('the schema check itself rejects a wrong type and an unknown kind', async () => {
    const deployment = structuredClone(find(base, 'Deployment', 'rateguard'));
    (atList(podSpec(deployment), 'containers')[0]!.ports as Json[])[0]!.containerPort = 'eighty';
    expect(await schemaErrors(deployment)).toMatch(/containerPort must be integer/);
    expect(await schemaErrors({ apiVersion: 'apps/v1', kind: 'Deploymint', metadata: { name: 'x' } })).toMatch(/no schema/);
  });

  it('Services, PDB and HPA select or target what exists; every Pod runs non-root on a read-only root', () => {
    for (const objects of [base, sidecarOverlay]) {
      const workloads = objects.filter((o) => o.kind === 'Deployment');
      const labelsOf = (w: Json) => atRecord(w, 'spec', 'template', 'metadata', 'labels');
      for (const service of objects.filter((o) => o.kind === 'Service')) {
        const selector = atRecord(service, 'spec', 'selector');
        const target = workloads.find((w) => Object.entries(selector).every(([k, v]) => labelsOf(w)[k] === v));
        expect(target, String(at(service, 'metadata', 'name'))).toBeDefined();
        const portNames = allContainers(target!).flatMap((c) => atList(c, 'ports').map((p) => p.name));
        for (const port of atList(service, 'spec', 'ports')) expect(portNames).toContain(port.targetPort);
      }
      for (const workload of workloads) {
        expect(labelsOf(workload)).toMatchObject(atRecord(workload, 'spec', 'selector', 'matchLabels'));
        expect(podSpec(workload).securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
        for (const container of allContainers(workload)) {
          expect(container.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
          expect(atRecord(container, 'resources', 'requests')).toHaveProperty('memory');
        }
      }
    }
    const deployment = find(base, 'Deployment', 'rateguard');
    expect(at(find(base, 'PodDisruptionBudget', 'rateguard'), 'spec', 'selector')).toEqual(at(deployment, 'spec', 'selector'));
    expect(at(find(base, 'HorizontalPodAutoscaler', 'rateguard'), 'spec', 'scaleTargetRef')).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'rateguard' });
    // The HPA owns the replica count: a Deployment that states one would reset it on every apply.
    expect(at(deployment, 'spec')).not.toHaveProperty('replicas');
  });
});

describe('rateguard in Kubernetes', () => {
  const deployment = find(base, 'Deployment', 'rateguard');
  const container = containerNamed(deployment, 'rateguard');
  const settings = rateguardSettings(container);

  it('listens where the container ports, Service, probes and Envoy point: the sidecar’s defaults', () => {
    const service = find(base, 'Service', 'rateguard');
    expect(portNumber(container, 'grpc')).toBe(settings.grpcPort);
    expect(portNumber(container, 'http')).toBe(settings.httpPort);
    expect(atList(service, 'spec', 'ports').map((p) => [p.name, p.port, p.appProtocol])).toEqual([
      ['grpc', settings.grpcPort, 'grpc'],
      ['http', settings.httpPort, 'http'],
    ]);
    expect(at(container, 'readinessProbe', 'grpc')).toEqual({ port: settings.grpcPort, service: 'ratelimit' });
    expect(at(container, 'livenessProbe', 'httpGet')).toEqual({ path: '/healthcheck', port: 'http' });
    expect([settings.grpcPort, settings.httpPort]).toEqual([SETTINGS.grpcPort.default, SETTINGS.httpPort.default]);
  });

  it('reads its limits from the ConfigMap mounted as a whole directory (hot reload sees ConfigMap updates)', () => {
    const mount = byName(atList(container, 'volumeMounts'), 'config');
    expect(mount.mountPath).toBe(settings.config);
    expect(mount).not.toHaveProperty('subPath');
    const volume = byName(atList(podSpec(deployment), 'volumes'), 'config');
    find(base, 'ConfigMap', String(at(volume, 'configMap', 'name')));
  });

  it('reaches Redis through the redis Service', () => {
    const url = new URL(String(settings.redis));
    const redis = find(base, 'Service', url.hostname);
    expect(atList(redis, 'spec', 'ports').map((p) => p.port)).toContain(Number(url.port));
  });

  it('runs as the image’s numeric user, and is given longer to stop than preStop plus its drain', () => {
    const runtime = readDockerfile().stages.at(-1)!;
    const [user, group] = instructionsOf(runtime, 'USER')[0]!.split(':').map(Number);
    expect(podSpec(deployment).securityContext).toMatchObject({ runAsUser: user, runAsGroup: group });
    expect(user).toBeGreaterThan(0);
    const [sleep, seconds] = at(container, 'lifecycle', 'preStop', 'exec', 'command') as string[];
    expect(sleep).toBe('sleep');
    expect(Number(at(podSpec(deployment), 'terminationGracePeriodSeconds'))).toBeGreaterThan(Number(seconds) + settings.shutdownTimeoutMs / 1000);
  });

  it('the sidecar overlay: the app asks its own rateguard on localhost, a native sidecar with the same settings', () => {
    const app = find(sidecarOverlay, 'Deployment', 'demo-api');
    const sidecar = containerNamed(app, 'rateguard');
    expect(sidecar.restartPolicy).toBe('Always');
    const sidecarSettings = rateguardSettings(sidecar);
    expect(envOf(containerNamed(app, 'app')).RATEGUARD_ADDRESS).toBe(`127.0.0.1:${sidecarSettings.grpcPort}`);
    expect({ ...sidecarSettings, shutdownTimeoutMs: 0 }).toEqual({ ...settings, shutdownTimeoutMs: 0 });
    expect(containerNamed(app, 'app').image).toBe(container.image);
  });
});

describe('docs/deploy.md', () => {
  it('the Redis Cluster values it gives are settings rateguard accepts', () => {
    const section = readRepoText('docs/deploy.md').split('### Redis Cluster and Sentinel')[1]!;
    const block = /```yaml\n([\s\S]*?)```/.exec(section)![1]!;
    const env = Object.fromEntries((parse(block) as Json[]).map((e) => [String(e.name), String(e.value)]));
    const resolved = resolveSettings([], env);
    if (!resolved.ok) throw new Error(resolved.errors.join('; '));
    expect(resolved.settings.redisMode).toBe('cluster');
    expect(String(resolved.settings.redis).split(',')).toHaveLength(2);
  });
});

describe('the limits ConfigMap', () => {
  const data = atRecord(find(base, 'ConfigMap', 'rateguard-config'), 'data');
  const dir = mkdtempSync(join(tmpdir(), 'rg-configmap-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('holds exactly the files of config/', () => {
    const files = readdirSync(repoFile('config')).filter((f) => /\.ya?ml$/.test(f));
    expect(Object.keys(data).sort()).toEqual(files.sort());
    for (const file of files) expect(data[file], file).toBe(readFileSync(repoFile(`config/${file}`), 'utf8'));
  });

  it('passes rateguard validate', async () => {
    for (const [file, text] of Object.entries(data)) writeFileSync(join(dir, file), String(text));
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      expect(await validate([dir])).toBe(0);
      expect(log.mock.calls.flat().join('\n')).toMatch(/OK — 1 domain\(s\) \(rateguard-demo\)/);
    } finally {
      log.mockRestore();
    }
  });
});

describe('Istio', () => {
  const filter = find(istio, 'EnvoyFilter', 'rateguard-ratelimit');
  const [patch] = atList(filter, 'spec', 'configPatches');

  it('inserts the rate limit filter before the router at the ingress gateway', () => {
    expect(atRecord(patch, 'match')).toMatchObject({
      context: 'GATEWAY',
      listener: { filterChain: { filter: { name: 'envoy.filters.network.http_connection_manager', subFilter: { name: 'envoy.filters.http.router' } } } },
    });
    expect(at(patch, 'applyTo')).toBe('HTTP_FILTER');
    expect(at(patch, 'patch', 'operation')).toBe('INSERT_BEFORE');
    for (const object of istio) expect(at(object, 'spec', 'workloadSelector', 'labels')).toEqual({ istio: 'ingressgateway' });
  });

  it('calls Istio’s cluster for the rateguard Service on its gRPC port, with the envoy.yaml filter settings', () => {
    const service = find(base, 'Service', 'rateguard');
    const host = `${String(at(service, 'metadata', 'name'))}.${String(at(service, 'metadata', 'namespace'))}.svc.cluster.local`;
    const grpcPort = byName(atList(service, 'spec', 'ports'), 'grpc').port;
    const config = atRecord(patch, 'patch', 'value', 'typed_config');
    expect(at(config, 'rate_limit_service', 'grpc_service', 'envoy_grpc')).toEqual({ cluster_name: `outbound|${String(grpcPort)}||${host}`, authority: host });
    const envoyFilter = readYamlDocuments('envoy/envoy.yaml')[0];
    const fromEnvoy = atRecord(byName(atList(envoyFilter, 'static_resources', 'listeners', 0, 'filter_chains', 0, 'filters', 0, 'typed_config', 'http_filters'), 'envoy.filters.http.ratelimit'), 'typed_config');
    const { rate_limit_service: _a, ...shared } = config;
    const { rate_limit_service: _b, ...expected } = fromEnvoy;
    expect(shared).toEqual(expected);
  });
});
