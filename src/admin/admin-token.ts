/**
 * The admin token, from `--admin-token` or `--admin-token-file` (a mounted Secret). A token file is
 * read at start (a missing or empty one stops the start) and read again whenever it changes, so a
 * rotated Secret takes effect without a restart. Never logged.
 */
import { readFile, stat } from 'node:fs/promises';
import { sameToken } from './admin-guard.js';

export type AdminTokenResult = { readonly ok: true; readonly token: string | undefined } | { readonly ok: false; readonly error: string };

interface TokenSettings {
  readonly adminToken: string | undefined;
  readonly adminTokenFile: string | undefined;
}

async function readTokenFile(path: string): Promise<AdminTokenResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    return { ok: false, error: `--admin-token-file: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  const token = text.trim();
  if (token === '') return { ok: false, error: `--admin-token-file: ${path} is empty` };
  return { ok: true, token };
}

export async function readAdminToken(settings: TokenSettings): Promise<AdminTokenResult> {
  if (settings.adminToken !== undefined && settings.adminTokenFile !== undefined) {
    return { ok: false, error: '--admin-token and --admin-token-file: give one, not both' };
  }
  if (settings.adminTokenFile === undefined) return { ok: true, token: settings.adminToken };
  return readTokenFile(settings.adminTokenFile);
}

/** What identifies one version of the file: a rewrite, a rename over it or a symlink swap changes it. */
async function fileVersion(path: string): Promise<string | undefined> {
  try {
    const s = await stat(path, { bigint: true });
    return `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch {
    return undefined;
  }
}

export class AdminToken {
  private expected: string | undefined;
  private version: string | undefined;

  private constructor(
    token: string | undefined,
    private readonly file: string | undefined,
    private readonly onUnreadable: (error: string) => void,
  ) {
    this.expected = token === '' ? undefined : token;
  }

  /** A token given as a value (or none), never re-read. */
  static fixed(token: string | undefined): AdminToken {
    return new AdminToken(token, undefined, () => {});
  }

  /** Validated once at load: both settings, a missing file or an empty one are start errors. */
  static async load(
    settings: TokenSettings,
    onUnreadable: (error: string) => void = () => {},
  ): Promise<{ ok: true; token: AdminToken } | { ok: false; error: string }> {
    const read = await readAdminToken(settings);
    if (!read.ok) return read;
    const token = new AdminToken(read.token, settings.adminTokenFile, onUnreadable);
    if (settings.adminTokenFile !== undefined) token.version = await fileVersion(settings.adminTokenFile);
    return { ok: true, token };
  }

  /** Whether a token is configured: then every mutating call needs it, from anywhere. */
  get required(): boolean {
    return this.file !== undefined || this.expected !== undefined;
  }

  /** Whether `presented` is the current token (the file re-read first if it changed). */
  async matches(presented: string): Promise<boolean> {
    await this.refresh();
    return this.expected !== undefined && sameToken(presented, this.expected);
  }

  private async refresh(): Promise<void> {
    if (this.file === undefined) return;
    const version = await fileVersion(this.file);
    if (version === this.version) return;
    this.version = version;
    const read = await readTokenFile(this.file);
    // A token file that became unreadable or empty admits no one: falling back to "no token
    // configured" would let any local caller mutate without one.
    this.expected = read.ok ? read.token : undefined;
    if (!read.ok) this.onUnreadable(read.error);
  }
}
