/** The xDS settings read as Envoy Gateway's Deployment writes them (the reference's names and Go durations). */
import { describe, expect, it } from 'vitest';
import { resolveSettings } from '../../src/settings/settings.js';

describe('xDS settings', () => {
  it("reads Envoy Gateway's environment", () => {
    const result = resolveSettings([], {
      CONFIG_TYPE: 'GRPC_XDS_SOTW',
      CONFIG_GRPC_XDS_SERVER_URL: 'envoy-gateway:18001',
      CONFIG_GRPC_XDS_NODE_ID: 'envoy-ratelimit',
      CONFIG_GRPC_XDS_SERVER_USE_TLS: 'true',
      CONFIG_GRPC_XDS_CLIENT_TLS_CERT: '/certs/tls.crt',
      CONFIG_GRPC_XDS_CLIENT_TLS_KEY: '/certs/tls.key',
      CONFIG_GRPC_XDS_SERVER_TLS_CACERT: '/certs/ca.crt',
      FORCE_START_WITHOUT_INITIAL_CONFIG: 'true',
    });
    if (!result.ok) throw new Error(result.errors.join('; '));
    const s = result.settings;
    expect([s.configType, s.xdsServerUrl, s.xdsNodeId, s.xdsTls, s.xdsTlsCert, s.xdsTlsKey, s.xdsTlsCa, s.forceStartWithoutInitialConfig]).toEqual([
      'GRPC_XDS_SOTW',
      'envoy-gateway:18001',
      'envoy-ratelimit',
      true,
      '/certs/tls.crt',
      '/certs/tls.key',
      '/certs/ca.crt',
      true,
    ]);
    expect([s.xdsConnectRetryMs, s.xdsBackoffInitialMs, s.xdsBackoffMaxMs, s.xdsBackoffRandomFactor, s.xdsBackoffJitter]).toEqual([
      3000,
      10_000,
      60_000,
      0.5,
      true,
    ]);
  });

  it('parses Go durations, k=v metadata and k:v headers', () => {
    const result = resolveSettings([], {
      CONFIG_GRPC_XDS_SERVER_CONNECT_RETRY_INTERVAL: '1m30s',
      XDS_CLIENT_BACKOFF_INITIAL_INTERVAL: '250ms',
      XDS_CLIENT_BACKOFF_MAX_INTERVAL: '1.5s',
      XDS_CLIENT_BACKOFF_JITTER: 'false',
      CONFIG_GRPC_XDS_NODE_METADATA: 'zone=eu-1,team=edge',
      CONFIG_GRPC_XDS_CLIENT_ADDITIONAL_HEADERS: 'authorization:Bearer a:b, x-team:rl',
    });
    if (!result.ok) throw new Error(result.errors.join('; '));
    const s = result.settings;
    expect([s.xdsConnectRetryMs, s.xdsBackoffInitialMs, s.xdsBackoffMaxMs, s.xdsBackoffJitter]).toEqual([90_000, 250, 1500, false]);
    expect(s.xdsNodeMetadata).toEqual({ zone: 'eu-1', team: 'edge' });
    expect(s.xdsHeaders).toEqual({ authorization: 'Bearer a:b', 'x-team': 'rl' });
  });

  it('names bad values', () => {
    const result = resolveSettings([], { CONFIG_TYPE: 'GRPC_XDS_DELTA', XDS_CLIENT_BACKOFF_MAX_INTERVAL: '10 seconds', CONFIG_GRPC_XDS_NODE_METADATA: 'zone' });
    expect(result).toEqual({
      ok: false,
      errors: [
        'CONFIG_TYPE: expected one of FILE, GRPC_XDS_SOTW, got "GRPC_XDS_DELTA"',
        'CONFIG_GRPC_XDS_NODE_METADATA: expected key=value pairs separated by commas, got "zone"',
        'XDS_CLIENT_BACKOFF_MAX_INTERVAL: expected a duration like 10s, 500ms or 1m30s, got "10 seconds"',
      ],
    });
  });
});
