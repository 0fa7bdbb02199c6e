/**
 * `GRPC_CLIENT_TLS_SAN`: with mutual TLS, only a client certificate valid for this name is let in.
 * The reference hands Go's `x509.Verify` the name as DNSName with the client-auth key usage; this
 * is the same check on a peer certificate, transport-neutral (any TLS server can call it once per
 * connection, after the handshake verified the chain):
 * - the name must be among the certificate's DNS SANs (a `*.` SAN covers one leftmost label), or,
 *   for an IP address, among its IP SANs; never its subject CN (Go dropped that fallback);
 * - an extended key usage extension, when present, must allow client authentication.
 */
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import type { PeerCertificate, TLSSocket } from 'node:tls';

export type PeerVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** Checks one peer certificate (undefined: the client sent none, or it did not verify). */
export type PeerCheck = (peer: PeerCertificate | undefined) => PeerVerdict;

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const ANY_EXTENDED_KEY_USAGE = '2.5.29.37.0';

/** `requiredName`: one DNS name or IP address (the settings check its form at load). */
export function clientSanCheck(requiredName: string): PeerCheck {
  const ip = isIP(requiredName) !== 0;
  return (peer) => {
    if (peer?.raw === undefined) return { ok: false, reason: 'no verified client certificate' };
    const certificate = new X509Certificate(peer.raw);
    const matches = ip
      ? certificate.checkIP(requiredName) !== undefined
      : certificate.checkHost(requiredName, { subject: 'never', wildcards: true, partialWildcards: false, multiLabelWildcards: false }) !== undefined;
    if (!matches) return { ok: false, reason: `the client certificate is not valid for ${requiredName} (its SANs: ${certificate.subjectAltName ?? 'none'})` };
    const usages = certificate.keyUsage;
    if (usages !== undefined && usages.length > 0 && !usages.includes(CLIENT_AUTH) && !usages.includes(ANY_EXTENDED_KEY_USAGE)) {
      return { ok: false, reason: 'the client certificate does not allow client authentication (extended key usage)' };
    }
    return { ok: true };
  };
}

/**
 * For a TLS server's `secureConnection` event (any transport): a connection whose client
 * certificate fails `check` is told nothing and closed, as the reference's handshake refusal.
 */
export function refuseFailingPeers(check: PeerCheck, onRefused: (reason: string) => void): (socket: TLSSocket) => void {
  return (socket) => {
    const verdict = check(socket.getPeerCertificate());
    if (verdict.ok) return;
    onRefused(verdict.reason);
    socket.destroy();
  };
}
