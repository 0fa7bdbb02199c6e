/**
 * The GRPC_CLIENT_TLS_SAN check on real certificates (openssl-made), case by case as Go's
 * x509.Verify with DNSName and the client-auth usage decides them. The end-to-end refusal over TLS
 * is in test/server/reference-environment.test.ts.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PeerCertificate } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientSanCheck } from '../../src/server/client-san.js';
import { makeCertificates, makeSignedCertificate } from '../support/certificates.js';

let dir: string;
/** What a TLS socket reports for a verified peer: its DER bytes are what the check reads. */
const peer = (name: string) => ({ raw: new X509Certificate(readFileSync(join(dir, `${name}.crt`))).raw }) as PeerCertificate;

const CERTIFICATES: Record<string, string> = {
  dns: 'subjectAltName=DNS:envoy.example.com\nextendedKeyUsage=clientAuth',
  wildcard: 'subjectAltName=DNS:*.example.com\nextendedKeyUsage=clientAuth',
  partial: 'subjectAltName=DNS:env*.example.com\nextendedKeyUsage=clientAuth',
  ip: 'subjectAltName=IP:10.0.0.7\nextendedKeyUsage=clientAuth',
  noUsage: 'subjectAltName=DNS:envoy.example.com',
  serverOnly: 'subjectAltName=DNS:envoy.example.com\nextendedKeyUsage=serverAuth',
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rg-san-'));
  makeCertificates(dir);
  for (const [name, extensions] of Object.entries(CERTIFICATES)) makeSignedCertificate(dir, name, extensions);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('clientSanCheck', () => {
  it.each<[required: string, certificate: string, admitted: boolean]>([
    ['envoy.example.com', 'dns', true],
    ['ENVOY.Example.com', 'dns', true],
    ['other.example.com', 'dns', false],
    ['envoy.example.com', 'wildcard', true],
    ['a.envoy.example.com', 'wildcard', false],
    ['example.com', 'wildcard', false],
    ['envoy.example.com', 'partial', false],
    ['10.0.0.7', 'ip', true],
    ['10.0.0.8', 'ip', false],
    ['10.0.0.7', 'dns', false],
    ['envoy.example.com', 'noUsage', true],
    ['envoy.example.com', 'serverOnly', false],
  ])('%s against the %s certificate: admitted %s', (required, certificate, admitted) => {
    expect(clientSanCheck(required)(peer(certificate)).ok).toBe(admitted);
  });

  it('says why it refuses', () => {
    expect(clientSanCheck('other.example.com')(peer('dns'))).toEqual({
      ok: false,
      reason: 'the client certificate is not valid for other.example.com (its SANs: DNS:envoy.example.com)',
    });
    expect(clientSanCheck('envoy.example.com')(peer('serverOnly'))).toEqual({
      ok: false,
      reason: 'the client certificate does not allow client authentication (extended key usage)',
    });
    expect(clientSanCheck('envoy.example.com')(undefined)).toEqual({ ok: false, reason: 'no verified client certificate' });
  });
});
