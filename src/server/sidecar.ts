/**
 * The sidecar: config watcher + store + service, served on the gRPC and HTTP ports.
 * `startSidecar` wires them from settings; `drain` is what SIGTERM does.
 */
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ConfigWatcher } from '../config/index.js';
import { AdminAccess } from '../admin/admin-access.js';
import { AdminToken } from '../admin/admin-token.js';
import { BucketAdmin } from '../admin/bucket-admin.js';
import { checkKeyPrefix } from '../engine/keys.js';
import type { Logger } from '../observe/logger.js';
import { Observability } from '../observe/observability.js';
import { statsdFromSettings } from '../observe/statsd-push.js';
import { loadTracing, type Tracing } from '../observe/tracing.js';
import { RateLimitService } from '../service/rate-limit-service.js';
import { limitHeaderNames } from '../settings/cross-checks.js';
import type { Settings } from '../settings/settings.js';
import type { BucketStore } from '../stores/store.js';
import { buildStore, describeRedis } from './build-store.js';
import { NO_CONFIG, startConfigSource } from './config-source.js';
import { clientNameGuard } from './client-name-guard.js';
import { grpcJsListener, nodeHttp2Listener } from './grpc-listener.js';
import { loadGrpcCredentials } from './grpc-server.js';
import { HealthState } from './health.js';
import { createDebugApp, createHttpApp, createPrometheusApp } from './http-server.js';

export interface Sidecar {
  /** 0 when gRPC is served on a unix socket (`--grpc-uds`). */
  readonly grpcPort: number;
  readonly httpPort: number;
  readonly debugPort: number;
  /** The `--prometheus` listener's port; undefined when it is off. */
  readonly prometheusPort: number | undefined;
  readonly health: HealthState;
  readonly watcher: ConfigWatcher;
  readonly store: BucketStore;
  readonly observability: Observability;
  /** Undefined when tracing is off. */
  readonly tracing: Tracing | undefined;
  /** Health NOT_SERVING, in-flight calls finish (up to the shutdown timeout), everything closes. */
  drain(): Promise<void>;
}

/** Thrown when the sidecar cannot start (bad settings or a config that does not load). */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

function listen(app: ReturnType<typeof createPrometheusApp>, host: string, port: number): Promise<HttpServer> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, (error?: Error) => (error ? reject(error) : resolve(server)));
  });
}

