/**
 * deploy/: every manifest parses and passes the Kubernetes / Istio schemas; the objects fit
 * together (selectors, Services, ConfigMap, ports, probes, the Istio cluster name); the limits in
 * the ConfigMap are config/ itself and pass `rateguard validate`; rateguard's settings, read by its
 * own settings table, listen where the manifests point.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { validate } from '../../src/cli/validate.js';
import { isLoopbackHost } from '../../src/admin/admin-access.js';
import { resolveSettings, SETTINGS } from '../../src/settings/settings.js';
import { at, atList, atRecord, byName, type Json, REPO, readRepoText, readYamlDocuments, repoFile } from './deploy-files.js';
import { instructionsOf, readDockerfile } from './dockerfile.js';
import { schemaErrors } from './k8s-schemas.js';
import { kustomizationDirs, kustomize, yamlFilesUnder } from './kustomize.js';
import { admits, type Peer } from './network-policy.js';

const base = kustomize('deploy/k8s/base').objects;
const sidecarOverlay = kustomize('deploy/k8s/overlays/sidecar').objects;
const istio = kustomize('deploy/istio').objects;
const monitoring = kustomize('deploy/k8s/monitoring').objects;

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
    // deploy/envoy-gateway is no kustomization: Envoy Gateway's own resources and a copy of the
    // Deployment it generates, checked in test/deploy/envoy-gateway.test.ts.
    const manifests = yamlFilesUnder('deploy').filter((f) => !f.startsWith('deploy/envoy-gateway/'));
    expect(manifests.filter((f) => !used.has(f))).toEqual([]);
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
    expect(at(find(base, 'HorizontalPodAutoscaler', 'rateguard'), 'spec', 'scaleTargetRef')).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: 'rateguard',
    });
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
    const fromEnvoy = atRecord(
      byName(
        atList(envoyFilter, 'static_resources', 'listeners', 0, 'filter_chains', 0, 'filters', 0, 'typed_config', 'http_filters'),
        'envoy.filters.http.ratelimit',
      ),
      'typed_config',
    );
    const { rate_limit_service: _a, ...shared } = config;
    const { rate_limit_service: _b, ...expected } = fromEnvoy;
    expect(shared).toEqual(expected);
  });
});

describe('safe by default', () => {
  const deployment = find(base, 'Deployment', 'rateguard');
  const container = containerNamed(deployment, 'rateguard');
  const settings = rateguardSettings(container);
  const app = find(sidecarOverlay, 'Deployment', 'demo-api');
  const sidecar = containerNamed(app, 'rateguard');

  /** The Secret a container's file setting points into, read through its volume mount. */
  function secretBehind(workload: Json, from: Json, file: string): { secret: Json; key: string } {
    const mount = atList(from, 'volumeMounts').find((m) => m.mountPath === dirname(file));
    expect(mount, file).toBeDefined();
    // A whole directory: a subPath mount would never see a rotated Secret.
    expect(mount).not.toHaveProperty('subPath');
    const volume = byName(atList(podSpec(workload), 'volumes'), String(mount!.name));
    expect(at(volume, 'secret', 'defaultMode')).toBe(0o440);
    return { secret: find(base, 'Secret', String(at(volume, 'secret', 'secretName'))), key: basename(file) };
  }

  it('the admin token and the Redis password are Secrets mounted as files where rateguard reads them (shared service and sidecar)', () => {
    for (const [workload, from] of [
      [deployment, container],
      [app, sidecar],
    ] as const) {
      const own = rateguardSettings(from);
      for (const file of [own.adminTokenFile, own.redisPasswordFile]) {
        const { secret, key } = secretBehind(workload, from, String(file));
        expect(Object.keys(atRecord(secret, 'data'))).toEqual([key]);
      }
      // The group the kubelet gives the files (mode 0440) is the one rateguard runs as.
      expect(podSpec(workload).securityContext).toMatchObject({ fsGroup: at(podSpec(workload), 'securityContext', 'runAsGroup') });
    }
    // Redis asks for that same password.
    const redis = containerNamed(find(base, 'Deployment', 'redis'), 'redis');
    const password = secretBehind(deployment, container, String(settings.redisPasswordFile));
    const envFrom = (name: string) => at(byName(atList(redis, 'env'), name), 'valueFrom', 'secretKeyRef');
    expect(envFrom('REDIS_PASSWORD')).toEqual({ name: at(password.secret, 'metadata', 'name'), key: password.key });
    expect(envFrom('REDISCLI_AUTH')).toEqual(envFrom('REDIS_PASSWORD'));
    expect((atList(redis, 'args') as unknown as string[]).join(' ')).toContain('--requirepass $(REDIS_PASSWORD)');
  });

  it('the Secrets come from files git ignores, which docs/deploy.md says how to create', () => {
    const { secretFiles } = kustomize('deploy/k8s/base');
    expect(secretFiles).toEqual(['deploy/k8s/base/secrets/admin-token', 'deploy/k8s/base/secrets/redis-password']);
    const deployDoc = readRepoText('docs/deploy.md');
    for (const file of secretFiles) {
      expect(execFileSync('git', ['check-ignore', file], { cwd: REPO, encoding: 'utf8' }).trim()).toBe(file);
      expect(deployDoc).toContain(`openssl rand -hex 32 > ${file}`);
    }
  });

  it('the debug port (no token needed) is bound to loopback: reachable by kubectl port-forward, never by the network', () => {
    for (const from of [container, sidecar]) expect(isLoopbackHost(rateguardSettings(from).debugHost)).toBe(true);
  });

  describe('NetworkPolicies admit only who needs each port', () => {
    const policies = [...base, ...sidecarOverlay].filter((o) => o.kind === 'NetworkPolicy');
    const unique = [...new Map(policies.map((p) => [String(at(p, 'metadata', 'name')), p])).values()];
    const pod = (
      labels: Record<string, string>,
      namespace = 'rateguard',
      namespaceLabels: Record<string, string> = { 'kubernetes.io/metadata.name': namespace },
    ): Peer => ({
      podLabels: labels,
      namespace,
      namespaceLabels,
    });
    const target = (workload: Json, containerName: string, portName: string) => ({
      podLabels: atRecord(workload, 'spec', 'template', 'metadata', 'labels') as Record<string, string>,
      namespace: 'rateguard',
      port: { name: portName, number: portNumber(containerNamed(workload, containerName), portName) },
    });
    const rateguardGrpc = target(deployment, 'rateguard', 'grpc');
    const rateguardHttp = target(deployment, 'rateguard', 'http');
    const redisPort = target(find(base, 'Deployment', 'redis'), 'redis', 'redis');
    const sidecarGrpc = target(app, 'rateguard', 'grpc');
    const sidecarHttp = target(app, 'rateguard', 'rg-http');
    const appHttp = target(app, 'app', 'http');
    const gateway = pod({ istio: 'ingressgateway' }, 'istio-system');
    const labelledClient = pod({ 'rateguard.io/client': 'true' }, 'shop');
    const prometheus = pod({ 'app.kubernetes.io/name': 'prometheus' }, 'monitoring');
    const anyPod = pod({ 'app.kubernetes.io/name': 'shop' }, 'shop');
    const rateguardPod = pod({ 'app.kubernetes.io/name': 'rateguard' });
    const demoPod = pod({ 'app.kubernetes.io/name': 'demo-api' });

    it.each([
      ['Envoy (Istio ingress gateway) → rateguard gRPC', gateway, rateguardGrpc, true],
      ['a Pod labelled rateguard.io/client → rateguard gRPC', labelledClient, rateguardGrpc, true],
      ['any other Pod → rateguard gRPC', anyPod, rateguardGrpc, false],
      ['Prometheus → rateguard gRPC', prometheus, rateguardGrpc, false],
      ['Prometheus → rateguard HTTP (/metrics)', prometheus, rateguardHttp, true],
      ['Envoy → rateguard HTTP', gateway, rateguardHttp, false],
      ['any other Pod → rateguard HTTP (POST /reset)', anyPod, rateguardHttp, false],
      ['rateguard → Redis', rateguardPod, redisPort, true],
      ['the sidecar overlay app (its rateguard) → Redis', demoPod, redisPort, true],
      ['any other Pod → Redis', anyPod, redisPort, false],
      ['Prometheus → Redis', prometheus, redisPort, false],
      ['any Pod → the demo API', anyPod, appHttp, true],
      ['any Pod → the sidecar’s gRPC (asked over 127.0.0.1 only)', anyPod, sidecarGrpc, false],
      ['any Pod → the sidecar’s HTTP', anyPod, sidecarHttp, false],
      ['Prometheus → the sidecar’s HTTP (/metrics)', prometheus, sidecarHttp, true],
    ] as const)('%s', (_what, peer, to, allowed) => {
      expect(admits(unique, to, peer)).toBe(allowed);
    });

    it('every Pod is selected by a policy (none is open by omission)', () => {
      for (const workload of [...base, ...sidecarOverlay].filter((o) => o.kind === 'Deployment')) {
        const labels = atRecord(workload, 'spec', 'template', 'metadata', 'labels');
        const selected = unique.some((p) => Object.entries(atRecord(p, 'spec', 'podSelector', 'matchLabels')).every(([k, v]) => labels[k] === v));
        expect([at(workload, 'metadata', 'name'), selected]).toEqual([at(workload, 'metadata', 'name'), true]);
      }
    });
  });

  it('Prometheus finds the metrics: Pod scrape annotations and a ServiceMonitor on the HTTP port', () => {
    for (const [workload, from] of [
      [deployment, container],
      [app, sidecar],
    ] as const) {
      expect(atRecord(workload, 'spec', 'template', 'metadata', 'annotations')).toEqual({
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': String(rateguardSettings(from).httpPort),
        'prometheus.io/path': '/metrics',
      });
    }
    // No published schema for the Prometheus Operator's CRD here: its fields are checked one by one.
    const [monitor] = monitoring;
    expect([monitor!.apiVersion, monitor!.kind, monitoring.length]).toEqual(['monitoring.coreos.com/v1', 'ServiceMonitor', 1]);
    const service = find(base, 'Service', 'rateguard');
    expect(at(monitor, 'spec', 'selector', 'matchLabels')).toEqual(at(service, 'metadata', 'labels'));
    expect(at(monitor, 'spec', 'namespaceSelector', 'matchNames')).toEqual([at(service, 'metadata', 'namespace')]);
    const [endpoint] = atList(monitor, 'spec', 'endpoints');
    const servicePort = byName(atList(service, 'spec', 'ports'), String(endpoint!.port));
    expect([servicePort.port, endpoint!.path]).toEqual([settings.httpPort, '/metrics']);
  });

  it('README and docs/deploy.md build and push the image to a registry named by a variable before kubectl apply -k', () => {
    const images = [base, sidecarOverlay]
      .flatMap((objects) => objects.filter((o) => o.kind === 'Deployment').flatMap(allContainers))
      .map((c) => String(c.image));
    expect(new Set(images.filter((i) => i.startsWith('rateguard')))).toEqual(new Set(['rateguard:0.1.0']));
    for (const doc of ['README.md', 'docs/deploy.md']) {
      const text = readRepoText(doc);
      const steps = [
        'docker build -t "$REGISTRY/rateguard:$TAG" .',
        'docker push "$REGISTRY/rateguard:$TAG"',
        'kustomize edit set image rateguard="$REGISTRY/rateguard:$TAG"',
        'kubectl apply -k',
      ];
      const positions = steps.map((step) => text.indexOf(step));
      expect([doc, positions.every((p) => p >= 0), [...positions].sort((a, b) => a - b)]).toEqual([doc, true, positions]);
    }
    expect(existsSync(repoFile('Dockerfile'))).toBe(true);
  });
});
