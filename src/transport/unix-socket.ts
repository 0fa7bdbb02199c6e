/**
 * A socket file already at a unix-socket path is what a killed process leaves behind (nothing removes
 * it), and it would stop every restart: it is removed. Any other file is kept, and the bind fails on it.
 */
import { lstat, unlink } from 'node:fs/promises';

export async function removeStaleSocket(path: string): Promise<void> {
  const existing = await lstat(path).catch(() => undefined);
  if (existing?.isSocket() === true) await unlink(path);
}
