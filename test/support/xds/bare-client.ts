/** rateguard's xDS client on its own (no sidecar), for tests that watch its connection events. */
import * as grpc from '@grpc/grpc-js';
import { type ConfigWatcher, watchXdsConfig, type XdsConnectionEvent, type XdsWatchOptions } from '../../../src/config/index.js';

export interface BareClientOptions {
  readonly credentials?: grpc.ChannelCredentials;
  readonly serverName?: string | undefined;
  readonly connectRetryMs?: number;
  readonly backoff?: XdsWatchOptions['backoff'];
  readonly onConnection: (event: XdsConnectionEvent) => void;
}

/** A client with no randomisation in its waits (60 s unless given), ignoring the configs it gets. */
export function startBareXdsClient(serverUrl: string, options: BareClientOptions): ConfigWatcher {
  return watchXdsConfig({
    serverUrl,
    credentials: options.credentials ?? grpc.credentials.createInsecure(),
    serverName: options.serverName,
    node: { id: 'bare-client', cluster: '', metadata: {}, userAgentName: 'test' },
    headers: {},
    connectRetryMs: options.connectRetryMs ?? 60_000,
    backoff: options.backoff ?? { initialMs: 60_000, maxMs: 60_000, randomFactor: 0, exponential: false },
    maxMessageBytes: 1 << 20,
    onEvent: () => undefined,
    onConnection: options.onConnection,
  });
}
