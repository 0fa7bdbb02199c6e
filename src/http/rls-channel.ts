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
  /** Settles when the first connection is made (true) or has failed / timed out (false). */
  readonly ready: Promise<boolean>;
  private reachable: boolean | undefined;
  private closed = false;

  constructor(private readonly options: RlsChannelOptions) {
    this.client = new RateLimitServiceClient(options.address, credentialsFor(options.tls), channelOptionsFor(options.tls));
    this.ready = new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.settle(false, `not connected within ${options.connectTimeoutMs} ms`);
        resolve(false);
      }, options.connectTimeoutMs);
      timer.unref();
      this.watch(this.channel.getConnectivityState(true), (reachable) => {
        clearTimeout(timer);
        resolve(reachable);
      });
    });
  }

  /** False from the first failed connect (or timeout) until the channel is READY again. */
  get isUnreachable(): boolean {
    return this.reachable === false;
  }

  close(): void {
    this.closed = true;
    this.client.close();
  }

  private get channel(): grpc.Channel {
    return this.client.getChannel() as grpc.Channel;
  }

  private settle(reachable: boolean, why: string): void {
    if (this.reachable === reachable) return;
    this.reachable = reachable;
    this.options.onReachable(reachable, why);
  }

  /** Follows every state change for the channel's life; `first` hears the first READY or TRANSIENT_FAILURE. */
  private watch(state: grpc.connectivityState, first?: (reachable: boolean) => void): void {
    const { READY, TRANSIENT_FAILURE, IDLE, SHUTDOWN } = grpc.connectivityState;
    if (this.closed || state === SHUTDOWN) return;
    let next = first;
    if (state === READY || state === TRANSIENT_FAILURE) {
      this.settle(state === READY, state === READY ? 'connected' : 'connection failed');
      first?.(state === READY);
      next = undefined;
    }
    // A dropped connection (the service's idle or max-age GOAWAY) is re-made now, not by the next request.
    if (state === IDLE) this.channel.getConnectivityState(true);
    this.channel.watchConnectivityState(state, Infinity, () => this.watch(this.closed ? SHUTDOWN : this.channel.getConnectivityState(false), next));
  }
}
