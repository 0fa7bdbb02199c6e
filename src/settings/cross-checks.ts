/**
 * Checks across settings, run once each setting was read: combinations that cannot work stop the
 * start with a message naming what to set; reference names read only together with another get a
 * start-up note when given alone.
 */
import { join } from 'node:path';
import type { LimitHeaderNames } from '../service/rate-limit-headers.js';
import type { ResponseHeaders } from '../service/rate-limit-service.js';
import type { SettingName, Settings } from './settings.js';

/** Checks across settings, after each was read; each returns an error or undefined, and may add notices. */
export type CrossCheck = (settings: Settings, given: ReadonlySet<SettingName>, notices: string[]) => string | undefined;

const RUNTIME_LOCATION: readonly SettingName[] = ['runtimeRoot', 'runtimeSubdirectory', 'runtimeAppDirectory'];

/**
 * The reference names the config directory in three parts; when any is given it replaces
 * `--config`, so a reference deployment never gets the bundled ./config.
 */
const locateRuntimeConfig: CrossCheck = (settings, given) => {
  if (!RUNTIME_LOCATION.some((name) => given.has(name))) return undefined;
  if (given.has('config')) return '--config (CONFIG_PATH) and RUNTIME_ROOT/RUNTIME_SUBDIRECTORY/RUNTIME_APPDIRECTORY both name the config: set one';
  settings.config = join(settings.runtimeRoot, settings.runtimeSubdirectory, settings.runtimeAppDirectory);
  return undefined;
};

/** GRPC_SERVER_USE_TLS says what the operator expects: a port that cannot honour it must not start. */
const checkGrpcTls: CrossCheck = (settings) => {
  const hasPair = settings.grpcTlsCert !== undefined && settings.grpcTlsKey !== undefined;
  if (settings.grpcUseTls === true && !hasPair) {
    return '--grpc-tls (GRPC_SERVER_USE_TLS) needs --grpc-tls-cert and --grpc-tls-key (GRPC_SERVER_TLS_CERT, GRPC_SERVER_TLS_KEY); the gRPC port does not fall back to plaintext';
  }
  if (settings.grpcClientTlsSan !== undefined && settings.grpcTlsCa === undefined) {
    return '--grpc-tls-client-san (GRPC_CLIENT_TLS_SAN) needs --grpc-tls-ca (GRPC_CLIENT_TLS_CACERT): without client certificates there is no name to check';
  }
  if (settings.grpcUseTls === false && (settings.grpcTlsCert !== undefined || settings.grpcTlsKey !== undefined || settings.grpcTlsCa !== undefined)) {
    return 'GRPC_SERVER_USE_TLS is false but a gRPC TLS file is set: remove the file settings for plaintext, or set GRPC_SERVER_USE_TLS=true';
  }
  return undefined;
};

/** The reference reads PROMETHEUS_ADDR and _PATH only with USE_PROMETHEUS: so does rateguard, and says so. */
const noteUnusedPrometheus: CrossCheck = (settings, given, notices) => {
  if (!settings.usePrometheus && (given.has('prometheusAddr') || given.has('prometheusPath'))) {
    notices.push(
      'PROMETHEUS_ADDR and PROMETHEUS_PATH have no effect without USE_PROMETHEUS=true (--prometheus): no metrics listener of its own; /metrics stays on the HTTP and debug ports',
    );
  }
  return undefined;
};

/** The reference's cache size in bytes has one meaning here: 0 is off. LOCAL_CACHE_SIZE, when given, wins. */
const mapLocalCacheBytes: CrossCheck = (settings, given) => {
  if (settings.localCacheSizeInBytes === 0 && !given.has('localCacheSize')) settings.localCacheSize = 0;
  return undefined;
};

/** Header names each `--response-headers` style writes, and Retry-After with them. */
const STYLE_HEADER_NAMES: Record<ResponseHeaders, readonly string[]> = {
  off: [],
  'draft-10': ['ratelimit-policy', 'ratelimit', 'retry-after'],
  'draft-03': ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'retry-after'],
};

/** The names of the `--limit-response-headers` headers, when they are on. */
export function limitHeaderNames(settings: Settings): LimitHeaderNames | undefined {
  if (!settings.limitResponseHeaders) return undefined;
  return { limit: settings.limitLimitHeader, remaining: settings.limitRemainingHeader, reset: settings.limitResetHeader };
}

/**
 * The reference reads LIMIT_*_HEADER only with LIMIT_RESPONSE_HEADERS_ENABLED: so does rateguard,
 * and says so. Two headers of one name would leave Envoy one of them, so names must differ.
 */
const checkLimitHeaders: CrossCheck = (settings, given, notices) => {
  const named = (['limitLimitHeader', 'limitRemainingHeader', 'limitResetHeader'] as const).filter((name) => given.has(name));
  const names = limitHeaderNames(settings);
  if (names === undefined) {
    if (named.length > 0)
      notices.push(
        'LIMIT_LIMIT_HEADER/LIMIT_REMAINING_HEADER/LIMIT_RESET_HEADER have no effect without LIMIT_RESPONSE_HEADERS_ENABLED=true (--limit-response-headers)',
      );
    return undefined;
  }
  const lower = [names.limit, names.remaining, names.reset].map((name) => name.toLowerCase());
  if (new Set(lower).size < 3)
    return `--limit-limit-header, --limit-remaining-header and --limit-reset-header (LIMIT_*_HEADER) must be three different names, got ${[names.limit, names.remaining, names.reset].join(', ')}`;
  const clash = lower.find((name) => STYLE_HEADER_NAMES[settings.responseHeaders].includes(name));
  return clash === undefined
    ? undefined
    : `--response-headers ${settings.responseHeaders} already writes "${clash}": give the LIMIT_*_HEADER header another name`;
};

/** Each worker binds its own gRPC listener; on one socket path each would replace the last one's. */
const checkUdsWorkers: CrossCheck = (settings) =>
  settings.grpcUds !== undefined && settings.workers > 1
    ? '--grpc-uds (GRPC_UDS) serves one process: use --workers 1, or GRPC_HOST/GRPC_PORT for several workers'
    : undefined;

export const CROSS_CHECKS: readonly CrossCheck[] = [
  locateRuntimeConfig,
  checkGrpcTls,
  noteUnusedPrometheus,
  mapLocalCacheBytes,
  checkLimitHeaders,
  checkUdsWorkers,
];
