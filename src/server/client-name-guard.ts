/**
 * GRPC_CLIENT_TLS_SAN on the node-http2 server: each TLS connection's client certificate is checked
 * once, after its handshake (src/server/client-san.ts); a refused connection is closed and logged, as
 * the reference refuses it.
 */
import type { TLSSocket } from 'node:tls';
import { clientSanCheck } from './client-san.js';

export function clientNameGuard(requiredName: string | undefined, onRefused: (reason: string) => void): { onSecureConnection?: (socket: TLSSocket) => void } {
  if (requiredName === undefined) return {};
  const check = clientSanCheck(requiredName);
  return {
    onSecureConnection(socket) {
      const verdict = check(socket.getPeerCertificate());
      if (verdict.ok) return;
      onRefused(verdict.reason);
      socket.destroy();
    },
  };
}
