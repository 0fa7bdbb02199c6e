/**
 * deploy/envoy-gateway/: the override of envoy-gateway.yaml applied to the Deployment Envoy Gateway
 * generates (generated-ratelimit-deployment.yaml) gives a container whose environment and arguments,
 * read by rateguard's own settings table, take the config over mutual-TLS xDS from Envoy Gateway,
 * serve mutual TLS on the gRPC port Envoy dials and answer the probes; and the override leaves the
 * Deployment's security context, probes and mounts as Envoy Gateway made them.
 */
import { describe, expect, it } from 'vitest';
import { resolveSettings } from '../../src/settings/settings.js';
import { at, atList, atRecord, byName, type Json, readYaml } from './deploy-files.js';

const generated = readYaml('deploy/envoy-gateway/generated-ratelimit-deployment.yaml');
const override = atRecord(readYaml('deploy/envoy-gateway/envoy-gateway.yaml'), 'provider', 'kubernetes', 'rateLimitDeployment');
const CONTAINER = 'envoy-ratelimit';

/** Envoy Gateway's merge: the image replaced, container.env entries replacing or joining the generated ones. */
function withContainerOverride(container: Json): Json {
  // The override may add env entries; rateguard's needs none now (it reads Envoy Gateway's names).
  const extra = 'env' in atRecord(override, 'container') ? atList(override, 'container', 'env') : [];
  const env = [...atList(container, 'env').filter((e) => !extra.some((x) => x.name === e.name)), ...extra];
  return { ...container, image: at(override, 'container', 'image'), env };
}

const original = byName(atList(generated, 'spec', 'template', 'spec', 'containers'), CONTAINER);
const container = withContainerOverride(original);
const env = Object.fromEntries(atList(container, 'env').map((e) => [String(e.name), String(e.value)]));
const command = at(container, 'command') as string[];

describe('rateguard under Envoy Gateway', () => {
  // /bin/ratelimit runs `serve` with no arguments: the environment is all there is.
  const resolved = resolveSettings([], env);
  if (!resolved.ok) throw new Error(resolved.errors.join('; '));
  const settings = resolved.settings;

  it("replaces only the image: Envoy Gateway's /bin/ratelimit command is the image's (runtime-image.test.ts runs it)", () => {
    expect(Object.keys(override)).toEqual(['container']);
    expect(Object.keys(atRecord(override, 'container'))).toEqual(['image']);
    expect(command).toEqual(['/bin/ratelimit']);
    expect(container.image).not.toMatch(/^envoyproxy\/ratelimit/);
  });

  it('takes its config from Envoy Gateway over mutual TLS xDS, starting before the first push', () => {
    expect({
      configType: settings.configType,
      xdsServerUrl: settings.xdsServerUrl,
      xdsNodeId: settings.xdsNodeId,
      xdsTls: settings.xdsTls,
      xdsTlsCert: settings.xdsTlsCert,
      xdsTlsKey: settings.xdsTlsKey,
      xdsTlsCa: settings.xdsTlsCa,
      forceStart: settings.forceStartWithoutInitialConfig,
    }).toEqual({
      configType: 'GRPC_XDS_SOTW',
      xdsServerUrl: 'envoy-gateway:18001',
      xdsNodeId: 'envoy-ratelimit',
      xdsTls: true,
      xdsTlsCert: '/certs/tls.crt',
      xdsTlsKey: '/certs/tls.key',
      xdsTlsCa: '/certs/ca.crt',
      forceStart: true,
    });
  });

  it("reads Envoy Gateway's own TLS, Redis and Prometheus settings: mutual TLS on the gRPC port Envoy dials, metrics on :19001, the probes on the HTTP port", () => {
    expect([settings.grpcTlsCert, settings.grpcTlsKey, settings.grpcTlsCa]).toEqual(['/certs/tls.crt', '/certs/tls.key', '/certs/ca.crt']);
    expect([settings.usePrometheus, settings.prometheusAddr]).toEqual([true, { host: '0.0.0.0', port: 19001 }]);
    expect(atList(container, 'ports').map((p) => p.containerPort)).toContain(settings.grpcPort);
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
      expect(at(container, probe, 'httpGet')).toEqual({ path: '/healthcheck', port: settings.httpPort });
    }
    expect(settings.redis).toBe(env.REDIS_URL);
  });

  it('changes nothing else Envoy Gateway set: security context, probes, mounts', () => {
    for (const field of ['securityContext', 'startupProbe', 'readinessProbe', 'livenessProbe', 'volumeMounts', 'ports']) {
      expect(container[field]).toEqual(original[field]);
    }
  });
});
