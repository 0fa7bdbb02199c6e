/**
 * Every environment setting of envoyproxy/ratelimit (../shared/reference/envoy-ratelimit-compat.md)
 * and of Envoy Gateway's Deployment is understood, accepted with one start-up notice, or refused
 * with a message naming what to use instead; none is silently ignored (issue 13).
 */
import { describe, expect, it } from 'vitest';
import { resolveSettings, type SettingName, SETTINGS } from '../../src/settings/settings.js';
import { resolveRedisTarget } from '../../src/stores/redis/connection.js';
import { at, atList, byName, readYaml } from '../deploy/deploy-files.js';

type Outcome =
  /**
   * Read into a rateguard setting with a flag, no notice: the setting that has the name moves off
   * its default, or `sets` names the setting it maps onto and the value it gets.
   */
  | { understood: true; with?: Record<string, string>; sets?: [SettingName, unknown] }
  /** Accepted, with exactly one notice holding this text. */
  | { notice: string; with?: Record<string, string> }
  /** Start refused: the one error holds this text (what to use instead). */
  | { refused: string };

const REFERENCE: [name: string, value: string, outcome: Outcome][] = [
  ['RUNTIME_ROOT', '/data', { understood: true }],
  ['RUNTIME_SUBDIRECTORY', 'ratelimit', { understood: true }],
  ['RUNTIME_APPDIRECTORY', 'limits', { understood: true }],
  ['RUNTIME_IGNOREDOTFILES', 'false', { notice: 'hidden entries are always skipped' }],
  ['RUNTIME_WATCH_ROOT', 'true', { notice: "maps to rateguard's one watch" }],
  ['CONFIG_TYPE', 'GRPC_XDS_SOTW', { understood: true }],
  ['FORCE_START_WITHOUT_INITIAL_CONFIG', 'true', { understood: true }],
  ['HOST', '127.0.0.1', { understood: true }],
  ['PORT', '9000', { understood: true }],
  ['GRPC_HOST', '127.0.0.1', { understood: true }],
  ['GRPC_PORT', '9001', { understood: true }],
  ['DEBUG_HOST', '0.0.0.0', { understood: true }],
  ['DEBUG_PORT', '6071', { understood: true }],
  ['GRPC_UDS', '/var/run/ratelimit.sock', { understood: true }],
  ['GRPC_MAX_CONNECTION_AGE', '24h', { understood: true }],
  ['GRPC_MAX_CONNECTION_AGE_GRACE', '1h', { understood: true }],
  ['GRPC_SERVER_USE_TLS', 'true', { understood: true, with: { GRPC_SERVER_TLS_CERT: '/certs/tls.crt', GRPC_SERVER_TLS_KEY: '/certs/tls.key' } }],
  ['GRPC_SERVER_TLS_CERT', '/certs/tls.crt', { understood: true }],
  ['GRPC_SERVER_TLS_KEY', '/certs/tls.key', { understood: true }],
  ['GRPC_CLIENT_TLS_CACERT', '/certs/ca.crt', { understood: true }],
  ['GRPC_SERVER_TLS_CA_CERT', '/certs/ca.crt', { understood: true }],
  ['GRPC_CLIENT_TLS_SAN', 'envoy.example', { understood: true, with: { GRPC_CLIENT_TLS_CACERT: '/certs/ca.crt' } }],
  ['LOG_LEVEL', 'WARN', { understood: true }],
  ['LOG_FORMAT', 'text', { understood: true }],
  ['REDIS_SOCKET_TYPE', 'unix', { understood: true }],
  ['REDIS_URL', 'redis:6379', { understood: true }],
  ['REDIS_TYPE', 'CLUSTER', { understood: true }],
  ['REDIS_AUTH', 'user:password', { understood: true }],
  ['REDIS_SENTINEL_AUTH', 'password', { understood: true }],
  ['REDIS_TLS', 'true', { understood: true }],
  ['REDIS_TLS_CLIENT_CERT', '/redis-certs/tls.crt', { understood: true }],
  ['REDIS_TLS_CLIENT_KEY', '/redis-certs/tls.key', { understood: true }],
  ['REDIS_TLS_CACERT', '/redis-certs/ca.crt', { understood: true }],
  ['REDIS_TLS_SKIP_HOSTNAME_VERIFICATION', 'true', { understood: true }],
  ['REDIS_TIMEOUT', '10s', { understood: true }],
  ['REDIS_POOL_SIZE', '10', { notice: 'REDIS_POOL_SIZE has no effect' }],
  ['REDIS_PIPELINE_WINDOW', '150us', { notice: 'REDIS_PIPELINE_WINDOW/REDIS_PIPELINE_LIMIT have no effect' }],
  ['REDIS_PIPELINE_LIMIT', '8', { notice: 'REDIS_PIPELINE_WINDOW/REDIS_PIPELINE_LIMIT have no effect' }],
  ['REDIS_PERSECOND', 'true', { notice: 'REDIS_PERSECOND_* have no effect' }],
  ['REDIS_PERSECOND_URL', 'redis-persecond:6379', { notice: 'REDIS_PERSECOND_* have no effect' }],
  ['REDIS_PERSECOND_SOCKET_TYPE', 'tcp', { notice: 'REDIS_PERSECOND_* have no effect' }],
  ['REDIS_PERSECOND_TYPE', 'SINGLE', { notice: 'REDIS_PERSECOND_* have no effect' }],
  ['REDIS_PERSECOND_AUTH', 'password', { notice: 'REDIS_PERSECOND_* have no effect' }],
  ['REDIS_PERSECOND_POOL_SIZE', '10', { notice: 'REDIS_PERSECOND_* have no effect' }],
  ['LOCAL_CACHE_SIZE_IN_BYTES', '0', { understood: true, sets: ['localCacheSize', 0] }],
  ['LOCAL_CACHE_SIZE_IN_BYTES', '1048576', { notice: 'holds --local-cache-size entries (LOCAL_CACHE_SIZE), not bytes' }],
  ['NEAR_LIMIT_RATIO', '0.9', { understood: true }],
  ['SHADOW_MODE', 'true', { understood: true }],
  ['QUOTA_MODE', 'true', { understood: true }],
  ['RESPONSE_DYNAMIC_METADATA', 'true', { understood: true }],
  ['MERGE_DOMAIN_CONFIG', 'true', { understood: true }],
  ['LIMIT_RESPONSE_HEADERS_ENABLED', 'true', { understood: true }],
  ['LIMIT_LIMIT_HEADER', 'X-Limit', { understood: true, with: { LIMIT_RESPONSE_HEADERS_ENABLED: 'true' } }],
  ['LIMIT_REMAINING_HEADER', 'X-Remaining', { understood: true, with: { LIMIT_RESPONSE_HEADERS_ENABLED: 'true' } }],
  ['LIMIT_RESET_HEADER', 'X-Reset', { understood: true, with: { LIMIT_RESPONSE_HEADERS_ENABLED: 'true' } }],
  ['USE_STATSD', 'true', { understood: true }],
  ['STATSD_HOST', 'statsd', { understood: true }],
  ['STATSD_PORT', '9125', { understood: true }],
  ['USE_DOG_STATSD', 'true', { understood: true }],
  ['EXTRA_TAGS', 'team:edge', { understood: true }],
  ['STATS_FLUSH_INTERVAL', '5s', { understood: true }],
  ['USE_PROMETHEUS', 'true', { understood: true }],
  ['PROMETHEUS_ADDR', ':19001', { understood: true, with: { USE_PROMETHEUS: 'true' } }],
  ['PROMETHEUS_PATH', '/prom', { understood: true, with: { USE_PROMETHEUS: 'true' } }],
  ['PROMETHEUS_MAPPER_YAML', '/etc/statsd-exporter/conf.yaml', { notice: 'PROMETHEUS_MAPPER_YAML has no effect' }],
  ['TRACING_ENABLED', 'true', { understood: true }],
  ['TRACING_EXPORTER_PROTOCOL', 'grpc', { understood: true }],
  ['TRACING_SERVICE_NAME', 'ratelimit', { understood: true }],
  ['TRACING_SERVICE_NAMESPACE', 'envoy-gateway-system', { understood: true }],
  ['TRACING_SERVICE_INSTANCE_ID', 'envoy-ratelimit-0', { understood: true }],
  ['TRACING_SAMPLING_RATE', '0.5', { understood: true }],
  // Envoy Gateway's Deployment (../shared/reference/envoy-gateway.md).
  ['CONFIG_GRPC_XDS_SERVER_URL', 'envoy-gateway:18001', { understood: true }],
  ['CONFIG_GRPC_XDS_NODE_ID', 'envoy-ratelimit', { understood: true }],
  ['CONFIG_GRPC_XDS_SERVER_USE_TLS', 'true', { understood: true }],
  ['CONFIG_GRPC_XDS_CLIENT_TLS_CERT', '/certs/tls.crt', { understood: true }],
  ['CONFIG_GRPC_XDS_CLIENT_TLS_KEY', '/certs/tls.key', { understood: true }],
  ['CONFIG_GRPC_XDS_SERVER_TLS_CACERT', '/certs/ca.crt', { understood: true }],
  ['BACKEND_TYPE', 'memcache', { refused: 'memcache is not supported; use Redis (REDIS_URL)' }],
];

