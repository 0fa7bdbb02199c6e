/**
 * TLS files that rotate (cert-manager, a Kubernetes Secret's atomic rename): read every
 * `refreshIntervalMs`, and when their bytes changed, handed to the server as its new secure context.
 * New connections get the new certificate, live ones keep theirs. A pair that does not load (a
 * rotation caught half-way, a file gone) keeps the last good one serving and is tried again next time.
 */
import { readFile } from 'node:fs/promises';
import { createSecureContext, type SecureContextOptions } from 'node:tls';

export interface TlsFiles {
  readonly cert: string;
  readonly key: string;
  /** With a CA, clients must present a certificate it signed (mTLS). */
  readonly ca: string | undefined;
  readonly refreshIntervalMs: number;
}

export interface TlsPems {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer | undefined;
}

async function readPems(files: TlsFiles): Promise<TlsPems> {
  const [cert, key, ca] = await Promise.all([readFile(files.cert), readFile(files.key), files.ca === undefined ? undefined : readFile(files.ca)]);
  return { cert, key, ca };
}

export function contextOptions(pems: TlsPems): SecureContextOptions {
  return { cert: pems.cert, key: pems.key, ...(pems.ca === undefined ? {} : { ca: pems.ca }) };
}

function samePems(a: TlsPems, b: TlsPems): boolean {
  return a.cert.equals(b.cert) && a.key.equals(b.key) && (a.ca === undefined ? b.ca === undefined : b.ca !== undefined && a.ca.equals(b.ca));
}

/** Re-reads `files` until stopped; `apply` gets each new pair that loads. Returns the stop function. */
export function watchTlsFiles(files: TlsFiles, initial: TlsPems, apply: (options: SecureContextOptions) => void): () => void {
  let current = initial;
  let timer: NodeJS.Timeout | undefined;
  const refresh = async () => {
    const next = await readPems(files).catch(() => undefined);
    if (next !== undefined && !samePems(next, current)) {
      const options = contextOptions(next);
      if (loads(options)) {
        current = next;
        apply(options);
      }
    }
    if (timer !== undefined) schedule();
  };
  const schedule = () => {
    timer = setTimeout(() => void refresh(), files.refreshIntervalMs);
    timer.unref();
  };
  schedule();
  return () => {
    clearTimeout(timer);
    timer = undefined;
  };
}

function loads(options: SecureContextOptions): boolean {
  try {
    createSecureContext(options);
    return true;
  } catch {
    return false; // a half-rotated pair: the next refresh tries again
  }
}
