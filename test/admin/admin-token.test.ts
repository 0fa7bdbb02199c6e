import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readAdminToken } from '../../src/admin/admin-token.js';

const dir = mkdtempSync(join(tmpdir(), 'rg-token-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readAdminToken', () => {
  it('takes the flag, or the file without its surrounding whitespace', async () => {
    expect(await readAdminToken({ adminToken: 'abc', adminTokenFile: undefined })).toEqual({ ok: true, token: 'abc' });
    expect(await readAdminToken({ adminToken: undefined, adminTokenFile: undefined })).toEqual({ ok: true, token: undefined });
    writeFileSync(join(dir, 'token'), '  s3cret\n');
    expect(await readAdminToken({ adminToken: undefined, adminTokenFile: join(dir, 'token') })).toEqual({ ok: true, token: 's3cret' });
  });

  it('refuses both at once, a missing file and an empty one, without echoing a token', async () => {
    const both = await readAdminToken({ adminToken: 'abc', adminTokenFile: join(dir, 'token') });
    expect(both).toEqual({ ok: false, error: '--admin-token and --admin-token-file: give one, not both' });
    expect(await readAdminToken({ adminToken: undefined, adminTokenFile: join(dir, 'absent') })).toEqual({
      ok: false,
      error: `--admin-token-file: cannot read ${join(dir, 'absent')} (ENOENT)`,
    });
    writeFileSync(join(dir, 'empty'), '\n');
    expect(await readAdminToken({ adminToken: undefined, adminTokenFile: join(dir, 'empty') })).toEqual({
      ok: false,
      error: `--admin-token-file: ${join(dir, 'empty')} is empty`,
    });
  });
});
