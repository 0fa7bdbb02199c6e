/**
 * The sidecar's config source from settings: the file watcher (`--config-type FILE`) or the xDS
 * client (`GRPC_XDS_SOTW`), both behind `ConfigWatcher`. Without
 * `--force-start-without-initial-config` the sidecar starts only with a valid config (files: the
 * first load; xDS: the first config the server pushes that validates); with it, it starts at once.
 */
import { resolve } from 'node:path';
import { formatConfigError, loadConfigSources, watchConfig, watchXdsConfig, type ConfigError, type ConfigEvent, type ConfigSnapshot, type ConfigWatcher } from '../config/index.js';
import { loadXdsCredentials } from '../config/xds-credentials.js';
import type { Logger } from '../observe/logger.js';
import type { Settings } from '../settings/settings.js';

export type ConfigSourceResult = { ok: true; watcher: ConfigWatcher } | { ok: false; error: string };

/** What `/rlconfig`, `/stats` and the bucket admin see before any config: no domains. */
export const NO_CONFIG: ConfigSnapshot = (() => {
  const empty = loadConfigSources([]);
  if (!empty.ok) throw new Error('an empty config must load');
  return empty.config;
})();

async function startXds(settings: Settings, logger: Logger, onEvent: (event: ConfigEvent) => void): Promise<ConfigSourceResult> {
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
      else logger.warn({ server: settings.xdsServerUrl, code: event.code, details: event.details, retryInMs: event.retryInMs }, 'xDS stream ended; the last config keeps serving');
    },
  });
  if (!settings.forceStartWithoutInitialConfig) {
    logger.info({ server: settings.xdsServerUrl, nodeId: settings.xdsNodeId }, 'waiting for the first config from the xDS server');
    await watcher.firstConfig();
  }
  return { ok: true, watcher };
}

export async function startConfigSource(settings: Settings, logger: Logger, onEvent: (event: ConfigEvent) => void): Promise<ConfigSourceResult> {
  if (settings.configType === 'GRPC_XDS_SOTW') return startXds(settings, logger, onEvent);
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
