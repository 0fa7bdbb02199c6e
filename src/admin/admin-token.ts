/**
 * The admin token, from `--admin-token` or `--admin-token-file` (a mounted Secret). Read once at
 * start; never logged.
 */
import { readFile } from 'node:fs/promises';

export type AdminTokenResult = { readonly ok: true; readonly token: string | undefined } | { readonly ok: false; readonly error: string };

export async function readAdminToken(settings: { readonly adminToken: string | undefined; readonly adminTokenFile: string | undefined }): Promise<AdminTokenResult> {
  if (settings.adminToken !== undefined && settings.adminTokenFile !== undefined) {
    return { ok: false, error: '--admin-token and --admin-token-file: give one, not both' };
  }
  if (settings.adminTokenFile === undefined) return { ok: true, token: settings.adminToken };
  let text: string;
  try {
    text = await readFile(settings.adminTokenFile, 'utf8');
  } catch (error) {
    return { ok: false, error: `--admin-token-file: cannot read ${settings.adminTokenFile} (${(error as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  const token = text.trim();
  if (token === '') return { ok: false, error: `--admin-token-file: ${settings.adminTokenFile} is empty` };
  return { ok: true, token };
}