const entries = Object.entries(SETTINGS) as [SettingName, { flag?: string; env: readonly string[]; default: unknown }][];

describe('every reference setting is understood, noted or refused', () => {
  it.each(REFERENCE)('%s=%s', (name, value, outcome) => {
    const result = resolveSettings([], { ...('with' in outcome ? outcome.with : {}), [name]: value });
    if ('refused' in outcome) {
      expect(result.ok).toBe(false);
      expect(result.ok ? [] : result.errors).toEqual([expect.stringContaining(`${name}: not supported here, got "${value}": `)]);
      expect(result.ok ? '' : result.errors[0]).toContain(outcome.refused);
      return;
    }
    if (!result.ok) throw new Error(result.errors.join('; '));
    if ('notice' in outcome) {
      expect(result.notices).toEqual([expect.stringContaining(outcome.notice)]);
      return;
    }
    expect(result.notices).toEqual([]);
    const [key, setting] = entries.find(([candidate, s]) => (outcome.sets === undefined ? s.env.includes(name) : candidate === outcome.sets[0]))!;
    expect(setting.flag).toMatch(/^--/);
    if (outcome.sets === undefined) expect(result.settings[key]).not.toEqual(setting.default);
    else expect(result.settings[key]).toEqual(outcome.sets[1]);
  });

  it("OTEL_EXPORTER_OTLP_* are the OpenTelemetry exporter's own: accepted without notice, named in --tracing's doc", () => {
    const result = resolveSettings([], { TRACING_ENABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector:4318' });
    expect(result.ok && result.notices).toEqual([]);
    expect(SETTINGS.tracingEnabled.doc).toContain('`OTEL_EXPORTER_OTLP_*`');
  });

  it('LOCAL_CACHE_SIZE_IN_BYTES=0 turns the over-limit cache off; LOCAL_CACHE_SIZE, when given, wins', () => {
    const sizes = [{ LOCAL_CACHE_SIZE_IN_BYTES: '0' }, { LOCAL_CACHE_SIZE_IN_BYTES: '0', LOCAL_CACHE_SIZE: '500' }, {}].map((env) => {
      const result = resolveSettings([], env);
      return result.ok ? result.settings.localCacheSize : result.errors;
    });
    expect(sizes).toEqual([0, 500, 100_000]);
  });

  it('the harmless value of a refused setting is accepted: BACKEND_TYPE=redis', () => {
    const result = resolveSettings([], { BACKEND_TYPE: 'redis' });
    expect(result.ok && result.notices).toEqual([]);
  });

  it('LIMIT_*_HEADER without LIMIT_RESPONSE_HEADERS_ENABLED: one notice that they do nothing, as in the reference', () => {
    const result = resolveSettings([], { LIMIT_LIMIT_HEADER: 'X-Limit', LIMIT_RESET_HEADER: 'X-Reset' });
    expect(result.ok && result.notices).toEqual([
      'LIMIT_LIMIT_HEADER/LIMIT_REMAINING_HEADER/LIMIT_RESET_HEADER have no effect without LIMIT_RESPONSE_HEADERS_ENABLED=true (--limit-response-headers)',
    ]);
  });

  it.each([
    [
      { LIMIT_RESPONSE_HEADERS_ENABLED: 'true', LIMIT_RESET_HEADER: 'ratelimit-limit' },
      'must be three different names, got RateLimit-Limit, RateLimit-Remaining, ratelimit-limit',
    ],
    [
      { LIMIT_RESPONSE_HEADERS_ENABLED: 'true', LIMIT_LIMIT_HEADER: 'X-RateLimit-Limit', RESPONSE_HEADERS: 'draft-03' },
      '--response-headers draft-03 already writes "x-ratelimit-limit"',
    ],
    [{ LIMIT_RESPONSE_HEADERS_ENABLED: 'true', LIMIT_LIMIT_HEADER: 'Rate Limit' }, 'LIMIT_LIMIT_HEADER: expected an HTTP header name, got "Rate Limit"'],
    [{ GRPC_CLIENT_TLS_SAN: 'envoy.example' }, 'GRPC_CLIENT_TLS_SAN) needs --grpc-tls-ca (GRPC_CLIENT_TLS_CACERT)'],
    [
      { GRPC_CLIENT_TLS_SAN: 'a.example,b.example', GRPC_CLIENT_TLS_CACERT: '/certs/ca.crt' },
      'GRPC_CLIENT_TLS_SAN: expected one DNS name or IP address, got "a.example,b.example"',
    ],
  ])('refuses %j: %s', (env, message) => {
    const result = resolveSettings([], env);
    expect(result.ok ? [] : result.errors).toEqual([expect.stringContaining(message)]);
  });
});

describe("the reference's own deployments, unchanged", () => {
  it("Envoy Gateway's generated Deployment: every variable read, two notices, nothing refused", () => {
    const deployment = readYaml('deploy/envoy-gateway/generated-ratelimit-deployment.yaml');
    const container = byName(atList(deployment, 'spec', 'template', 'spec', 'containers'), 'envoy-ratelimit');
    const env = Object.fromEntries(atList(container, 'env').map((e) => [String(e.name), String(e.value)]));
    const result = resolveSettings([], env);
    if (!result.ok) throw new Error(result.errors.join('; '));
    const { settings } = result;
    expect({
      config: settings.config,
      grpc: [settings.grpcUseTls, settings.grpcTlsCert, settings.grpcTlsKey, settings.grpcTlsCa],
      redis: [settings.redisSocketType, settings.redis],
      prometheus: [settings.usePrometheus, settings.prometheusAddr],
    }).toEqual({
      config: '/data/ratelimit/config',
      grpc: [true, '/certs/tls.crt', '/certs/tls.key', '/certs/ca.crt'],
      redis: ['tcp', 'redis.redis-system.svc.cluster.local:6379'],
      prometheus: [true, { host: '0.0.0.0', port: 19001 }],
    });
    expect(result.notices).toEqual([
      expect.stringMatching(/^RUNTIME_WATCH_ROOT=false maps to/),
      expect.stringMatching(/^PROMETHEUS_MAPPER_YAML has no effect/),
    ]);
  });

  it("the reference's docker-compose environment (REDIS_URL=redis:6379, the config under /data/ratelimit)", () => {
    const service = at(readYaml('test/fixtures/reference/deploy/docker-compose.yml'), 'services', 'ratelimit');
    const env = Object.fromEntries((at(service, 'environment') as string[]).map((line) => line.split('=', 2) as [string, string]));
    const result = resolveSettings([], env);
    if (!result.ok) throw new Error(result.errors.join('; '));
    expect([result.settings.config, result.settings.redis, result.settings.logLevel, result.settings.useStatsd, result.notices]).toEqual([
      '/data/ratelimit/config',
      'redis:6379',
      'debug',
      false,
      [],
    ]);
    expect(resolveRedisTarget({ url: result.settings.redis! }).endpoints.map(({ host, port }) => [host, port])).toEqual([['redis', 6379]]);
  });
});
