/**
 * Config pushed over xDS: a state-of-the-world ADS client of
 * `AggregatedDiscoveryService/StreamAggregatedResources` with a wildcard subscription to
 * RateLimitConfig, behind the same `ConfigWatcher` interface as the file watcher.
 *
 * Every response is the whole config: its resources become config documents (xds-messages.ts), go
 * through the same validation and build the same kind of snapshot as files (load.ts), so a push
 * keeps the buckets of unchanged limits exactly as a file reload does. A valid response is applied,
 * then ACKed (its version and nonce); an invalid one is NACKed (the version still served, the nonce,
 * `error_detail` with the validation errors) and the last good config keeps serving. A broken
 * stream is re-dialled (see `retryDelay`), and the last good config serves meanwhile.
 */
import * as grpc from '@grpc/grpc-js';
import { stringify } from 'yaml';
import { configError, formatConfigError, type ConfigError } from './errors.js';
import { loadConfigSources, type ConfigSource, type LoadOptions } from './load.js';
import type { ConfigSnapshot } from './snapshot.js';
import type { ConfigEvent, ConfigOrigin, ConfigWatcher, ReloadOutcome } from './watch.js';
import { backoffDelayMs, type BackoffPolicy } from './xds-backoff.js';
import {
  decodeDiscoveryResponse,
  decodeRateLimitConfig,
  type DiscoveryRequest,
  type DiscoveryResponse,
  encodeDiscoveryRequest,
  RATE_LIMIT_CONFIG_TYPE_URL,
  type XdsNode,
} from './xds-messages.js';

const ADS_METHOD = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';
/** google.rpc.Code INVALID_ARGUMENT: the code of a NACK's error_detail. */
const INVALID_ARGUMENT = 3;

export interface XdsWatchOptions extends LoadOptions {
  /** `host:port` of the xDS server. */
  readonly serverUrl: string;
  readonly credentials: grpc.ChannelCredentials;
  /** Overrides the name the server's certificate is checked against (CONFIG_GRPC_XDS_SERVER_TLS_SAN). */
  readonly serverName?: string | undefined;
  readonly node: XdsNode;
  /** Sent as gRPC metadata on every stream. */
  readonly headers: Readonly<Record<string, string>>;
  /** Wait before re-dialling a server that had answered and went away. */
  readonly connectRetryMs: number;
  /** Waits between attempts that got no answer at all. */
  readonly backoff: BackoffPolicy;
  readonly maxMessageBytes: number;
  /** Every applied or refused response. */
  readonly onEvent: (event: ConfigEvent) => void;
  /** Streams opening and breaking, for logs. */
  readonly onConnection?: (event: XdsConnectionEvent) => void;
}

export type XdsConnectionEvent =
  | { readonly type: 'connected' }
  | { readonly type: 'disconnected'; readonly code: grpc.status; readonly details: string; readonly retryInMs: number };

type DecodedResponse = DiscoveryResponse | { ok: false; error: string };
type AdsCall = grpc.ClientDuplexStream<DiscoveryRequest, DecodedResponse>;

function xdsError(file: string, message: string): ConfigError {
  return configError('RG_CONFIG_READ_FAILED', { file, line: 0, path: '' }, message);
}

/** A response's resources as config sources, or why one cannot be read. */
function sourcesOf(response: DiscoveryResponse): { sources: ConfigSource[]; errors: ConfigError[] } {
  const sources: ConfigSource[] = [];
  const errors: ConfigError[] = [];
  response.resources.forEach((resource, index) => {
    const fallback = `xds:resources[${index}]`;
    if (resource.typeUrl !== RATE_LIMIT_CONFIG_TYPE_URL) {
      errors.push(xdsError(fallback, `resource of type "${resource.typeUrl}", expected ${RATE_LIMIT_CONFIG_TYPE_URL}`));
      return;
    }
    const decoded = decodeRateLimitConfig(resource.value);
    if ('ok' in decoded) {
      errors.push(xdsError(fallback, decoded.error));
      return;
    }
    // YAML text of the document: the loader reads it exactly as it reads a file with the same limits.
    sources.push({ file: decoded.name === '' ? fallback : `xds:${decoded.name}`, text: stringify(decoded.document) });
  });
  return { sources, errors };
}

class XdsConfigSource implements ConfigWatcher {
  current: ConfigSnapshot | undefined;
  /** The version of `current` ('' before the first): what a NACK reports as still served. */
  private appliedVersion = '';
  private lastEvent: ConfigEvent | undefined;
  /** One channel per attempt: each retry re-dials (as the reference does), so only our backoff paces it. */
  private client: grpc.Client | undefined;
  private readonly channelOptions: grpc.ChannelOptions;
  private call: AdsCall | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Consecutive attempts that got no response: the backoff exponent. */
  private unansweredAttempts = 0;
  private closed = false;
  private readonly firstConfigApplied: Promise<void>;
  private settleFirstConfig!: () => void;

  constructor(private readonly options: XdsWatchOptions) {
    this.channelOptions = { 'grpc.max_receive_message_length': options.maxMessageBytes };
    if (options.serverName !== undefined) {
      this.channelOptions['grpc.ssl_target_name_override'] = options.serverName;
      this.channelOptions['grpc.default_authority'] = options.serverName;
    }
    this.firstConfigApplied = new Promise((resolve) => (this.settleFirstConfig = resolve));
  }

