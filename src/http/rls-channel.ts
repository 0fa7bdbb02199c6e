/**
 * The rlsRateLimiter's gRPC channel, connected ahead: the connection is made when the limiter is
 * created (not by the first request, whose 20 ms deadline a fresh TCP + HTTP/2 + TLS handshake can
 * miss), re-made as soon as the service drops it (idle or max-age GOAWAY), and its reachability is
 * known without a call, so requests during an outage take the failure policy at once instead of
 * each waiting out its deadline.
 */
import * as grpc from '@grpc/grpc-js';
import { RateLimitServiceClient } from '../rls/codec.js';

export interface RlsTlsOptions {
  /** PEM of the CA that signed the service's certificate. Default: Node's root certificates. */
  ca?: string | Buffer;
  /** PEM client certificate for mTLS; needs `key`. */
  cert?: string | Buffer;
  /** PEM private key of `cert`. */
  key?: string | Buffer;
  /** The name the service's certificate must carry, when the address's host is not that name (an IP, a pod address). */
  serverName?: string;
}

export const TLS_OPTIONS = ['ca', 'cert', 'key', 'serverName'] as const;

export interface RlsChannelOptions {
  address: string;
  tls: RlsTlsOptions | undefined;
  connectTimeoutMs: number;
  /** Told once per change: false when the service became unreachable, true when it is connected again. */
  onReachable: (reachable: boolean, why: string) => void;
}

const pem = (value: string | Buffer | undefined) => (value === undefined ? null : Buffer.from(value));

function credentialsFor(tls: RlsTlsOptions | undefined): grpc.ChannelCredentials {
  if (tls === undefined) return grpc.credentials.createInsecure();
  return grpc.credentials.createSsl(pem(tls.ca), pem(tls.key), pem(tls.cert));
}

function channelOptionsFor(tls: RlsTlsOptions | undefined): grpc.ChannelOptions {
  if (tls?.serverName === undefined) return {};
  return { 'grpc.ssl_target_name_override': tls.serverName, 'grpc.default_authority': tls.serverName };
}

export class RlsChannel {
  readonly client: grpc.Client;
  /** Settles when the first connection is made (true) or has failed, timed out or been closed (false). */
  readonly ready: Promise<boolean>;
  private settleReady: ((connected: boolean) => void) | undefined;
  private readonly connectTimer: NodeJS.Timeout;
  private reachable: boolean | undefined;
  private closed = false;

  constructor(private readonly options: RlsChannelOptions) {
    this.client = new RateLimitServiceClient(options.address, credentialsFor(options.tls), channelOptionsFor(options.tls));
    this.ready = new Promise((resolve) => (this.settleReady = resolve));
    this.connectTimer = setTimeout(() => this.settle(false, `not connected within ${options.connectTimeoutMs} ms`), options.connectTimeoutMs);
    this.connectTimer.unref();
    this.watch(this.channel.getConnectivityState(true));
  }

  /** True from the first failed connect (or timeout) until the channel is READY again. */
  get isUnreachable(): boolean {
    return this.reachable === false;
  }

  close(): void {
    this.closed = true;
    this.finishFirstConnect(false);
    this.client.close();
  }

  private get channel(): grpc.Channel {
    return this.client.getChannel() as grpc.Channel;
  }

  private finishFirstConnect(connected: boolean): void {
    clearTimeout(this.connectTimer);
    this.settleReady?.(connected);
    this.settleReady = undefined;
  }

  private settle(reachable: boolean, why: string): void {
    this.finishFirstConnect(reachable);
    if (this.reachable === reachable) return;
    this.reachable = reachable;
    this.options.onReachable(reachable, why);
  }

  /** Follows every state change for the channel's life. */
  private watch(state: grpc.connectivityState): void {
    const { READY, TRANSIENT_FAILURE, IDLE, SHUTDOWN } = grpc.connectivityState;
    if (this.closed || state === SHUTDOWN) return;
    if (state === READY) this.settle(true, 'connected');
    else if (state === TRANSIENT_FAILURE) this.settle(false, 'connection failed');
    // A dropped connection (the service's idle or max-age GOAWAY) is re-made now, not by the next request.
    else if (state === IDLE) this.channel.getConnectivityState(true);
    this.channel.watchConnectivityState(state, Infinity, () => this.watch(this.closed ? SHUTDOWN : this.channel.getConnectivityState(false)));
  }
}
