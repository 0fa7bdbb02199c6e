/** envoyproxy/ratelimit's environment names and value spellings, read as the reference reads them (issue 13). */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveSettings } from '../../src/settings/settings.js';

function settingsFrom(env: NodeJS.ProcessEnv, argv: readonly string[] = []) {
  const result = resolveSettings(argv, env);
  if (!result.ok) throw new Error(result.errors.join('\n'));
  return result;
}

describe('config location', () => {
  it("is ROOT/SUBDIRECTORY/APPDIRECTORY, APPDIRECTORY defaulting to config, the root to the reference's", () => {
    expect(settingsFrom({ RUNTIME_ROOT: '/data', RUNTIME_SUBDIRECTORY: 'ratelimit' }).settings.config).toBe(join('/data', 'ratelimit', 'config'));
    expect(settingsFrom({ RUNTIME_ROOT: '/data', RUNTIME_SUBDIRECTORY: 'rl', RUNTIME_APPDIRECTORY: 'limits' }).settings.config).toBe(
      join('/data', 'rl', 'limits'),
    );
    expect(settingsFrom({ RUNTIME_SUBDIRECTORY: 'ratelimit' }).settings.config).toBe(join('/srv/runtime_data/current', 'ratelimit', 'config'));
    expect(settingsFrom({}).settings.config).toBe('config');
  });

  it('refuses --config and a RUNTIME_* location together', () => {
    expect(resolveSettings(['--config', 'here'], { RUNTIME_ROOT: '/data' })).toEqual({
      ok: false,
      errors: ['--config (CONFIG_PATH) and RUNTIME_ROOT/RUNTIME_SUBDIRECTORY/RUNTIME_APPDIRECTORY both name the config: set one'],
    });
  });

  it('RUNTIME_IGNOREDOTFILES: true is what rateguard does; false is accepted with one notice', () => {
    expect(settingsFrom({ RUNTIME_IGNOREDOTFILES: 'true' }).notices).toEqual([]);
    expect(settingsFrom({ RUNTIME_IGNOREDOTFILES: 'false' }).notices).toEqual([
      'RUNTIME_IGNOREDOTFILES=false has no effect: hidden entries are always skipped (in a ConfigMap mount they are copies of the same files); name config files without a leading dot',
    ]);
  });

  it('RUNTIME_WATCH_ROOT: one notice saying what it maps to, for either value', () => {
    expect(settingsFrom({ RUNTIME_WATCH_ROOT: 'true' }).notices).toEqual([
      "RUNTIME_WATCH_ROOT=true maps to rateguard's one watch: the config directory and the directories its files resolve to (ConfigMap updates included); a change elsewhere under RUNTIME_ROOT is picked up on SIGHUP",
    ]);
    expect(settingsFrom({ RUNTIME_WATCH_ROOT: 'false' }).notices).toEqual([
      "RUNTIME_WATCH_ROOT=false maps to rateguard's one watch: the config directory and the directories its files resolve to (ConfigMap updates included), as the reference watches without the root",
    ]);
    expect(resolveSettings([], { RUNTIME_WATCH_ROOT: 'sometimes' })).toEqual({
      ok: false,
      errors: ['RUNTIME_WATCH_ROOT: expected true or false, got "sometimes"'],
    });
  });
});

describe('value spellings of the reference', () => {
  it("LOG_LEVEL in any case, with logrus's warning and panic", () => {
    const levels = ['WARN', 'Debug', 'warning', 'WARNING', 'panic', 'info'].map((level) => settingsFrom({ LOG_LEVEL: level }).settings.logLevel);
    expect(levels).toEqual(['warn', 'debug', 'warn', 'warn', 'fatal', 'info']);
    expect(resolveSettings([], { LOG_LEVEL: 'loud' })).toEqual({
      ok: false,
      errors: ['LOG_LEVEL: expected one of trace, debug, info, warn, error, fatal, silent, got "loud"'],
    });
  });

  it('LOG_FORMAT text is the human-readable format, json is JSON, in any case', () => {
    expect(['text', 'TEXT', 'json', 'JSON', 'pretty'].map((format) => settingsFrom({ LOG_FORMAT: format }).settings.logFormat)).toEqual([
      'pretty',
      'pretty',
      'json',
      'json',
      'pretty',
    ]);
  });

  it("booleans as Go's strconv.ParseBool writes them", () => {
    const spellings = ['1', 't', 'T', 'TRUE', 'true', 'True', '0', 'f', 'F', 'FALSE', 'false', 'False'];
    expect(spellings.map((value) => settingsFrom({ SHADOW_MODE: value }).settings.shadowMode)).toEqual([
      true,
      true,
      true,
      true,
      true,
      true,
      false,
      false,
      false,
      false,
      false,
      false,
    ]);
  });

  it('durations like 10s (REDIS_TIMEOUT), whole ms as before (REDIS_TIMEOUT_MS), bounded', () => {
    expect(settingsFrom({ REDIS_TIMEOUT: '10s' }).settings.redisTimeoutMs).toBe(10_000);
    expect(settingsFrom({ REDIS_TIMEOUT: '250ms' }).settings.redisTimeoutMs).toBe(250);
    expect(settingsFrom({ REDIS_TIMEOUT_MS: '25' }).settings.redisTimeoutMs).toBe(25);
    expect(resolveSettings([], { REDIS_TIMEOUT: '2m' })).toEqual({ ok: false, errors: ['REDIS_TIMEOUT: expected 1 ms to 60000 ms, got "2m"'] });
  });
});

