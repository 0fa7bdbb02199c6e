/**
 * Every option of `rateguard serve` in one table: flag, environment names (envoyproxy/ratelimit's
 * where they mean the same), default and doc. The CLI parser, `--help` and the README's options
 * table all come from here (a test keeps the README in step).
 * Precedence: flag, then the first environment name set, then the default.
 */
import type { IdentityDisplay } from '../admin/identity-display.js';
import type { Algorithm } from '../engine/limit.js';
import type { LogFormat } from '../observe/logger.js';
import type { TracingProtocol } from '../observe/tracing.js';
import { REFERENCE_LIMIT_HEADER_NAMES } from '../service/rate-limit-headers.js';
import type { ResponseHeaders } from '../service/rate-limit-service.js';
import type { FailureMode } from '../stores/failure-mode-store.js';
import type { RedisMode, RedisSocketType } from '../stores/redis/connection.js';
import { CROSS_CHECKS } from './cross-checks.js';
import { GRPC_CONNECTION_LIMITS } from './grpc-connection-limits.js';
import {
  type ListenAddress,
  type Parsed,
  type Setting,
  integer,
  oneOf,
  anyCase,
  text,
  optionalText,
  bool,
  port,
  ratio,
  duration,
  durationWithin,
  logLevel,
  logFormat,
  pairs,
  listenAddress,
  hostNameOrIp,
  headerName,
  urlPath,
  acceptedWithNotice,
  refusedUnless,
  fraction,
} from './value-parsers.js';

/** Where the config comes from: files (`--config`) or an xDS server. */
export type ConfigType = 'FILE' | 'GRPC_XDS_SOTW';

