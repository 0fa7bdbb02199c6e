/**
 * The gRPC port on @grpc/grpc-js (`--grpc-server grpc-js`; the default is src/transport/, see
 * grpc-listener.ts): RLS v3 `ShouldRateLimit` through the hand-written codec, and `grpc.health.v1`,
 * with the call logic both servers share (should-rate-limit-call.ts, health-service.ts). Connection
 * bounds and TLS: docs/hardening.md.
 */
import { readFileSync } from 'node:fs';
import type { Http2SecureServer } from 'node:http2';
import { createSecureContext } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { loadProtoPackageDefinition, rateLimitServiceDefinition, type RateLimitServiceImplementation } from '../rls/codec.js';
import type { Tracing } from '../observe/tracing.js';
import type { RateLimitService } from '../service/rate-limit-service.js';
import { clientSanCheck, type PeerCheck, refuseFailingPeers } from './client-san.js';
import { removeStaleSocket } from '../transport/unix-socket.js';
import { healthAnswer, unknownServiceDetails, watchHealth } from './health-service.js';
import type { HealthState } from './health.js';
import { answerShouldRateLimit } from './should-rate-limit-call.js';
import { GRPC_CONNECTION_LIMITS, type GrpcConnectionLimits } from '../settings/grpc-connection-limits.js';

export interface GrpcServerOptions {
  readonly service: RateLimitService;
  readonly health: HealthState;
  readonly maxMessageBytes: number;
  /** Overrides of GRPC_CONNECTION_LIMITS (tests shorten the timers). */
  readonly connectionLimits?: Partial<GrpcConnectionLimits>;
  /**
   * Told the status code of every ShouldRateLimit call (metrics). Counted here, where codes are
   * decided, rather than by a grpc-js interceptor, which measurably slowed every call.
   */
  readonly onCallEnd?: (code: grpc.status) => void;
  /** A server span per ShouldRateLimit call; absent when tracing is off (then nothing is paid per call). */
  readonly tracing?: Tracing;
}

/** Responses are small (one status per descriptor); this only guards against a runaway encoder. */
export const MAX_SEND_MESSAGE_BYTES = 4 * 1024 * 1024;

/** The caller's deadline in epoch ms, or undefined without one. */
function deadlineOf(call: grpc.ServerUnaryCall<unknown, unknown>): number | undefined {
  const deadline = call.getDeadline();
  const ms = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(ms) ? ms : undefined;
}

/**
 * A message over maxMessageBytes is refused by grpc-js before it reaches the codec, with
 * RESOURCE_EXHAUSTED ("Received message larger than max"): the status gRPC defines for it.
 */
function serverOptions(maxMessageBytes: number, limits: GrpcConnectionLimits): grpc.ServerOptions {
  return {
    'grpc.max_receive_message_length': maxMessageBytes,
    'grpc.max_send_message_length': MAX_SEND_MESSAGE_BYTES,
    'grpc.max_concurrent_streams': limits.maxConcurrentStreams,
    'grpc.keepalive_time_ms': limits.keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': limits.keepaliveTimeoutMs,
    'grpc.max_connection_idle_ms': limits.maxConnectionIdleMs,
    'grpc.max_connection_age_ms': limits.maxConnectionAgeMs,
    'grpc.max_connection_age_grace_ms': limits.maxConnectionAgeGraceMs,
  };
}

interface HealthCheckRequest {
  service: string;
}

function healthImplementation(health: HealthState): grpc.UntypedServiceImplementation {
  return {
    Check(call: grpc.ServerUnaryCall<HealthCheckRequest, unknown>, callback: grpc.sendUnaryData<unknown>) {
      const status = healthAnswer(health, call.request.service);
      if (status === 'SERVICE_UNKNOWN') callback({ code: grpc.status.NOT_FOUND, details: unknownServiceDetails(call.request.service) });
      else callback(null, { status });
    },
    Watch(call: grpc.ServerWritableStream<HealthCheckRequest, unknown>) {
      const stop = watchHealth(health, call.request.service, (status) => call.write({ status }));
      call.on('cancelled', stop);
      call.on('close', stop);
    },
  };
}

