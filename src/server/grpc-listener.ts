/**
 * The gRPC port, served by one of two servers with the same answers (`--grpc-server`):
 * - `node-http2` (default): src/transport/, gRPC framed on node:http2 directly — about twice the
 *   calls per CPU of grpc-js's server here (docs/benchmarks.md);
 * - `grpc-js`: @grpc/grpc-js's server (src/server/grpc-server.ts), the one rateguard used before.
 */
import { readFileSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import type * as grpc from '@grpc/grpc-js';
import { SHOULD_RATE_LIMIT_PATH } from '../rls/codec.js';
import { GRPC_CONNECTION_LIMITS } from '../settings/grpc-connection-limits.js';
import { createGrpcH2Server, type GrpcTls } from '../transport/grpc-h2-server.js';
import { rateGuardMethods } from './grpc-h2-methods.js';
import { bindGrpcServer, bindGrpcUnixSocket, createGrpcServer, type GrpcServerOptions, type GrpcTlsFiles, MAX_SEND_MESSAGE_BYTES } from './grpc-server.js';

export interface GrpcListener {
  /** Resolves with the bound port (useful with port 0). */
  listen(host: string, port: number): Promise<number>;
  /** A unix socket instead (a stale socket file there is replaced). */
  listenUnix(path: string): Promise<void>;
  /** Calls in flight may finish (GOAWAY to every connection); after `timeoutMs` the rest are cut. */
  shutdown(timeoutMs: number): Promise<void>;
}

/** `afterBind`: given the bound server (its HTTP/2 listeners exist from then on). */
export function grpcJsListener(
  options: GrpcServerOptions,
  credentials: grpc.ServerCredentials,
  afterBind: (server: grpc.Server) => void = () => undefined,
): GrpcListener {
  const server = createGrpcServer(options);
  return {
    async listen(host, port) {
      const bound = await bindGrpcServer(server, host, port, credentials);
      afterBind(server);
      return bound;
    },
    async listenUnix(path) {
      await bindGrpcUnixSocket(server, path, credentials);
      afterBind(server);
    },
    shutdown: (timeoutMs) =>
      new Promise((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, timeoutMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}

export interface NodeHttp2TlsOptions {
  /** The TLS settings, already checked by loadGrpcCredentials (all absent: plaintext). */
  readonly files: GrpcTlsFiles;
  /** Runs on each TLS connection after its handshake (the client certificate's name check). */
  readonly onSecureConnection?: (socket: TLSSocket) => void;
}

function tlsOf(files: GrpcTlsFiles): GrpcTls | undefined {
  if (files.cert === undefined || files.key === undefined) return undefined;
  const paths = { cert: files.cert, key: files.key, ca: files.ca, refreshIntervalMs: files.refreshIntervalMs };
  return {
    files: paths,
    pems: { cert: readFileSync(files.cert), key: readFileSync(files.key), ca: files.ca === undefined ? undefined : readFileSync(files.ca) },
  };
}

function countShouldRateLimit(path: string, code: grpc.status, count: (code: grpc.status) => void): void {
  if (path === SHOULD_RATE_LIMIT_PATH) count(code);
}

export function nodeHttp2Listener(options: GrpcServerOptions, tls: NodeHttp2TlsOptions): GrpcListener {
  const onCallEnd = options.onCallEnd;
  const secure = tlsOf(tls.files);
  return createGrpcH2Server({
    methods: rateGuardMethods({ service: options.service, health: options.health, tracing: options.tracing }),
    limits: { maxReceiveMessageBytes: options.maxMessageBytes, maxSendMessageBytes: MAX_SEND_MESSAGE_BYTES },
    connectionLimits: { ...GRPC_CONNECTION_LIMITS, ...options.connectionLimits },
    ...(secure === undefined ? {} : { tls: secure }),
    ...(tls.onSecureConnection === undefined ? {} : { onSecureConnection: tls.onSecureConnection }),
    // grpc_server_handled_total counts ShouldRateLimit calls: every one, refusals by the transport included.
    ...(onCallEnd === undefined ? {} : { onCallEnd: (path: string, code: grpc.status) => countShouldRateLimit(path, code, onCallEnd) }),
  });
}