describe('gRPC TLS names of the reference and Envoy Gateway', () => {
  it('are aliases of the --grpc-tls-* settings', () => {
    const { settings } = settingsFrom({
      GRPC_SERVER_USE_TLS: 'true',
      GRPC_SERVER_TLS_CERT: '/certs/tls.crt',
      GRPC_SERVER_TLS_KEY: '/certs/tls.key',
      GRPC_CLIENT_TLS_CACERT: '/certs/ca.crt',
    });
    expect([settings.grpcUseTls, settings.grpcTlsCert, settings.grpcTlsKey, settings.grpcTlsCa]).toEqual([
      true,
      '/certs/tls.crt',
      '/certs/tls.key',
      '/certs/ca.crt',
    ]);
    expect(settingsFrom({ GRPC_SERVER_TLS_CA_CERT: '/certs/ca.crt' }).settings.grpcTlsCa).toBe('/certs/ca.crt');
  });

  it('GRPC_SERVER_USE_TLS=false with a TLS file is refused rather than half-read', () => {
    expect(resolveSettings([], { GRPC_SERVER_USE_TLS: 'false', GRPC_SERVER_TLS_CERT: '/certs/tls.crt' })).toEqual({
      ok: false,
      errors: ['GRPC_SERVER_USE_TLS is false but a gRPC TLS file is set: remove the file settings for plaintext, or set GRPC_SERVER_USE_TLS=true'],
    });
    expect(settingsFrom({ GRPC_SERVER_USE_TLS: 'false' }).settings.grpcUseTls).toBe(false);
  });
});

describe('Prometheus as the reference', () => {
  it('PROMETHEUS_ADDR as Go writes it: :port is every interface', () => {
    const addresses = [':19001', '127.0.0.1:9', '[::1]:9090'].map(
      (addr) => settingsFrom({ PROMETHEUS_ADDR: addr, USE_PROMETHEUS: 'true' }).settings.prometheusAddr,
    );
    expect(addresses).toEqual([
      { host: '0.0.0.0', port: 19001 },
      { host: '127.0.0.1', port: 9 },
      { host: '::1', port: 9090 },
    ]);
    expect(resolveSettings([], { PROMETHEUS_ADDR: '19001' })).toEqual({ ok: false, errors: ['PROMETHEUS_ADDR: expected host:port or :port, got "19001"'] });
    expect(resolveSettings([], { PROMETHEUS_PATH: 'metrics' })).toEqual({
      ok: false,
      errors: ['PROMETHEUS_PATH: expected a path starting with /, got "metrics"'],
    });
  });

  it('PROMETHEUS_ADDR without USE_PROMETHEUS: accepted with one notice, as the reference ignores it', () => {
    expect(settingsFrom({ PROMETHEUS_ADDR: ':19001' }).notices).toEqual([
      'PROMETHEUS_ADDR and PROMETHEUS_PATH have no effect without USE_PROMETHEUS=true (--prometheus): no metrics listener of its own; /metrics stays on the HTTP and debug ports',
    ]);
    expect(settingsFrom({ PROMETHEUS_ADDR: ':19001', USE_PROMETHEUS: 'true' }).notices).toEqual([]);
  });
});

describe('GRPC_UDS', () => {
  it('serves one process: with several workers it is refused', () => {
    expect(resolveSettings(['--workers', '2'], { GRPC_UDS: '/run/rl.sock' })).toEqual({
      ok: false,
      errors: ['--grpc-uds (GRPC_UDS) serves one process: use --workers 1, or GRPC_HOST/GRPC_PORT for several workers'],
    });
  });
});
