/**
 * A Kubernetes ConfigMap volume, built the way the kubelet's atomic writer builds it:
 *   dir/..2024_01_01_00_00_00.1/<files>   the real files, one timestamped directory per version
 *   dir/..data -> ..2024_01_01_00_00_00.1  swapped atomically by renaming a new symlink over it
 *   dir/<file> -> ..data/<file>            stable user-visible names
 */
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class ConfigMapDir {
  private version = 0;
  private current: string | undefined;

  private constructor(readonly dir: string) {}

  static async create(files: Record<string, string>): Promise<ConfigMapDir> {
    const map = new ConfigMapDir(await mkdtemp(join(tmpdir(), 'rateguard-configmap-')));
    await map.update(files);
    for (const name of Object.keys(files)) await symlink(join('..data', name), join(map.dir, name));
    return map;
  }

  /** Publishes a new version: new timestamped dir, new `..data` symlink renamed over the old one. */
  async update(files: Record<string, string>): Promise<void> {
    this.version += 1;
    const versionDir = `..2024_01_01_00_00_00.${this.version}`;
    await mkdir(join(this.dir, versionDir));
    for (const [name, text] of Object.entries(files)) await writeFile(join(this.dir, versionDir, name), text);
    await symlink(versionDir, join(this.dir, '..data_tmp'));
    await rename(join(this.dir, '..data_tmp'), join(this.dir, '..data'));
    if (this.current !== undefined) await rm(join(this.dir, this.current), { recursive: true });
    this.current = versionDir;
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