export function createGrpcServer(options: GrpcServerOptions): grpc.Server {
  const server = new grpc.Server({
    ...serverOptions(options.maxMessageBytes, { ...GRPC_CONNECTION_LIMITS, ...options.connectionLimits }),
  });
  const implementation: RateLimitServiceImplementation = {
    ShouldRateLimit(call, callback) {
      void answerShouldRateLimit(options, call.request, { metadata: () => call.metadata, deadlineMs: deadlineOf(call) }).then((outcome) => {
        options.onCallEnd?.(outcome.ok ? grpc.status.OK : outcome.code);
        if (outcome.ok) callback(null, outcome.response);
        else callback({ code: outcome.code, details: outcome.details });
      });
    },
  };
  server.addService(rateLimitServiceDefinition, implementation);
  const packageDefinition = grpc.loadPackageDefinition(loadProtoPackageDefinition()) as unknown as {
    grpc: { health: { v1: { Health: { service: grpc.ServiceDefinition } } } };
  };
  server.addService(packageDefinition.grpc.health.v1.Health.service, healthImplementation(options.health));
  return server;
}

/** PEM files for the gRPC port; all absent means plaintext. */
export interface GrpcTlsFiles {
  readonly cert: string | undefined;
  readonly key: string | undefined;
  /** With a CA the port requires client certificates it signed (mTLS). */
  readonly ca: string | undefined;
  /** How often the files are read again (cert-manager rotation); new connections get the new ones. */
  readonly refreshIntervalMs: number;
  /** With `ca`: the name every client certificate must be valid for (GRPC_CLIENT_TLS_SAN). */
  readonly clientSan?: string | undefined;
}

/**
 * `watch`: start re-reading the files and resolve once they are read (bind after it, or the first
 * handshakes find no certificate); `close`: stop re-reading them (after the server shut down);
 * `guardConnections`: after binding, close each connection whose client certificate fails the
 * client name check (a no-op without `clientSan`).
 */
export type GrpcCredentialsResult =
  | {
      ok: true;
      credentials: grpc.ServerCredentials;
      tls: 'off' | 'tls' | 'mtls';
      watch: () => Promise<void>;
      close: () => void;
      guardConnections: (server: grpc.Server, onRefused: (reason: string) => void) => void;
    }
  | { ok: false; error: string };

/**
 * grpc-js offers no hook on its TLS connections, and a per-call look at the peer certificate
 * (`call.getAuthContext()`) rebuilds it on every call (~30 µs here). Its node:http2 servers sit in a
 * private map; this reads them, and stops the start if grpc-js changed shape, rather than serve
 * without the check.
 */
function http2ServersOf(server: grpc.Server): Http2SecureServer[] {
  const servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(servers instanceof Map)) throw new Error('this grpc-js version hides its HTTP/2 servers: GRPC_CLIENT_TLS_SAN cannot be enforced');
  return [...(servers.keys() as Iterable<Http2SecureServer>)];
}

/** Checks each TLS connection once, after its handshake: as the reference, a refused one is closed. */
function guardWith(check: PeerCheck): (server: grpc.Server, onRefused: (reason: string) => void) => void {
  const guarded = new WeakSet<Http2SecureServer>();
  return (server, onRefused) => {
    const refuse = refuseFailingPeers(check, onRefused);
    for (const http2Server of http2ServersOf(server)) {
      if (guarded.has(http2Server)) continue;
      guarded.add(http2Server);
      http2Server.on('secureConnection', refuse);
    }
  };
}

function readPem(flag: string, path: string): { ok: true; pem: Buffer } | { ok: false; error: string } {
  try {
    return { ok: true, pem: readFileSync(path) };
  } catch (error) {
    return { ok: false, error: `${flag} ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}` };
  }
}

