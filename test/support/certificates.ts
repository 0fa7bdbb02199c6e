/** Test certificates made by the openssl CLI: a CA, a server certificate and client certificates signed by it. */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { stdio: 'pipe' });
}

/**
 * Writes `ca.crt`/`ca.key`, `server.crt`/`server.key` (for `serverAltNames`, by default
 * 127.0.0.1 and localhost) and `client.crt`/`client.key` into `dir`.
 */
export function makeCertificates(dir: string, serverAltNames = 'IP:127.0.0.1,DNS:localhost'): void {
  const file = (name: string) => join(dir, name);
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=rateguard test CA', '-keyout', file('ca.key'), '-out', file('ca.crt'));
  makeSignedCertificate(dir, 'server', `subjectAltName=${serverAltNames}\nextendedKeyUsage=serverAuth`);
  makeSignedCertificate(dir, 'client', 'extendedKeyUsage=clientAuth');
}

/**
 * Writes `<name>.crt`/`<name>.key` into `dir`, signed by the `ca.crt`/`ca.key` already there, with
 * the given openssl extensions (e.g. `subjectAltName=DNS:envoy.example\nextendedKeyUsage=clientAuth`)
 * and `/CN=<name>`.
 */
export function makeSignedCertificate(dir: string, name: string, extensions: string): void {
  const file = (suffix: string) => join(dir, `${name}${suffix}`);
  writeFileSync(file('.ext'), `${extensions}\n`);
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`, '-keyout', file('.key'), '-out', file('.csr'));
  openssl(
    'x509',
    '-req',
    '-in',
    file('.csr'),
    '-CA',
    join(dir, 'ca.crt'),
    '-CAkey',
    join(dir, 'ca.key'),
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    file('.ext'),
    '-out',
    file('.crt'),
  );
}