  get origin(): ConfigOrigin {
    return { source: 'xds', location: this.options.serverUrl, version: this.current === undefined ? undefined : this.appliedVersion };
  }

  /** Resolves once a first config was applied (or the source closed): refused ones do not count. */
  firstConfig(): Promise<void> {
    return this.firstConfigApplied;
  }

  /** A pushed config cannot be re-read: SIGHUP changes nothing and answers with the outcome of the last response. */
  reload(): Promise<ReloadOutcome> {
    if (this.current !== undefined) {
      return Promise.resolve({
        event: { type: 'loaded', snapshot: this.current, reason: 'reload', source: 'xds', version: this.appliedVersion },
        changed: false,
      });
    }
    const nothingYet = xdsError(`xds:${this.options.serverUrl}`, 'no config received from the xDS server yet');
    return Promise.resolve({
      event: this.lastEvent ?? { type: 'rejected', errors: [nothingYet], reason: 'reload', source: 'xds', version: undefined },
      changed: false,
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.call?.cancel();
    this.client?.close();
    this.settleFirstConfig();
  }

  dial(): void {
    if (this.closed) return;
    this.client = new grpc.Client(this.options.serverUrl, this.options.credentials, this.channelOptions);
    const metadata = new grpc.Metadata();
    for (const [name, value] of Object.entries(this.options.headers)) metadata.set(name, value);
    const call = this.client.makeBidiStreamRequest<DiscoveryRequest, DecodedResponse>(ADS_METHOD, encodeDiscoveryRequest, decodeDiscoveryResponse, metadata);
    this.call = call;
    let answered = false;
    call.on('data', (response: DecodedResponse) => {
      if (!answered) this.options.onConnection?.({ type: 'connected' });
      answered = true;
      this.unansweredAttempts = 0;
      this.handle(call, response);
    });
    // The 'status' event reports every ending, errors included; 'error' only needs a listener.
    call.on('error', () => undefined);
    call.on('status', (status: grpc.StatusObject) => this.streamEnded(call, answered, status));
    // A new stream starts from scratch (version ''): the server sends its whole current config.
    call.write(this.request('', ''));
  }

  private request(versionInfo: string, responseNonce: string, errorDetail?: DiscoveryRequest['errorDetail']): DiscoveryRequest {
    return { versionInfo, node: this.options.node, typeUrl: RATE_LIMIT_CONFIG_TYPE_URL, responseNonce, ...(errorDetail === undefined ? {} : { errorDetail }) };
  }

  private handle(call: AdsCall, response: DecodedResponse): void {
    if (this.closed || call !== this.call) return;
    if ('ok' in response) {
      this.refuse(call, '', '', [xdsError(`xds:${this.options.serverUrl}`, response.error)]);
      return;
    }
    const { sources, errors } = sourcesOf(response);
    const result = loadConfigSources(sources, this.options);
    if (!result.ok || errors.length > 0) {
      this.refuse(call, response.versionInfo, response.nonce, result.ok ? errors : [...errors, ...result.errors]);
      return;
    }
    this.current = result.config;
    this.appliedVersion = response.versionInfo;
    this.emit({ type: 'loaded', snapshot: result.config, reason: 'push', source: 'xds', version: response.versionInfo });
    this.settleFirstConfig();
    call.write(this.request(response.versionInfo, response.nonce));
  }

  private refuse(call: AdsCall, version: string, nonce: string, errors: readonly ConfigError[]): void {
    this.emit({ type: 'rejected', errors, reason: 'push', source: 'xds', version });
    const message = errors.map(formatConfigError).join('\n');
    call.write(this.request(this.appliedVersion, nonce, { code: INVALID_ARGUMENT, message }));
  }

  private emit(event: ConfigEvent): void {
    this.lastEvent = event;
    this.options.onEvent(event);
  }

  private streamEnded(call: AdsCall, answered: boolean, status: grpc.StatusObject): void {
    if (this.closed || call !== this.call) return;
    this.call = undefined;
    this.client?.close();
    const retryInMs = this.retryDelay(answered);
    this.options.onConnection?.({ type: 'disconnected', code: status.code, details: status.details, retryInMs });
    this.retryTimer = setTimeout(() => this.dial(), retryInMs);
  }

  /**
   * A server that had answered and went away is re-dialled after the connect-retry interval (the
   * reference's CONFIG_GRPC_XDS_SERVER_CONNECT_RETRY_INTERVAL); attempts that got no answer at all
   * back off (XDS_CLIENT_BACKOFF_*), so an absent control plane is not hammered.
   */
  private retryDelay(answered: boolean): number {
    if (answered) return this.options.connectRetryMs;
    return backoffDelayMs(this.options.backoff, this.unansweredAttempts++);
  }
}

/**
 * Starts the xDS client and returns at once (the stream works in the background): `current` is
 * undefined until the first valid config arrives, which `firstConfig()` waits for.
 */
export function watchXdsConfig(options: XdsWatchOptions): ConfigWatcher & { firstConfig(): Promise<void> } {
  const source = new XdsConfigSource(options);
  source.dial();
  return source;
}
