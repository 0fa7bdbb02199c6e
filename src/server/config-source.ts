/**
 * The sidecar's config source from settings: the file watcher (`--config-type FILE`) or the xDS
 * client (`GRPC_XDS_SOTW`), both behind `ConfigWatcher`. Without
 * `--force-start-without-initial-config` the sidecar starts only with a valid config (files: the
 * first load; xDS: the first config the server pushes that validates); with it, it starts at once.
 */
import { resolve } from 'node:path';
import {
  formatConfigError,
  loadConfigSources,
  watchConfig,
  watchXdsConfig,
  type ConfigError,
  type ConfigEvent,
  type ConfigSnapshot,
  type ConfigWatcher,
} from '../config/index.js';
import { loadXdsCredentials } from '../config/xds-credentials.js';
import type { Logger } from '../observe/logger.js';
import type { Settings } from '../settings/settings.js';

export type ConfigSourceResult = { ok: true; watcher: ConfigWatcher } | { ok: false; error: string };

/**
 * Logs each config event with what it means for the calls, which depends on whether a config has
 * loaded before: a first bad config has no "last good config" to keep serving.
 */
class ConfigEventLog {
  private loadedBefore = false;
  private readonly withoutConfig: string;

  constructor(
    settings: Settings,
    private readonly logger: Logger,
  ) {
    this.withoutConfig = settings.forceStartWithoutInitialConfig
      ? 'no config serves yet: calls are answered UNAVAILABLE until a valid one loads'
      : settings.configType === 'GRPC_XDS_SOTW'
        ? 'not serving until the xDS server sends a valid config'
        : 'rateguard does not start without a valid config';
  }

  /** What serves now that a config could not be had: the last good one, or what happens without one. */
  get whatServes(): string {
    return this.loadedBefore ? 'the last good config keeps serving' : this.withoutConfig;
  }

  log(event: ConfigEvent): void {
    const facts = { reason: event.reason, source: event.source, version: event.version };
    if (event.type === 'loaded') {
      this.loadedBefore = true;
      this.logger.info({ ...facts, files: event.snapshot.files, domains: [...event.snapshot.domains.keys()] }, 'config loaded');
    } else {
      this.logger.error({ ...facts, errors: event.errors.map(formatConfigError) }, `config rejected; ${this.whatServes}`);
    }
  }
}

/** What `/rlconfig`, `/stats` and the bucket admin see before any config: no domains. */
export const NO_CONFIG: ConfigSnapshot = (() => {
  const empty = loadConfigSources([]);
  if (!empty.ok) throw new Error('an empty config must load');
  return empty.config;
})();

async function startXds(settings: Settings, logger: Logger, configLog: ConfigEventLog, onEvent: (event: ConfigEvent) => void): Promise<ConfigSourceResult> {
  if (settings.xdsServerUrl === undefined) return { ok: false, error: '--config-type GRPC_XDS_SOTW needs --xds-server-url (CONFIG_GRPC_XDS_SERVER_URL)' };
  const credentials = loadXdsCredentials({ useTls: settings.xdsTls, cert: settings.xdsTlsCert, key: settings.xdsTlsKey, ca: settings.xdsTlsCa });
  if (!credentials.ok) return credentials;
  const watcher = watchXdsConfig({
    serverUrl: settings.xdsServerUrl,
    credentials: credentials.credentials,
    serverName: settings.xdsTlsSan,
    node: { id: settings.xdsNodeId ?? '', cluster: '', metadata: settings.xdsNodeMetadata, userAgentName: 'rateguard' },
    headers: settings.xdsHeaders,
    connectRetryMs: settings.xdsConnectRetryMs,
    backoff: {
      initialMs: settings.xdsBackoffInitialMs,
      maxMs: settings.xdsBackoffMaxMs,
      randomFactor: settings.xdsBackoffRandomFactor,
      exponential: settings.xdsBackoffJitter,
    },
    maxMessageBytes: settings.xdsMaxMessageBytes,
    defaultAlgorithm: settings.defaultAlgorithm,
    overdraft: settings.overdraft,
    mergeDomains: settings.mergeDomainConfig,
    onEvent,
    onConnection: (event) => {
      if (event.type === 'connected') logger.info({ server: settings.xdsServerUrl }, 'xDS stream answering');
      else
        logger.warn(
          { server: settings.xdsServerUrl, code: event.code, details: event.details, retryInMs: event.retryInMs },
          `xDS stream ended; ${configLog.whatServes}`,
        );
    },
  });
  if (!settings.forceStartWithoutInitialConfig) {
    logger.info({ server: settings.xdsServerUrl, nodeId: settings.xdsNodeId }, 'waiting for the first config from the xDS server');
    await watcher.firstConfig();
  }
  return { ok: true, watcher };
}

/** Starts the config source; every event is logged here, then handed to `onEvent`. */
export async function startConfigSource(settings: Settings, logger: Logger, onEvent: (event: ConfigEvent) => void): Promise<ConfigSourceResult> {
  const configLog = new ConfigEventLog(settings, logger);
  const logged = (event: ConfigEvent) => {
    configLog.log(event);
    onEvent(event);
  };
  if (settings.configType === 'GRPC_XDS_SOTW') return startXds(settings, logger, configLog, logged);
  return startFiles(settings, logged);
}

async function startFiles(settings: Settings, onEvent: (event: ConfigEvent) => void): Promise<ConfigSourceResult> {
  let initialErrors: readonly ConfigError[] = [];
  const watcher = await watchConfig({
    path: settings.config,
    defaultAlgorithm: settings.defaultAlgorithm,
    overdraft: settings.overdraft,
    mergeDomains: settings.mergeDomainConfig,
    onEvent: (event) => {
      if (event.type === 'rejected' && event.reason === 'initial') initialErrors = event.errors;
      onEvent(event);
    },
  });
  if (watcher.current === undefined && !settings.forceStartWithoutInitialConfig) {
    await watcher.close();
    // The absolute path: a relative one hides which directory the process looked in.
    return { ok: false, error: `no valid config at ${resolve(settings.config)}: ${initialErrors.map(formatConfigError).join('; ')}` };
  }
  return { ok: true, watcher };
}
