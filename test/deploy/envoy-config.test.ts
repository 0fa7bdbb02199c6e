/**
 * envoy/envoy.yaml read as Envoy would: the rate limit filter is stated in full and points at an
 * HTTP/2 cluster on rateguard's gRPC port; the route actions send exactly the descriptors the demo
 * API sends (demoDescriptors) and the Istio example sends; and every descriptor meets a limit of config/.
 */
import type { RequestHandler } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConfigSnapshot, loadConfig } from '../../src/config/index.js';
import { createDemoApp, DEMO_DOMAIN, type DemoLimits, demoDescriptors } from '../../src/demo/demo-app.js';
import type { DescriptorEntry } from '../../src/rls/codec.js';
import { HealthState } from '../../src/server/health.js';
import { SETTINGS } from '../../src/settings/settings.js';
import { listen } from '../support/http.js';
import { at, atList, atRecord, byName, clusterEndpoints, readEnvoyFront, readYamlDocuments, repoFile } from './deploy-files.js';
import { descriptorsOf, routeRequest, type SampleRequest } from './envoy-rate-limits.js';

const front = readEnvoyFront();

/** What Envoy sends for a request: nothing unless it routes to a cluster with descriptors. */
function envoySends(request: SampleRequest): DescriptorEntry[][] {
  const outcome = routeRequest(front.routes, request, front.addressRules);
  return outcome.kind === 'cluster' ? outcome.descriptors : [];
}

describe('the rate limit filter', () => {
  it('states domain, timeout, failure mode, header format and API version, and runs before the router', () => {
    expect(front.rateLimit).toMatchObject({
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimit',
      domain: DEMO_DOMAIN,
      timeout: '0.02s',
      failure_mode_deny: false,
      enable_x_ratelimit_headers: 'DRAFT_VERSION_03',
      rate_limit_service: { transport_api_version: 'V3' },
    });
    expect(front.httpFilters.map((f) => f.name)).toEqual(['envoy.filters.http.ratelimit', 'envoy.filters.http.router']);
  });

  it('calls the rateguard cluster over HTTP/2 on the sidecar’s default gRPC port, health-checked by a name it serves', () => {
    const clusterName = at(front.rateLimit, 'rate_limit_service', 'grpc_service', 'envoy_grpc', 'cluster_name');
    const cluster = byName(front.clusters, String(clusterName));
    const options = atRecord(cluster, 'typed_extension_protocol_options', 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions');
    expect(options['@type']).toBe('type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions');
    expect(at(options, 'explicit_http_config')).toEqual({ http2_protocol_options: {} });
    expect(clusterEndpoints(cluster).map((e) => e.port)).toEqual([SETTINGS.grpcPort.default]);
    // A name the health service answers like the whole server (not 'redis', which follows Redis).
    expect(new HealthState().statusOf(String(at(cluster, 'health_checks', 0, 'grpc_health_check', 'service_name')))).toBe('SERVING');
    expect(at(cluster, 'health_checks', 0, 'grpc_health_check', 'service_name')).toBe('ratelimit');
  });

  it('every route’s cluster exists, and every cluster’s load_assignment carries its own name', () => {
    const routed = atList(front.routes)
      .filter((r) => r.route !== undefined)
      .map((r) => String(at(r, 'route', 'cluster')));
    for (const name of routed) byName(front.clusters, name);
    for (const cluster of front.clusters) expect(at(cluster, 'load_assignment', 'cluster_name')).toBe(cluster.name);
  });

  it('remote_address is the TCP peer: use_remote_address on, no trusted hops, paths normalized', () => {
    expect(front.addressRules).toEqual({ useRemoteAddress: true, xffNumTrustedHops: 0 });
    expect(front.hcm).toMatchObject({ normalize_path: true, merge_slashes: true });
  });
});

describe('descriptors: envoy.yaml, the demo API and the Istio example agree', () => {
  let config: ConfigSnapshot;
  let demo: { url: string; close: () => Promise<void> };
  const seenByDemo: DescriptorEntry[][][] = [];

  beforeAll(async () => {
    const loaded = await loadConfig(repoFile('config'));
    if (!loaded.ok) throw new Error('config/ does not load');
    config = loaded.config;
    // The real demo app and routing; its limiter only records what it would send to rateguard.
    const record: RequestHandler = (req, _res, next) => {
      seenByDemo.push(demoDescriptors(req));
      next();
    };
    const limits: DemoLimits = { api: record, expensive: (_req, _res, next) => next(), description: {}, reset: undefined, close: async () => undefined };
    demo = await listen(createDemoApp(limits));
  });
  afterAll(() => demo.close());

  /** Sends the request to the demo app; returns the descriptors its limiter computed (none if it did not run). */
  async function demoSends(method: string, path: string, headers: Record<string, string>): Promise<DescriptorEntry[][]> {
    const before = seenByDemo.length;
    await (await fetch(`${demo.url}${path}`, { method, headers })).arrayBuffer();
    return seenByDemo.length === before ? [] : seenByDemo[seenByDemo.length - 1]!;
  }

  const samples: { method: string; path: string; headers: Record<string, string> }[] = [
    { method: 'GET', path: '/api/hello', headers: {} },
    { method: 'GET', path: '/api/hello', headers: { 'x-api-key': 'k1' } },
    { method: 'GET', path: '/api/hello?name=x', headers: { 'x-forwarded-for': '203.0.113.9' } },
    { method: 'GET', path: '/api/expensive', headers: {} },
    { method: 'POST', path: '/api/expensive', headers: { 'x-api-key': 'k2' } },
    { method: 'GET', path: '/api/expensive?x=1', headers: {} },
    { method: 'GET', path: '/api/expensive/', headers: {} },
    { method: 'GET', path: '/API/Expensive', headers: {} },
    { method: 'GET', path: '/api/expensiveX', headers: {} },
    { method: 'GET', path: '/api/nothing-here', headers: {} },
    { method: 'GET', path: '/api/admin/stats', headers: {} },
    { method: 'GET', path: '/elsewhere', headers: {} },
  ];

  it.each(samples)('$method $path $headers: the same descriptors from Envoy and from the demo API', async ({ method, path, headers }) => {
    // The demo app sees this test's loopback connection; Envoy would see the same peer.
    const fromEnvoy = envoySends({ path, peer: '127.0.0.1', headers });
    expect(await demoSends(method, path, headers)).toEqual(fromEnvoy);
  });

  it('every descriptor Envoy sends meets a limit of config/, and the samples reach every limit', () => {
    const reached = new Set<unknown>();
    for (const { path, headers } of samples) {
      for (const entries of envoySends({ path, peer: '127.0.0.1', headers })) {
        const match = config.match(DEMO_DOMAIN, entries);
        expect(match, JSON.stringify(entries)).toBeDefined();
        for (const limit of match!.limits) reached.add(limit);
      }
    }
    expect(reached.size).toBe(config.limits().length);
  });

  it('the Istio VIRTUAL_HOST actions send what envoy.yaml sends on every /api/ route', () => {
    const [patch] = atList(readYamlDocuments('deploy/istio/ratelimit-actions.yaml')[0], 'spec', 'configPatches');
    const rateLimits = at(patch, 'patch', 'value', 'rate_limits');
    for (const { path, headers } of samples.filter((s) => /^\/api\/(?!admin)/i.test(s.path))) {
      const request = { path, peer: '192.0.2.44', headers };
      expect(descriptorsOf(rateLimits, request, front.addressRules), path).toEqual(envoySends(request));
    }
  });
});
