/**
 * The xDS client over TLS against a server that, like Envoy Gateway's, speaks TLS 1.3 only and
 * requires and verifies a client certificate; the server certificate names only `xds.internal`, so
 * dialling 127.0.0.1 needs `--xds-tls-san`.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { XdsConnectionEvent } from '../../src/config/index.js';
import { loadXdsCredentials } from '../../src/config/xds-credentials.js';
import { Code } from '../../src/rls/codec.js';
import { makeCertificates } from '../support/certificates.js';
import { request, startTestSidecar } from '../support/sidecar.js';
import { startBareXdsClient } from '../support/xds/bare-client.js';
import { TestXdsServer } from '../support/xds/xds-server.js';

let dir: string;
let xds: TestXdsServer;
const file = (name: string) => join(dir, name);

/** Server credentials requiring a client certificate signed by the CA, and TLS 1.3. */
function mutualTls13(): grpc.ServerCredentials {
  const credentials = grpc.ServerCredentials.createSsl(
    readFileSync(file('ca.crt')),
    [{ private_key: readFileSync(file('server.key')), cert_chain: readFileSync(file('server.crt')) }],
    true,
  );
  // grpc-js has no option for the TLS version; its secure context options are where Node takes it.
  const withOptions = credentials as unknown as { _getSecureContextOptions(): object };
  const options = withOptions._getSecureContextOptions();
  withOptions._getSecureContextOptions = () => ({ ...options, minVersion: 'TLSv1.3' });
  return credentials;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rg-xds-tls-'));
  makeCertificates(dir, 'DNS:xds.internal');
  xds = await TestXdsServer.start({ credentials: mutualTls13() });
  xds.setSnapshot('1', [{ name: 'tls', domain: 'tls', descriptors: [{ key: 'user', rateLimit: { unit: 'SECOND', requestsPerUnit: 5 } }] }]);
});
afterAll(async () => {
  await xds.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The first stream ending of a bare xDS client with these TLS files. */
function firstDisconnect(tls: { cert?: string; key?: string; san?: string }): Promise<XdsConnectionEvent> {
  const credentials = loadXdsCredentials({ useTls: true, cert: tls.cert, key: tls.key, ca: file('ca.crt') });
  if (!credentials.ok) throw new Error(credentials.error);
  return new Promise((resolve) => {
    const watcher = startBareXdsClient(xds.address, {
      credentials: credentials.credentials,
      serverName: tls.san,
      onConnection: (event) => {
        if (event.type !== 'disconnected') return;
        void watcher.close();
        resolve(event);
      },
    });
  });
}

describe('xDS over mutual TLS 1.3', () => {
  it('connects with the client certificate, the CA and the SAN override; the pushed config decides', async () => {
    const rg = await startTestSidecar({}, [
      '--config-type',
      'GRPC_XDS_SOTW',
      '--xds-server-url',
      xds.address,
      '--xds-tls',
      '--xds-tls-cert',
      file('client.crt'),
      '--xds-tls-key',
      file('client.key'),
      '--xds-tls-ca',
      file('ca.crt'),
      '--xds-tls-san',
      'xds.internal',
    ]);
    try {
      expect(await xds.answerTo('1')).toMatchObject({ versionInfo: '1', errorDetail: undefined, clientCertificate: 'client' });
      expect((await rg.call(request('tls', [['user', 'u']]))).statuses[0]).toMatchObject({ code: Code.OK, limitRemaining: 4 });
    } finally {
      await rg.stop();
    }
  });

  it('without a client certificate the server refuses the stream', async () => {
    const before = xds.requests.length;
    const event = await firstDisconnect({ san: 'xds.internal' });
    expect(event).toMatchObject({ type: 'disconnected', code: grpc.status.UNAVAILABLE });
    expect(xds.requests.length).toBe(before);
  });

  it('without the SAN override the server certificate does not match 127.0.0.1', async () => {
    const event = await firstDisconnect({ cert: file('client.crt'), key: file('client.key') });
    expect(event).toMatchObject({ type: 'disconnected', code: grpc.status.UNAVAILABLE });
    expect(event.type === 'disconnected' && event.details).toMatch(/altnames|certificate/i);
  });

  it('refuses a certificate without its key at start', () => {
    expect(loadXdsCredentials({ useTls: true, cert: file('client.crt'), key: undefined, ca: undefined })).toEqual({
      ok: false,
      error: 'CONFIG_GRPC_XDS_CLIENT_TLS_CERT and CONFIG_GRPC_XDS_CLIENT_TLS_KEY go together',
    });
  });
});
