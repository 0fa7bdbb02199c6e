/** Test certificates made by the openssl CLI: a CA, a server certificate and a client certificate signed by it. */
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
  for (const [name, ext] of [
    ['server', `subjectAltName=${serverAltNames}\nextendedKeyUsage=serverAuth`],
    ['client', 'extendedKeyUsage=clientAuth'],
  ] as const) {
    writeFileSync(file(`${name}.ext`), `${ext}\n`);
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`, '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`));
    openssl('x509', '-req', '-in', file(`${name}.csr`), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', file(`${name}.ext`), '-out', file(`${name}.crt`));
  }
}
