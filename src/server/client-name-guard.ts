/**
 * GRPC_CLIENT_TLS_SAN on the node-http2 server: each TLS connection's client certificate checked once,
 * after its handshake, by the guard grpc-js's server uses too (src/server/client-san.ts).
 */
import type { TLSSocket } from 'node:tls';
import { clientSanCheck, refuseFailingPeers } from './client-san.js';

export function clientNameGuard(requiredName: string | undefined, onRefused: (reason: string) => void): { onSecureConnection?: (socket: TLSSocket) => void } {
  return requiredName === undefined ? {} : { onSecureConnection: refuseFailingPeers(clientSanCheck(requiredName), onRefused) };
}
