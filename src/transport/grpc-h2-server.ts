/**
 * A gRPC server on node:http2 for the methods it is given (src/transport/methods.ts): plaintext or
 * TLS (mTLS with a CA, certificates re-read as they rotate), on a TCP port or a unix socket, with the
 * connection bounds of src/settings/grpc-connection-limits.ts and a graceful shutdown.
 *
 * Why not grpc-js's server: its per-call machinery (interceptors, Metadata, listeners, channelz) was
 * most of the sidecar's CPU (docs/benchmarks.md). The protocol it speaks is PROTOCOL-HTTP2.md; each
 * part lives in its own file here (headers, message framing, answers, timeouts, connection bounds).
 */
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { GrpcConnectionLimits } from '../settings/grpc-connection-limits.js';
import { goAway, applyConnectionLimits } from './connection-lifetime.js';
import type { MethodTable } from './methods.js';
import { contextOptions, type TlsFiles, type TlsPems, watchTlsFiles } from './rotating-tls.js';
import { type CallEndListener, type CallLimits, serveCall } from './serve-call.js';
import { removeStaleSocket } from './unix-socket.js';

export interface GrpcTls {
  readonly files: TlsFiles;
  /** The files as read at start (a bad pair is refused before the server exists). */
  readonly pems: TlsPems;
}

export interface GrpcH2ServerOptions {
  readonly methods: MethodTable;
  readonly limits: CallLimits;
  readonly connectionLimits: GrpcConnectionLimits;
  /** Absent: plaintext (h2c with prior knowledge, as gRPC clients speak it). */
  readonly tls?: GrpcTls;
  /** Runs on each TLS connection after its handshake (a check of the client certificate may destroy it). */
  readonly onSecureConnection?: (socket: TLSSocket) => void;
  readonly onCallEnd?: CallEndListener;
}

export interface GrpcH2Server {
  /** Resolves with the bound port (useful with port 0). */
  listen(host: string, port: number): Promise<number>;
  /** Binds a unix socket, replacing a stale socket file there. */
  listenUnix(path: string): Promise<void>;
  /** No new connections; every connection gets a GOAWAY and its calls may finish; after `timeoutMs` the rest are cut. */
  shutdown(timeoutMs: number): Promise<void>;
}

const noCallListener: CallEndListener = () => undefined;

export function createGrpcH2Server(options: GrpcH2ServerOptions): GrpcH2Server {
  const serverOptions: http2.ServerOptions = {
    settings: { maxConcurrentStreams: options.connectionLimits.maxConcurrentStreams },
    // As grpc-js: Node's session memory check degrades badly when it triggers; streams are bounded instead.
    maxSessionMemory: Number.MAX_SAFE_INTEGER,
  };
  const tls = options.tls;
  const server =
    tls === undefined
      ? http2.createServer(serverOptions)
      : http2.createSecureServer({
          ...serverOptions,
          ...contextOptions(tls.pems),
          requestCert: tls.pems.ca !== undefined,
          rejectUnauthorized: tls.pems.ca !== undefined,
        });
  const stopTls =
    tls === undefined ? () => undefined : watchTlsFiles(tls.files, tls.pems, (context) => (server as http2.Http2SecureServer).setSecureContext(context));
  if (tls !== undefined && options.onSecureConnection !== undefined) server.on('secureConnection', options.onSecureConnection);

  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    // A session error (a reset socket, a protocol error) destroys it; its streams report CANCELLED.
    session.on('error', () => undefined);
    applyConnectionLimits(session, options.connectionLimits);
  });
  const onCallEnd = options.onCallEnd ?? noCallListener;
  server.on('stream', (stream, headers) => serveCall(stream, headers, options.methods, options.limits, onCallEnd));

  const listening = (bind: () => void) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.once('listening', () => {
        server.off('error', reject);
        resolve();
      });
      bind();
    });

  return {
    async listen(host, port) {
      await listening(() => server.listen(port, host));
      return (server.address() as AddressInfo).port;
    },
    async listenUnix(path) {
      await removeStaleSocket(path);
      await listening(() => server.listen(path));
    },
    shutdown(timeoutMs) {
      stopTls();
      if (!server.listening) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const cut = setTimeout(() => {
          for (const session of sessions) session.destroy();
        }, timeoutMs);
        server.close(() => {
          clearTimeout(cut);
          resolve();
        });
        for (const session of sessions) goAway(session, 'shutdown');
      });
    },
  };
}