export async function startSidecar(settings: Settings, logger: Logger): Promise<Sidecar> {
  const prefixProblem = checkKeyPrefix(settings.keyPrefix);
  if (prefixProblem !== undefined) throw new StartupError(`--key-prefix: ${prefixProblem}`);
  const grpcTlsFiles = {
    cert: settings.grpcTlsCert,
    key: settings.grpcTlsKey,
    ca: settings.grpcTlsCa,
    refreshIntervalMs: settings.grpcTlsRefreshIntervalMs,
    clientSan: settings.grpcClientTlsSan,
  };
  const grpcCredentials = loadGrpcCredentials(grpcTlsFiles);
  if (!grpcCredentials.ok) throw new StartupError(grpcCredentials.error);
  const adminToken = await AdminToken.load(settings, (error) =>
    logger.error({ error }, 'admin token file unreadable: admin calls that need the token are refused'),
  );
  if (!adminToken.ok) throw new StartupError(adminToken.error);
  // As the reference: one stats sink; USE_DOG_STATSD alone picks DogStatsD.
  if (settings.useStatsd && settings.useDogStatsd) throw new StartupError('--statsd (USE_STATSD) and --dog-statsd (USE_DOG_STATSD) are two sinks: set one');
  const chargeMode = settings.chargeRejected ? 'independent' : 'all_or_nothing';
  const observability = new Observability(
    { nearLimitRatio: settings.nearLimitRatio, chargeMode },
    { redis: settings.redis !== undefined, logger, ...statsdFromSettings(settings) },
  );

  // The source logs each event itself (it knows whether a good config serves).
  const source = await startConfigSource(settings, logger, (event) => observability.configEvent(event));
  if (!source.ok) throw new StartupError(source.error);
  const { watcher } = source;

  const health = new HealthState({ waitForRedis: settings.redis !== undefined });
  const tracing = await loadTracing(settings);
  const instrument = (redis: BucketStore) => {
    const measured = observability.redis?.instrument(redis) ?? redis;
    return tracing?.traceStore(measured) ?? measured;
  };
  const stack = buildStore(settings, logger, health, { instrument });
  const store = stack.store;
  const { failureMode, cache } = stack;
  if (failureMode !== undefined) {
    observability.redis?.attachHealth({
      breakerState: () => failureMode.breaker.state,
      localCache: () => (cache === undefined ? undefined : { entries: cache.size, hits: cache.hits }),
    });
  }
  const config = () => watcher.current ?? NO_CONFIG;
  const requestLimits = {
    maxDescriptors: settings.maxDescriptors,
    maxEntries: settings.maxEntries,
    maxKeyLength: settings.maxKeyLength,
    maxValueLength: settings.maxValueLength,
    maxHitsAddend: settings.maxHitsAddend,
  };
  const service = new RateLimitService({
    store,
    config: () => watcher.current,
    keyPrefix: settings.keyPrefix,
    shadowMode: settings.shadowMode,
    quotaMode: settings.quotaMode,
    responseDynamicMetadata: settings.responseDynamicMetadata,
    chargeMode,
    responseHeaders: settings.responseHeaders,
    limitHeaders: limitHeaderNames(settings),
    requestLimits,
    observer: tracing?.observing(observability.decisions) ?? observability.decisions,
  });
  const grpcOptions = {
    service,
    health,
    maxMessageBytes: settings.maxMessageBytes,
    connectionLimits: { maxConnectionAgeMs: settings.grpcMaxConnectionAgeMs, maxConnectionAgeGraceMs: settings.grpcMaxConnectionAgeGraceMs },
    onCallEnd: observability.grpcCallEnded,
    ...(tracing === undefined ? {} : { tracing }),
  };
  // As the reference logs each client it refuses for its name (GRPC_CLIENT_TLS_SAN).
  const refused = (reason: string) => logger.warn({ reason }, 'gRPC client refused');
  const grpcServer =
    settings.grpcServer === 'grpc-js'
      ? grpcJsListener(grpcOptions, grpcCredentials.credentials, (server) => grpcCredentials.guardConnections(server, refused))
      : nodeHttp2Listener(grpcOptions, { files: grpcTlsFiles, ...clientNameGuard(settings.grpcClientTlsSan, refused) });
  // grpc-js re-reads the TLS files through its watcher; node-http2 through its own (src/transport/rotating-tls.ts).
  if (settings.grpcServer === 'grpc-js') await grpcCredentials.watch();
  // On a unix socket there is no gRPC port: 0 says so.
  const grpcPort =
    settings.grpcUds === undefined
      ? await grpcServer.listen(settings.grpcHost ?? settings.host, settings.grpcPort)
      : await grpcServer.listenUnix(settings.grpcUds).then(() => 0);
  const admin = {
    observability,
    config,
    buckets: new BucketAdmin({ store, config, keyPrefix: settings.keyPrefix }),
    requestLimits,
    identities: settings.statsIdentities,
  };
  const httpServer = await listen(
    createHttpApp({
      service,
      health,
      config,
      origin: () => watcher.origin,
      maxBodyBytes: settings.maxMessageBytes,
      admin,
      access: new AdminAccess(settings.host, adminToken.token),
    }),
    settings.host,
    settings.httpPort,
  );
  const debugServer = await listen(
    createDebugApp({ config, origin: () => watcher.origin, admin, access: new AdminAccess(settings.debugHost, adminToken.token) }),
    settings.debugHost,
    settings.debugPort,
  );
  const prometheusServer = settings.usePrometheus
    ? await listen(createPrometheusApp(observability, settings.prometheusPath), settings.prometheusAddr.host, settings.prometheusAddr.port)
    : undefined;
  const httpServers = [httpServer, debugServer, ...(prometheusServer === undefined ? [] : [prometheusServer])];
  const debugPort = (debugServer.address() as AddressInfo).port;
  const httpPort = (httpServer.address() as AddressInfo).port;
  const prometheusPort = prometheusServer === undefined ? undefined : (prometheusServer.address() as AddressInfo).port;
  logger.info(
    {
      grpcPort,
      grpcUds: settings.grpcUds,
      httpPort,
      host: settings.host,
      debugPort,
      debugHost: settings.debugHost,
      prometheusPort,
      grpcTls: grpcCredentials.tls,
      store: describeRedis(settings),
    },
    'rateguard serving',
  );

  let drained: Promise<void> | undefined;
  const drain = () => {
    drained ??= (async () => {
      health.drain();
      logger.info({ timeoutMs: settings.shutdownTimeoutMs }, 'draining');
      for (const server of httpServers) {
        server.close();
        server.closeIdleConnections();
      }
      await grpcServer.shutdown(settings.shutdownTimeoutMs);
      grpcCredentials.close();
      for (const server of httpServers) server.closeAllConnections();
      await Promise.all([watcher.close(), store.close(), tracing?.shutdown(), observability.close()]);
      logger.info('stopped');
    })();
    return drained;
  };
  return { grpcPort, httpPort, debugPort, prometheusPort, health, watcher, store, observability, tracing, drain };
}