/** Server credentials from the TLS settings; a missing pair half or an unreadable file is an error. */
export function loadGrpcCredentials(files: GrpcTlsFiles): GrpcCredentialsResult {
  if (files.clientSan !== undefined && files.ca === undefined) return { ok: false, error: '--grpc-tls-client-san needs --grpc-tls-ca' };
  if (files.cert === undefined && files.key === undefined) {
    if (files.ca !== undefined) return { ok: false, error: '--grpc-tls-ca needs --grpc-tls-cert and --grpc-tls-key' };
    return {
      ok: true,
      credentials: grpc.ServerCredentials.createInsecure(),
      tls: 'off',
      watch: () => Promise.resolve(),
      close: () => undefined,
      guardConnections: () => undefined,
    };
  }
  if (files.cert === undefined || files.key === undefined) return { ok: false, error: '--grpc-tls-cert and --grpc-tls-key go together' };
  const cert = readPem('--grpc-tls-cert', files.cert);
  if (!cert.ok) return cert;
  const key = readPem('--grpc-tls-key', files.key);
  if (!key.ok) return key;
  const ca = files.ca === undefined ? undefined : readPem('--grpc-tls-ca', files.ca);
  if (ca !== undefined && !ca.ok) return ca;
  try {
    // grpc-js would only find a bad PEM at bind time; parse it now for a message naming the flags.
    createSecureContext({ cert: cert.pem, key: key.pem, ...(ca === undefined ? {} : { ca: ca.pem }) });
  } catch (error) {
    return { ok: false, error: `--grpc-tls-cert/--grpc-tls-key/--grpc-tls-ca: ${error instanceof Error ? error.message : String(error)}` };
  }
  // Read at start above for a clear message; from then on grpc-js re-reads them, and a new
  // certificate applies to new connections while live ones keep theirs.
  const provider = new grpc.experimental.FileWatcherCertificateProvider({
    certificateFile: files.cert,
    privateKeyFile: files.key,
    ...(files.ca === undefined ? {} : { caCertificateFile: files.ca }),
    refreshIntervalMs: files.refreshIntervalMs,
  });
  // grpc-js's exported signature names its parameters (ca, identity) but hands them on as
  // (identity, ca): the identity provider goes first.
  const credentials = grpc.experimental.createCertificateProviderServerCredentials(provider, ca === undefined ? null : provider, ca !== undefined);
  // Our own listener holds the watcher open from watch() to close(), so the server finds the files
  // already read when it binds.
  let onIdentity: (update: unknown) => void = () => undefined;
  const watch = () =>
    new Promise<void>((resolve) => {
      onIdentity = (update) => {
        if (update !== null) resolve();
      };
      provider.addIdentityCertificateListener(onIdentity);
    });
  return {
    ok: true,
    credentials,
    tls: ca === undefined ? 'tls' : 'mtls',
    watch,
    close: () => provider.removeIdentityCertificateListener(onIdentity),
    guardConnections: files.clientSan === undefined ? () => undefined : guardWith(clientSanCheck(files.clientSan)),
  };
}

/** Binds and resolves with the bound port (useful with port 0). */
export function bindGrpcServer(server: grpc.Server, host: string, port: number, credentials: grpc.ServerCredentials): Promise<number> {
  return bindGrpcAddress(server, host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`, credentials);
}

/** Binds gRPC to a unix socket, replacing a stale socket file there (src/transport/unix-socket.ts). */
export async function bindGrpcUnixSocket(server: grpc.Server, path: string, credentials: grpc.ServerCredentials): Promise<void> {
  await removeStaleSocket(path);
  await bindGrpcAddress(server, `unix:${path}`, credentials);
}

function bindGrpcAddress(server: grpc.Server, address: string, credentials: grpc.ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, credentials, (error, bound) => (error ? reject(error) : resolve(bound)));
  });
}