export const SETTINGS = {
  config: {
    flag: '--config',
    env: ['CONFIG_PATH'],
    default: 'config',
    type: 'path',
    doc: 'A config file or a directory of *.yaml files (one domain per file), watched for changes. Not with the `RUNTIME_*` location settings.',
    parse: text,
  },
  runtimeRoot: {
    flag: '--runtime-root',
    env: ['RUNTIME_ROOT'],
    default: '/srv/runtime_data/current',
    type: 'path',
    doc: "The reference's way to name the config: when any of `RUNTIME_ROOT`, `RUNTIME_SUBDIRECTORY`, `RUNTIME_APPDIRECTORY` is set, the config is the directory ROOT/SUBDIRECTORY/APPDIRECTORY (the reference's default root otherwise).",
    parse: text,
  },
  runtimeSubdirectory: {
    flag: '--runtime-subdirectory',
    env: ['RUNTIME_SUBDIRECTORY'],
    default: '',
    type: 'path',
    doc: 'The directory under `--runtime-root` (Envoy Gateway: `ratelimit`).',
    parse: text,
  },
  runtimeAppDirectory: {
    flag: '--runtime-appdirectory',
    env: ['RUNTIME_APPDIRECTORY'],
    default: 'config',
    type: 'path',
    doc: 'The directory under `--runtime-subdirectory` that holds the *.yaml files.',
    parse: text,
  },
  runtimeIgnoreDotfiles: {
    env: ['RUNTIME_IGNOREDOTFILES'],
    default: true,
    type: 'boolean',
    doc: "Hidden entries (`.x.yaml`, a ConfigMap mount's `..data` copies) are always skipped; `false` is accepted with a start-up note.",
    parse: bool,
    notice: (ignore: boolean) =>
      ignore
        ? undefined
        : 'RUNTIME_IGNOREDOTFILES=false has no effect: hidden entries are always skipped (in a ConfigMap mount they are copies of the same files); name config files without a leading dot',
  },
  runtimeWatchRoot: {
    env: ['RUNTIME_WATCH_ROOT'],
    default: false,
    type: 'boolean',
    doc: 'Accepted with a start-up note either way: the config directory and the directories its files resolve to are watched (ConfigMap updates included), never the whole root; SIGHUP reloads.',
    parse: bool,
    notice: (watchRoot: boolean) =>
      `RUNTIME_WATCH_ROOT=${watchRoot} maps to rateguard's one watch: the config directory and the directories its files resolve to (ConfigMap updates included)${watchRoot ? '; a change elsewhere under RUNTIME_ROOT is picked up on SIGHUP' : ', as the reference watches without the root'}`,
  },
  configType: {
    flag: '--config-type',
    env: ['CONFIG_TYPE'],
    default: 'FILE' as ConfigType,
    type: 'FILE|GRPC_XDS_SOTW',
    doc: '`FILE`: `--config`. `GRPC_XDS_SOTW`: RateLimitConfig resources pushed by an xDS server (`--xds-server-url`), as Envoy Gateway does (docs/xds.md).',
    parse: oneOf<ConfigType>('FILE', 'GRPC_XDS_SOTW'),
  },
  xdsServerUrl: {
    flag: '--xds-server-url',
    env: ['CONFIG_GRPC_XDS_SERVER_URL'],
    default: undefined,
    type: 'host:port',
    doc: 'The xDS server (an ADS endpoint) that pushes the config; required with `--config-type GRPC_XDS_SOTW`.',
    parse: optionalText,
  },
  xdsNodeId: {
    flag: '--xds-node-id',
    env: ['CONFIG_GRPC_XDS_NODE_ID'],
    default: undefined,
    type: 'text',
    doc: 'Node id sent to the xDS server (Envoy Gateway serves `envoy-ratelimit`).',
    parse: optionalText,
  },
  xdsNodeMetadata: {
    flag: '--xds-node-metadata',
    env: ['CONFIG_GRPC_XDS_NODE_METADATA'],
    default: {} as Record<string, string>,
    type: 'k=v,k2=v2',
    doc: 'Node metadata sent to the xDS server (string values).',
    parse: pairs('='),
  },
  xdsHeaders: {
    flag: '--xds-headers',
    env: ['CONFIG_GRPC_XDS_CLIENT_ADDITIONAL_HEADERS'],
    default: {} as Record<string, string>,
    type: 'k1:v1,k2:v2',
    doc: 'gRPC metadata sent on the xDS stream (e.g. a token the control plane checks).',
    parse: pairs(':'),
  },
  xdsConnectRetryMs: {
    flag: '--xds-connect-retry-interval',
    env: ['CONFIG_GRPC_XDS_SERVER_CONNECT_RETRY_INTERVAL'],
    default: 3000,
    type: 'duration',
    doc: 'Wait before re-dialling an xDS server that had answered and went away (a duration like `3s`, or ms).',
    parse: duration,
  },
  xdsBackoffInitialMs: {
    flag: '--xds-backoff-initial-interval',
    env: ['XDS_CLIENT_BACKOFF_INITIAL_INTERVAL'],
    default: 10_000,
    type: 'duration',
    doc: 'First wait after an xDS attempt that got no answer (a duration like `10s`, or ms); later ones follow `--xds-backoff-jitter`.',
    parse: duration,
  },
  xdsBackoffMaxMs: {
    flag: '--xds-backoff-max-interval',
    env: ['XDS_CLIENT_BACKOFF_MAX_INTERVAL'],
    default: 60_000,
    type: 'duration',
    doc: 'Longest wait between unanswered xDS attempts (a duration like `60s`, or ms).',
    parse: duration,
  },
  xdsBackoffRandomFactor: {
    flag: '--xds-backoff-random-factor',
    env: ['XDS_CLIENT_BACKOFF_RANDOM_FACTOR'],
    default: 0.5,
    type: 'fraction',
    doc: 'Each xDS retry wait is randomised by this share either way.',
    parse: fraction,
  },
  xdsBackoffJitter: {
    flag: '--xds-backoff-jitter',
    env: ['XDS_CLIENT_BACKOFF_JITTER'],
    default: true,
    type: 'boolean',
    boolean: true,
    doc: 'xDS retry waits grow exponentially (the reference\'s "with jitter"); `false`: every wait is the initial interval.',
    parse: bool,
  },
  xdsMaxMessageBytes: {
    flag: '--xds-max-message-size',
    env: ['XDS_CLIENT_MAX_MSG_SIZE_IN_BYTES'],
    default: 4_194_304,
    type: 'bytes',
    doc: 'Largest xDS response accepted (one response holds the whole config).',
    parse: integer(1024, 2_147_483_647),
  },
  xdsTls: {
    flag: '--xds-tls',
    env: ['CONFIG_GRPC_XDS_SERVER_USE_TLS'],
    default: false,
    type: 'boolean',
    boolean: true,
    doc: 'Dial the xDS server over TLS 1.3.',
    parse: bool,
  },
  xdsTlsCert: {
    flag: '--xds-tls-cert',
    env: ['CONFIG_GRPC_XDS_CLIENT_TLS_CERT'],
    default: undefined,
    type: 'path',
    doc: 'PEM client certificate for the xDS server (mutual TLS).',
    parse: optionalText,
  },
  xdsTlsKey: {
    flag: '--xds-tls-key',
    env: ['CONFIG_GRPC_XDS_CLIENT_TLS_KEY'],
    default: undefined,
    type: 'path',
    doc: 'PEM private key of `--xds-tls-cert`.',
    parse: optionalText,
  },
  xdsTlsCa: {
    flag: '--xds-tls-ca',
    env: ['CONFIG_GRPC_XDS_SERVER_TLS_CACERT'],
    default: undefined,
    type: 'path',
    doc: 'PEM CA bundle to verify the xDS server with (the system roots without it).',
    parse: optionalText,
  },
  xdsTlsSan: {
    flag: '--xds-tls-san',
    env: ['CONFIG_GRPC_XDS_SERVER_TLS_SAN'],
    default: undefined,
    type: 'name',
    doc: "The name the xDS server's certificate must carry, when it is not the host of `--xds-server-url`.",
    parse: optionalText,
  },
  forceStartWithoutInitialConfig: {
    flag: '--force-start-without-initial-config',
    env: ['FORCE_START_WITHOUT_INITIAL_CONFIG'],
    default: false,
    type: 'boolean',
    boolean: true,
    doc: 'Serve before a valid config is loaded (or pushed); until then every call is answered UNAVAILABLE "no rate limit configuration loaded".',
    parse: bool,
  },
  grpcPort: { flag: '--grpc-port', env: ['GRPC_PORT'], default: 8081, type: 'port', doc: 'gRPC port: RLS v3 and grpc.health.v1.', parse: port },
  grpcHost: {
    flag: '--grpc-host',
    env: ['GRPC_HOST'],
    default: undefined,
    type: 'address',
    doc: 'Address the gRPC port binds to, when it is not `--host`.',
    parse: optionalText,
  },
  grpcUds: {
    flag: '--grpc-uds',
    env: ['GRPC_UDS'],
    default: undefined,
    type: 'path',
    doc: 'Serve gRPC on this unix socket instead of `--grpc-host`:`--grpc-port` (a sidecar on the same host); a stale socket left there is replaced.',
    parse: optionalText,
  },
  grpcMaxConnectionAgeMs: {
    flag: '--grpc-max-connection-age',
    env: ['GRPC_MAX_CONNECTION_AGE'],
    default: GRPC_CONNECTION_LIMITS.maxConnectionAgeMs,
    type: 'duration',
    doc: "Every gRPC connection gets a GOAWAY after this long (±10%), so clients rebalance (the reference's default is `24h`); a duration like `30m`, or ms.",
    parse: durationWithin(1000, 2_147_483_647),
  },
  grpcMaxConnectionAgeGraceMs: {
    flag: '--grpc-max-connection-age-grace',
    env: ['GRPC_MAX_CONNECTION_AGE_GRACE'],
    default: GRPC_CONNECTION_LIMITS.maxConnectionAgeGraceMs,
    type: 'duration',
    doc: "After that GOAWAY, in-flight calls get this long (the reference's default is `1h`).",
    parse: durationWithin(0, 2_147_483_647),
  },
  grpcServer: {
    flag: '--grpc-server',
    env: ['GRPC_SERVER_IMPLEMENTATION'],
    default: 'node-http2' as 'node-http2' | 'grpc-js',
    type: 'node-http2|grpc-js',
    doc: "What serves the gRPC port: `node-http2`, gRPC framed on node:http2 directly (about twice the calls per CPU, docs/benchmarks.md), or `grpc-js`, @grpc/grpc-js's server. The same answers either way.",
    parse: oneOf('node-http2', 'grpc-js'),
  },
  httpPort: {
    flag: '--http-port',
    env: ['HTTP_PORT', 'PORT'],
    default: 8080,
    type: 'port',
    doc: 'HTTP port: /healthcheck, POST /json, /rlconfig, /metrics; the admin endpoints too, with the admin token unless `--host` is a loopback address.',
    parse: port,
  },
  host: {
    flag: '--host',
    env: ['HOST'],
    default: '0.0.0.0',
    type: 'address',
    doc: 'Address the HTTP port binds to, and the gRPC port unless `--grpc-host`.',
    parse: text,
  },
  debugHost: {
    flag: '--debug-host',
    env: ['DEBUG_HOST'],
    default: '127.0.0.1',
    type: 'address',
    doc: 'Address the debug port binds to. Bound to a loopback address, it serves the admin endpoints without a token (docs/observability.md).',
    parse: text,
  },
  debugPort: {
    flag: '--debug-port',
    env: ['DEBUG_PORT'],
    default: 6070,
    type: 'port',
    doc: 'Debug port: /stats, /buckets, POST /reset, /dashboard, /rlconfig, /metrics.',
    parse: port,
  },
  redis: {
    flag: '--redis',
    env: ['REDIS_URL'],
    default: undefined,
    type: 'address',
    doc: "Redis: `host:port` (the reference's form) or a URL (`redis://[user:pass@]host:port[/db]`, `rediss://` for TLS); comma-separated seeds for `cluster`, sentinels for `sentinel` (optionally after the master's name: `master,host:port,...`); a socket path with `--redis-socket-type unix`. Without it buckets live in process memory.",
    parse: optionalText,
  },
  redisSocketType: {
    flag: '--redis-socket-type',
    env: ['REDIS_SOCKET_TYPE'],
    default: 'tcp' as RedisSocketType,
    type: 'tcp|unix',
    doc: '`unix`: `--redis` is the path of a Redis unix socket.',
    parse: anyCase(oneOf<RedisSocketType>('tcp', 'unix')),
  },
  redisAuth: {
    flag: '--redis-auth',
    env: ['REDIS_AUTH'],
    default: undefined,
    type: 'password|user:password',
    doc: "Redis credentials (`password`, or `user:password` for an ACL user); they override the URL's. Never logged.",
    parse: optionalText,
  },
  redisSentinelAuth: {
    flag: '--redis-sentinel-auth',
    env: ['REDIS_SENTINEL_AUTH'],
    default: undefined,
    type: 'password|user:password',
    doc: 'Sentinel mode: credentials of the sentinels themselves. Never logged.',
    parse: optionalText,
  },
  redisTls: {
    flag: '--redis-tls',
    env: ['REDIS_TLS'],
    default: false,
    type: 'boolean',
    boolean: true,
    doc: 'Speak TLS to Redis (as a `rediss://` URL does), verified with `--redis-tls-ca` or the system roots.',
    parse: bool,
  },
  redisTimeoutMs: {
    flag: '--redis-timeout',
    env: ['REDIS_TIMEOUT_MS', 'REDIS_TIMEOUT'],
    default: 50,
    type: 'duration',
    doc: "Redis counts as failed when it leaves a command unanswered this long (its own silence: time queued in this process does not count). With `--failure-mode` allow, deny or local, set it below Envoy's timeout (20 ms) so that answer reaches Envoy (docs/redis.md). Whole ms, or a duration like the reference's `10s`.",
    parse: durationWithin(1, 60_000),
  },
  redisMode: {
    flag: '--redis-mode',
    env: ['REDIS_MODE', 'REDIS_TYPE'],
    default: 'single' as RedisMode,
    type: 'single|cluster|sentinel',
    doc: "`cluster`: `--redis` lists one or more seeds, comma-separated. `sentinel`: `--redis` lists the sentinels. Any case (the reference's `SINGLE`, `CLUSTER`, `SENTINEL`).",
    parse: anyCase(oneOf<RedisMode>('single', 'cluster', 'sentinel')),
  },
  redisSentinelName: {
    flag: '--redis-sentinel-name',
    env: ['REDIS_SENTINEL_NAME'],
    default: undefined,
    type: 'name',
    doc: 'Sentinel mode: the name of the monitored master (or first in `--redis`, as the reference).',
    parse: optionalText,
  },
  redisPasswordFile: {
    flag: '--redis-password-file',
    env: ['REDIS_PASSWORD_FILE'],
    default: undefined,
    type: 'path',
    doc: 'Read the Redis password from this file (a mounted Secret); it overrides a password in the URL. Never logged.',
    parse: optionalText,
  },
  redisPoolSize: acceptedWithNotice(
    ['REDIS_POOL_SIZE'],
    'Accepted, not needed: one auto-pipelined connection per Redis node carries every call.',
    'REDIS_POOL_SIZE has no effect: one auto-pipelined connection per Redis node carries every call',
  ),
  redisPipeline: acceptedWithNotice(
    ['REDIS_PIPELINE_WINDOW', 'REDIS_PIPELINE_LIMIT'],
    'Accepted, not needed: decisions queued together go to Redis in one script call (while a call is in flight, those of one event-loop turn join the next), with no added wait (docs/redis.md).',
    'REDIS_PIPELINE_WINDOW/REDIS_PIPELINE_LIMIT have no effect: decisions queued together go to Redis in one script call, with no added wait (docs/redis.md)',
  ),
  redisPerSecond: acceptedWithNotice(
    [
      'REDIS_PERSECOND',
      'REDIS_PERSECOND_URL',
      'REDIS_PERSECOND_SOCKET_TYPE',
      'REDIS_PERSECOND_TYPE',
      'REDIS_PERSECOND_AUTH',
      'REDIS_PERSECOND_SENTINEL_AUTH',
      'REDIS_PERSECOND_POOL_SIZE',
      'REDIS_PERSECOND_PIPELINE_WINDOW',
      'REDIS_PERSECOND_PIPELINE_LIMIT',
      'REDIS_PERSECOND_TLS',
    ],
    'Accepted, not read: per-second limits count in the one Redis of `--redis` with the others.',
    'REDIS_PERSECOND_* have no effect: per-second limits count in the one Redis of REDIS_URL with the others',
  ),
  backendType: {
    env: ['BACKEND_TYPE'],
    default: undefined,
    type: 'redis',
    doc: '`redis` (or unset) only: memcache is not supported.',
    parse: refusedUnless(['redis'], 'memcache is not supported; use Redis (REDIS_URL), or no REDIS_URL for in-process counters'),
  },
  redisTlsCa: {
    flag: '--redis-tls-ca',
    env: ['REDIS_TLS_CACERT'],
    default: undefined,
    type: 'path',
    doc: 'PEM CA bundle to verify Redis with (TLS is on with `--redis-tls`, `rediss://` or any TLS file).',
    parse: optionalText,
  },
  redisTlsCert: {
    flag: '--redis-tls-cert',
    env: ['REDIS_TLS_CLIENT_CERT'],
    default: undefined,
    type: 'path',
    doc: 'PEM client certificate for Redis (mutual TLS).',
    parse: optionalText,
  },
  redisTlsKey: {
    flag: '--redis-tls-key',
    env: ['REDIS_TLS_CLIENT_KEY'],
    default: undefined,
    type: 'path',
    doc: 'PEM private key of `--redis-tls-cert`.',
    parse: optionalText,
  },
  redisTlsSkipVerify: {
    flag: '--redis-tls-skip-verify',
    env: ['REDIS_TLS_SKIP_HOSTNAME_VERIFICATION'],
    default: false,
    type: 'boolean',
    boolean: true,
    doc: 'Accept any Redis server certificate (tests only).',
    parse: bool,
  },
  failureMode: {
    flag: '--failure-mode',
    env: ['FAILURE_MODE'],
    default: 'error' as FailureMode,
    type: 'error|allow|deny|local',
    doc: "When Redis fails (silent, unreachable, refusing credentials, error replies): gRPC UNAVAILABLE (Envoy's failure_mode_deny decides), OK, OVER_LIMIT, or an in-process token bucket with each limit divided by `--local-fallback-share`.",
    parse: oneOf<FailureMode>('error', 'allow', 'deny', 'local'),
  },
  localFallbackShare: {
    flag: '--local-fallback-share',
    env: ['LOCAL_FALLBACK_SHARE'],
    default: 1,
    type: 'count',
    doc: '`--failure-mode local`: divide every limit by this (the number of sidecars sharing it).',
    parse: integer(1, 100_000),
  },
  localCacheSizeInBytes: {
    env: ['LOCAL_CACHE_SIZE_IN_BYTES'],
    default: undefined as number | undefined,
    type: 'bytes',
    doc: "The reference's over-limit cache size: `0` turns the cache off (as `--local-cache-size 0`); another size is accepted with a start-up note, as the cache is sized in entries here.",
    parse: integer(0, Number.MAX_SAFE_INTEGER),
    notice: (bytes: number | undefined) =>
      bytes === 0
        ? undefined
        : 'LOCAL_CACHE_SIZE_IN_BYTES is read as "on": the over-limit cache holds --local-cache-size entries (LOCAL_CACHE_SIZE), not bytes',
  },
  localCacheSize: {
    flag: '--local-cache-size',
    env: ['LOCAL_CACHE_SIZE'],
    default: 100_000,
    type: 'entries',
    doc: 'Over-limit buckets remembered in process until their retry time, answered without Redis (LRU). 0 turns the cache off.',
    parse: integer(0, 10_000_000),
  },
  maxInFlight: {
    flag: '--max-in-flight',
    env: ['MAX_IN_FLIGHT'],
    default: 4096,
    type: 'count',
    doc: 'Decisions that may wait on Redis at once; past it calls are shed with gRPC RESOURCE_EXHAUSTED (counted in `rateguard_overload_total`), never counted as a Redis failure.',
    parse: integer(1, 1_000_000),
  },
  breakerThreshold: {
    flag: '--breaker-threshold',
    env: ['BREAKER_THRESHOLD'],
    default: 5,
    type: 'count',
    doc: 'Consecutive Redis failures (not overload) that open the circuit breaker (calls then get the failure mode at once).',
    parse: integer(1, 1_000_000),
  },
  breakerProbeIntervalMs: {
    flag: '--breaker-probe-interval',
    env: ['BREAKER_PROBE_INTERVAL_MS'],
    default: 500,
    type: 'ms',
    doc: 'While the breaker is open, Redis is probed this often; the first answer closes it.',
    parse: integer(10, 600_000),
  },
  logLevel: {
    flag: '--log-level',
    env: ['LOG_LEVEL'],
    default: 'info',
    type: 'level',
    doc: "trace, debug, info, warn, error, fatal or silent, in any case; the reference's logrus names `warning` and `panic` too.",
    parse: logLevel,
  },
  logFormat: {
    flag: '--log-format',
    env: ['LOG_FORMAT'],
    default: 'json' as LogFormat,
    type: 'json|pretty|text',
    doc: "pino JSON lines, or human-readable lines (`pretty`, or the reference's `text`; needs the optional `pino-pretty`, JSON if it is missing).",
    parse: logFormat,
  },
  adminToken: {
    flag: '--admin-token',
    env: ['ADMIN_TOKEN'],
    default: undefined,
    type: 'text',
    doc: 'Bearer token every mutating admin call (`POST /reset`) must carry, and that opens the admin endpoints on a port not bound to loopback. Without it (or a token file) only a port bound to a loopback address serves them.',
    parse: optionalText,
  },
  adminTokenFile: {
    flag: '--admin-token-file',
    env: ['ADMIN_TOKEN_FILE'],
    default: undefined,
    type: 'path',
    doc: 'A file holding the admin token (a mounted Secret); read again whenever it changes, surrounding whitespace ignored.',
    parse: optionalText,
  },
  statsIdentities: {
    flag: '--stats-identities',
    env: ['STATS_IDENTITIES'],
    default: 'hash' as IdentityDisplay,
    type: 'hash|prefix|full',
    doc: 'How /stats and the dashboard show descriptor values: a SHA-256 digest, the first 4 characters, or in full (the dashboard offers reset buttons with `full` only).',
    parse: oneOf<IdentityDisplay>('hash', 'prefix', 'full'),
  },
  nearLimitRatio: {
    flag: '--near-limit-ratio',
    env: ['NEAR_LIMIT_RATIO'],
    default: 0.8,
    type: 'ratio',
    doc: 'Hits above this share of a limit count as `near_limit` (as envoyproxy/ratelimit).',
    parse: ratio,
  },
  shadowMode: {
    flag: '--shadow-mode',
    env: ['SHADOW_MODE'],
    default: false,
    type: 'boolean',
    boolean: true,
    doc: 'Global shadow mode: limits are evaluated and counted; the overall code is always OK, each status keeps its real code.',
    parse: bool,
  },
  quotaMode: {
    flag: '--quota-mode',
    env: ['QUOTA_MODE'],
    default: false,
    type: 'boolean',
    boolean: true,
    doc: 'Every descriptor in quota mode: over its limit it denies the request only when every quota-mode descriptor of it is over (as `quota_mode: true` per descriptor).',
    parse: bool,
  },
  responseDynamicMetadata: {
    flag: '--response-dynamic-metadata',
    env: ['RESPONSE_DYNAMIC_METADATA'],
    default: false,
    type: 'boolean',
    boolean: true,
    doc: "Answer with `dynamic_metadata` as the reference: the domain, each descriptor's entries, override and hits, and the merged `metadata` of the descriptors not over their limit (docs/config.md).",
    parse: bool,
  },
  mergeDomainConfig: {
    flag: '--merge-domain-config',
    env: ['MERGE_DOMAIN_CONFIG'],
    default: false,
    type: 'boolean',
    boolean: true,
    doc: 'Files naming the same domain are merged into one domain (a key defined twice is still an error); without it a second file for a domain is an error, as in the reference.',
    parse: bool,
  },
  responseHeaders: {
    flag: '--response-headers',
    env: ['RESPONSE_HEADERS'],
    default: 'off' as ResponseHeaders,
    type: 'off|draft-10|draft-03',
    doc: 'Rate-limit headers in `response_headers_to_add`: IETF draft-10 `RateLimit`/`RateLimit-Policy`, or draft-03 `x-ratelimit-*`; `Retry-After` on OVER_LIMIT.',
    parse: oneOf<ResponseHeaders>('off', 'draft-10', 'draft-03'),
  },
  chargeRejected: {
    flag: '--charge-rejected',
    env: ['CHARGE_REJECTED'],
    default: false,
    type: 'boolean',
    boolean: true,
    doc: "The reference service's charging: a rejected request still charges the buckets that allowed it (and counts in every fixed window).",
    parse: bool,
  },
  defaultAlgorithm: {
    flag: '--default-algorithm',
    env: ['DEFAULT_ALGORITHM'],
    default: 'token_bucket' as Algorithm,
    type: 'token_bucket|fixed_window',
    doc: "Algorithm of limits that do not name one; `fixed_window` reproduces the reference service's windows.",
    parse: oneOf<Algorithm>('token_bucket', 'fixed_window'),
  },
  overdraft: {
    flag: '--overdraft',
    env: ['OVERDRAFT'],
    default: false,
    type: 'boolean',
    boolean: true,
    doc: 'Limits without their own `overdraft` key take every charge, into debt past what is left, and deny until it has refilled: for response-path costs (`apply_on_stream_done`; docs/config.md).',
    parse: bool,
  },
  limitResponseHeaders: {
    flag: '--limit-response-headers',
    env: ['LIMIT_RESPONSE_HEADERS_ENABLED'],
    default: false,
    type: 'boolean',
    boolean: true,
    doc: "The reference's three headers in `response_headers_to_add`, for the descriptor closest to its limit (or over it): its limit, what is left, and the seconds until reset (names: `--limit-limit-header`, `--limit-remaining-header`, `--limit-reset-header`). After `--response-headers`' own, if both are on.",
    parse: bool,
  },
  limitLimitHeader: {
    flag: '--limit-limit-header',
    env: ['LIMIT_LIMIT_HEADER'],
    default: REFERENCE_LIMIT_HEADER_NAMES.limit,
    type: 'header',
    doc: 'Name of the `--limit-response-headers` header that carries the limit (requests per unit).',
    parse: headerName,
  },
  limitRemainingHeader: {
    flag: '--limit-remaining-header',
    env: ['LIMIT_REMAINING_HEADER'],
    default: REFERENCE_LIMIT_HEADER_NAMES.remaining,
    type: 'header',
    doc: 'Name of the `--limit-response-headers` header that carries what is left.',
    parse: headerName,
  },
  limitResetHeader: {
    flag: '--limit-reset-header',
    env: ['LIMIT_RESET_HEADER'],
    default: REFERENCE_LIMIT_HEADER_NAMES.reset,
    type: 'header',
    doc: 'Name of the `--limit-response-headers` header that carries the seconds until reset.',
    parse: headerName,
  },
  keyPrefix: {
    flag: '--key-prefix',
    env: ['KEY_PREFIX', 'CACHE_KEY_PREFIX'],
    default: 'rg:',
    type: 'text',
    doc: 'Prefix of every bucket key in the store (no `{` or `}`).',
    parse: text,
  },
  shutdownTimeoutMs: {
    flag: '--shutdown-timeout',
    env: ['SHUTDOWN_TIMEOUT_MS'],
    default: 10_000,
    type: 'ms',
    doc: 'On SIGTERM: health turns NOT_SERVING, in-flight calls get this long to finish.',
    parse: integer(0, 600_000),
  },
  maxMessageBytes: {
    flag: '--max-message-size',
    env: ['MAX_MESSAGE_BYTES'],
    default: 65_536,
    type: 'bytes',
    doc: 'Largest gRPC request message (and POST /json body) accepted.',
    parse: integer(256, 16_777_216),
  },
  maxDescriptors: {
    flag: '--max-descriptors',
    env: ['MAX_DESCRIPTORS'],
    default: 64,
    type: 'count',
    doc: 'Most descriptors in one request.',
    parse: integer(1, 10_000),
  },
  maxEntries: {
    flag: '--max-entries',
    env: ['MAX_ENTRIES'],
    default: 16,
    type: 'count',
    doc: 'Most entries in one descriptor.',
    parse: integer(1, 1_000),
  },
  maxKeyLength: {
    flag: '--max-key-length',
    env: ['MAX_KEY_LENGTH'],
    default: 256,
    type: 'chars',
    doc: 'Longest descriptor entry key.',
    parse: integer(1, 65_536),
  },
  maxValueLength: {
    flag: '--max-value-length',
    env: ['MAX_VALUE_LENGTH'],
    default: 1024,
    type: 'chars',
    doc: 'Longest descriptor entry value (and domain).',
    parse: integer(1, 65_536),
  },
  maxHitsAddend: {
    flag: '--max-hits-addend',
    env: ['MAX_HITS_ADDEND'],
    default: 4_294_967_295,
    type: 'count',
    doc: 'Largest `hits_addend` (request or descriptor) accepted; larger values are INVALID_ARGUMENT. Default: the uint32 maximum.',
    parse: integer(1, Number.MAX_SAFE_INTEGER),
  },
  tracingEnabled: {
    flag: '--tracing',
    env: ['TRACING_ENABLED'],
    default: false,
    type: 'boolean',
    boolean: true,
    doc: 'OpenTelemetry spans over OTLP: one per ShouldRateLimit, a child per Redis call; parents from W3C `traceparent` or B3 metadata. The exporter reads the standard `OTEL_EXPORTER_OTLP_*` variables (docs/observability.md#tracing).',
    parse: bool,
  },
  tracingExporterProtocol: {
    flag: '--tracing-exporter-protocol',
    env: ['TRACING_EXPORTER_PROTOCOL'],
    default: 'http' as TracingProtocol,
    type: 'http|grpc',
    doc: 'OTLP over HTTP (protobuf) or gRPC.',
    parse: oneOf<TracingProtocol>('http', 'grpc'),
  },
  tracingServiceName: {
    flag: '--tracing-service-name',
    env: ['TRACING_SERVICE_NAME'],
    default: 'RateLimit',
    type: 'name',
    doc: "The spans' `service.name` (the reference's default).",
    parse: text,
  },
  tracingServiceNamespace: {
    flag: '--tracing-service-namespace',
    env: ['TRACING_SERVICE_NAMESPACE'],
    default: undefined,
    type: 'name',
    doc: "The spans' `service.namespace`.",
    parse: optionalText,
  },
  tracingServiceInstanceId: {
    flag: '--tracing-service-instance-id',
    env: ['TRACING_SERVICE_INSTANCE_ID'],
    default: undefined,
    type: 'id',
    doc: "The spans' `service.instance.id` (e.g. the pod name).",
    parse: optionalText,
  },
  tracingSamplingRate: {
    flag: '--tracing-sampling-rate',
    env: ['TRACING_SAMPLING_RATE'],
    default: 1,
    type: 'fraction',
    doc: 'Share of calls without a sampled parent that are traced; a call whose parent says sampled (or not) follows it.',
    parse: fraction,
  },
  useStatsd: {
    flag: '--statsd',
    env: ['USE_STATSD'],
    default: false,
    type: 'boolean',
    boolean: true,
    doc: "Push the reference's stats to statsd over TCP, as the reference does, aggregated every `--stats-flush-interval` (the reference defaults this on; docs/observability.md#statsd).",
    parse: bool,
  },
  statsdHost: { flag: '--statsd-host', env: ['STATSD_HOST'], default: 'localhost', type: 'host', doc: 'statsd (or Datadog agent) host.', parse: text },
  statsdPort: {
    flag: '--statsd-port',
    env: ['STATSD_PORT'],
    default: 8125,
    type: 'port',
    doc: 'statsd port (TCP for `--statsd`, UDP for `--dog-statsd`).',
    parse: port,
  },
  statsFlushIntervalMs: {
    flag: '--stats-flush-interval',
    env: ['STATS_FLUSH_INTERVAL'],
    default: 10_000,
    type: 'duration',
    doc: 'How often the aggregated stats are pushed (a duration like `10s`, or ms; at least 100 ms).',
    parse: durationWithin(100),
  },
  extraTags: {
    flag: '--extra-tags',
    env: ['EXTRA_TAGS'],
    default: {} as Record<string, string>,
    type: 'k1:v1,k2:v2',
    doc: 'Tags added to every pushed stat (DogStatsD tags; with plain statsd appended to the name as the reference does).',
    parse: pairs(':'),
  },
  useDogStatsd: {
    flag: '--dog-statsd',
    env: ['USE_DOG_STATSD'],
    default: false,
    type: 'boolean',
    boolean: true,
    doc: 'Push to a DogStatsD agent over UDP instead: per-limit stats named without their domain and key, which travel as `domain` and `descriptor` tags. Not with `--statsd` (as the reference).',
    parse: bool,
  },
  usePrometheus: {
    flag: '--prometheus',
    env: ['USE_PROMETHEUS'],
    default: false,
    type: 'boolean',
    boolean: true,
    doc: 'Also serve the metrics on a listener of their own, `--prometheus-addr` and `--prometheus-path`, as the reference (the HTTP and debug ports keep their /metrics).',
    parse: bool,
  },
  prometheusAddr: {
    flag: '--prometheus-addr',
    env: ['PROMETHEUS_ADDR'],
    default: { host: '0.0.0.0', port: 9090 } as ListenAddress,
    type: 'host:port',
    doc: 'Address of the `--prometheus` listener (`:19001`: every IPv4 interface, as Envoy Gateway sets it).',
    parse: listenAddress,
  },
  prometheusPath: {
    flag: '--prometheus-path',
    env: ['PROMETHEUS_PATH'],
    default: '/metrics',
    type: 'path',
    doc: 'The path the `--prometheus` listener serves the metrics on.',
    parse: urlPath,
  },
  prometheusMapper: acceptedWithNotice(
    ['PROMETHEUS_MAPPER_YAML'],
    'Accepted, not read: the Prometheus series are named here, not by a statsd-exporter mapping (docs/observability.md).',
    'PROMETHEUS_MAPPER_YAML has no effect: the Prometheus series are named by rateguard, not by a statsd-exporter mapping (docs/observability.md)',
  ),
  grpcUseTls: {
    flag: '--grpc-tls',
    env: ['GRPC_SERVER_USE_TLS'],
    default: undefined as boolean | undefined,
    type: 'boolean',
    boolean: true,
    doc: "The reference's switch: `true` needs `--grpc-tls-cert` and `--grpc-tls-key` (never plaintext instead); `false` refuses them. Unset, a certificate alone turns TLS on.",
    parse: bool,
  },
  grpcTlsRefreshIntervalMs: {
    flag: '--grpc-tls-refresh-interval',
    env: ['GRPC_TLS_REFRESH_INTERVAL'],
    default: 5000,
    type: 'duration',
    doc: 'How often the gRPC TLS files are read again: a rotated certificate (cert-manager) serves new connections, live calls keep theirs.',
    parse: durationWithin(100, 3_600_000),
  },
  grpcClientTlsSan: {
    flag: '--grpc-tls-client-san',
    env: ['GRPC_CLIENT_TLS_SAN'],
    default: undefined,
    type: 'name',
    doc: 'With `--grpc-tls-ca` (mTLS): a client certificate must be valid for this DNS name (or IP address), by its SANs, never its CN, and allow client authentication; any other connection is closed after the handshake, as the reference refuses it.',
    parse: hostNameOrIp,
  },
  grpcTlsCert: {
    flag: '--grpc-tls-cert',
    env: ['GRPC_TLS_CERT', 'GRPC_SERVER_TLS_CERT'],
    default: undefined,
    type: 'path',
    doc: 'PEM certificate chain of the gRPC port; with `--grpc-tls-key` the port speaks TLS only.',
    parse: optionalText,
  },
  grpcTlsKey: {
    flag: '--grpc-tls-key',
    env: ['GRPC_TLS_KEY', 'GRPC_SERVER_TLS_KEY'],
    default: undefined,
    type: 'path',
    doc: 'PEM private key for `--grpc-tls-cert`.',
    parse: optionalText,
  },
  grpcTlsCa: {
    flag: '--grpc-tls-ca',
    env: ['GRPC_TLS_CA', 'GRPC_CLIENT_TLS_CACERT', 'GRPC_SERVER_TLS_CA_CERT'],
    default: undefined,
    type: 'path',
    doc: "PEM CA bundle: with it the gRPC port requires client certificates signed by it (mTLS). `GRPC_SERVER_TLS_CA_CERT` is Envoy Gateway's name.",
    parse: optionalText,
  },
  workers: {
    flag: '--workers',
    env: ['WORKERS'],
    default: 1,
    type: 'count',
    doc: 'Processes serving the same ports (node:cluster). Above 1 needs `--redis`: memory buckets would split between workers.',
    parse: integer(1, 256),
  },
} satisfies Record<string, Setting<unknown>>;

