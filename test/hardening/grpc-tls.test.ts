/**
 * Optional TLS on the gRPC port (`--grpc-tls-cert/key`, mTLS with `--grpc-tls-ca`), with
 * certificates made by the openssl CLI at test time.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Code, RateLimitServiceClient, shouldRateLimit } from '../../src/rls/codec.js';
import { StartupError, startSidecar } from '../../src/server/sidecar.js';
import { resolveSettings } from '../../src/settings/settings.js';
import { makeCertificates } from '../support/certificates.js';
import { GRPC_SERVERS, grpcServerFlags } from '../support/grpc-servers.js';
import { request, startTestSidecar, type TestSidecar } from '../support/sidecar.js';
import { CALL_BOUND_MS, HARDENING_CONFIG } from './helpers.js';

let dir: string;
const file = (name: string) => join(dir, name);

function call(rg: TestSidecar, credentials: grpc.ChannelCredentials) {
  const client = new RateLimitServiceClient(`127.0.0.1:${rg.sidecar.grpcPort}`, credentials);
  return shouldRateLimit(client, request('hard', [['k', `tls-${Math.random()}`]]), { deadline: Date.now() + CALL_BOUND_MS }).finally(() => client.close());
}

const pem = (name: string) => readFileSync(file(name));

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rg-tls-'));
  makeCertificates(dir);
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The server's certificate flags (a function: the files exist once beforeAll made them). */
const serverCertificate = () => ['--grpc-tls-cert', file('server.crt'), '--grpc-tls-key', file('server.key')];

describe.each(GRPC_SERVERS)('%s', (server) => {
  describe('TLS on the gRPC port', () => {
    let rg: TestSidecar;
    beforeAll(async () => {
      rg = await startTestSidecar({ 'hard.yaml': HARDENING_CONFIG }, [...grpcServerFlags(server), ...serverCertificate()]);
    });
    afterAll(async () => {
      await rg.stop();
    });

    it('answers a client that trusts the CA', async () => {
      expect((await call(rg, grpc.credentials.createSsl(pem('ca.crt')))).overallCode).toBe(Code.OK);
    });

    it('refuses plaintext: UNAVAILABLE', async () => {
      await expect(call(rg, grpc.credentials.createInsecure())).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    });
  });

  describe('mTLS on the gRPC port', () => {
    let rg: TestSidecar;
    beforeAll(async () => {
      rg = await startTestSidecar({ 'hard.yaml': HARDENING_CONFIG }, [...grpcServerFlags(server), ...serverCertificate(), '--grpc-tls-ca', file('ca.crt')]);
    });
    afterAll(async () => {
      await rg.stop();
    });

    it('answers a client with a certificate the CA signed', async () => {
      expect((await call(rg, grpc.credentials.createSsl(pem('ca.crt'), pem('client.key'), pem('client.crt')))).overallCode).toBe(Code.OK);
    });

    it('refuses a client without a certificate: UNAVAILABLE', async () => {
      await expect(call(rg, grpc.credentials.createSsl(pem('ca.crt')))).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    });
  });
});

describe('TLS settings that cannot work stop the start with a clear message', () => {
  const start = async (flags: string[]) => {
    const resolved = resolveSettings(['--config', join(dir, 'no-such-config'), '--grpc-port', '0', '--http-port', '0', ...flags], {});
    if (!resolved.ok) throw new Error(resolved.errors.join('; '));
    return startSidecar(resolved.settings, pino({ level: 'silent' }));
  };
  it.each<[string, () => string[], () => string]>([
    ['a cert without a key', () => ['--grpc-tls-cert', file('server.crt')], () => '--grpc-tls-cert and --grpc-tls-key go together'],
    ['a CA without a cert', () => ['--grpc-tls-ca', file('ca.crt')], () => '--grpc-tls-ca needs --grpc-tls-cert and --grpc-tls-key'],
    [
      'a missing key file',
      () => ['--grpc-tls-cert', file('server.crt'), '--grpc-tls-key', file('nope.key')],
      () => `--grpc-tls-key ${file('nope.key')}: ENOENT`,
    ],
    [
      'a key that is not PEM',
      () => ['--grpc-tls-cert', file('server.crt'), '--grpc-tls-key', file('server.ext')],
      () => '--grpc-tls-cert/--grpc-tls-key/--grpc-tls-ca: error:',
    ],
    [
      'a key that does not match the cert',
      () => ['--grpc-tls-cert', file('server.crt'), '--grpc-tls-key', file('client.key')],
      () => '--grpc-tls-cert/--grpc-tls-key/--grpc-tls-ca: error:',
    ],
  ])('%s', async (_name, flags, message) => {
    const error = await start(flags()).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StartupError);
    // OpenSSL's own words follow the flags for PEM problems; they vary between OpenSSL versions.
    expect((error as Error).message.startsWith(message())).toBe(true);
  });
});
