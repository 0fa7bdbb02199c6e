/**
 * The channel credentials of the xDS client, read once at start: plaintext, or TLS 1.3 (as the
 * reference dials Envoy Gateway's control plane) with an optional client certificate for mutual TLS
 * and an optional CA bundle (the system roots without one).
 */
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import * as grpc from '@grpc/grpc-js';

export interface XdsTlsFiles {
  readonly useTls: boolean;
  readonly cert: string | undefined;
  readonly key: string | undefined;
  readonly ca: string | undefined;
}

export type XdsCredentialsResult = { ok: true; credentials: grpc.ChannelCredentials } | { ok: false; error: string };

export function loadXdsCredentials(files: XdsTlsFiles): XdsCredentialsResult {
  if (!files.useTls) return { ok: true, credentials: grpc.credentials.createInsecure() };
  if ((files.cert === undefined) !== (files.key === undefined)) {
    return { ok: false, error: 'CONFIG_GRPC_XDS_CLIENT_TLS_CERT and CONFIG_GRPC_XDS_CLIENT_TLS_KEY go together' };
  }
  try {
    const context = createSecureContext({
      minVersion: 'TLSv1.3',
      ...(files.ca === undefined ? {} : { ca: readFileSync(files.ca) }),
      ...(files.cert === undefined ? {} : { cert: readFileSync(files.cert), key: readFileSync(files.key!) }),
    });
    return { ok: true, credentials: grpc.credentials.createFromSecureContext(context) };
  } catch (error) {
    return { ok: false, error: `xDS client TLS files: ${error instanceof Error ? error.message : String(error)}` };
  }
}