type Table = typeof SETTINGS;
export type Settings = { -readonly [K in keyof Table]: ReturnType<Table[K]['parse']> extends Parsed<infer T> ? T : never };
export type SettingName = keyof Table;

/** `notices`: one start-up log line per given setting that is accepted but read differently. */
export type SettingsResult = { ok: true; settings: Settings; rest: string[]; notices: string[] } | { ok: false; errors: string[] };

/**
 * Reads flags (`--flag value`, `--flag=value`, bare boolean flags) and environment variables.
 * Unknown flags and bad values are errors; arguments that are not flags are returned in `rest`.
 */
export function resolveSettings(argv: readonly string[], env: NodeJS.ProcessEnv): SettingsResult {
  const byFlag = new Map((Object.entries(SETTINGS) as [SettingName, Setting<unknown>][]).map(([name, s]) => [s.flag, name]));
  const fromFlags = new Map<SettingName, string>();
  const errors: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      rest.push(arg);
      continue;
    }
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const name = byFlag.get(flag);
    if (name === undefined) {
      errors.push(`unknown option ${flag}`);
      continue;
    }
    const setting: Setting<unknown> = SETTINGS[name];
    if (inline !== undefined) fromFlags.set(name, inline);
    else if (setting.boolean === true) fromFlags.set(name, 'true');
    else if (i + 1 < argv.length) fromFlags.set(name, argv[++i]!);
    else errors.push(`${flag} needs a value`);
  }
  const settings: Record<string, unknown> = {};
  const given = new Set<SettingName>();
  const notices: string[] = [];
  for (const [name, setting] of Object.entries(SETTINGS) as [SettingName, Setting<unknown>][]) {
    const envName = setting.env.find((e) => env[e] !== undefined && env[e] !== '');
    const raw = fromFlags.get(name) ?? (envName === undefined ? undefined : env[envName]);
    if (raw === undefined) {
      settings[name] = setting.default;
      continue;
    }
    given.add(name);
    const parsed = setting.parse(raw);
    if (!parsed.ok) {
      errors.push(`${fromFlags.has(name) ? setting.flag : envName}: ${parsed.error}`);
      continue;
    }
    settings[name] = parsed.value;
    const notice = setting.notice?.(parsed.value);
    if (notice !== undefined) notices.push(notice);
  }
  if (errors.length > 0) return { ok: false, errors };
  const crossErrors = CROSS_CHECKS.map((check) => check(settings as Settings, given, notices)).filter((error) => error !== undefined);
  return crossErrors.length === 0 ? { ok: true, settings: settings as Settings, rest, notices } : { ok: false, errors: crossErrors };
}

/** A default as written: key/value lists (`{}`) as JSON, the rest as text. */
function shownDefault(value: unknown): string {
  return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
}

/** The options table in Markdown, as the README shows it. */
export function settingsTable(): string {
  const rows = Object.values(SETTINGS).map((s: Setting<unknown>) => {
    const def = s.default === undefined ? '—' : `\`${shownDefault(s.default)}\``;
    return `| ${s.flag === undefined ? '—' : `\`${s.flag}\``} | ${s.env.map((e) => `\`${e}\``).join(', ')} | ${def} | ${s.doc} |`;
  });
  return ['| flag | environment | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

/** `--help` text. */
export function settingsHelp(): string {
  return Object.values(SETTINGS)
    .map((s: Setting<unknown>) => `  ${`${s.flag ?? s.env[0]} <${s.type}>`.padEnd(40)} ${s.doc} [env ${s.env.join(', ')}; default ${shownDefault(s.default)}]`)
    .join('\n');
}
