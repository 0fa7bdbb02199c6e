import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const BINARIES = ['redis-server', 'redis-cli', 'redis-sentinel'];
const INSTALL = 'apt-get install -y redis-server redis-tools redis-sentinel';

function missing(): string[] {
  return BINARIES.filter((bin) => spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0);
}

/**
 * Makes sure the Redis binaries exist: installs them with apt-get when running as root on
 * Debian/Ubuntu, otherwise fails at once naming the command to run.
 */
export function ensureRedisInstalled(): void {
  if (missing().length === 0) return;
  const isRoot = process.getuid?.() === 0;
  if (isRoot && existsSync('/usr/bin/apt-get')) {
    console.log(`[rateguard tests] installing Redis: ${INSTALL}`);
    execFileSync('sh', ['-c', `apt-get update -qq && DEBIAN_FRONTEND=noninteractive ${INSTALL} -qq`], { stdio: 'inherit' });
  }
  const still = missing();
  if (still.length > 0) {
    throw new Error(`rateguard's tests need ${still.join(', ')} (real Redis, no mocks). Install them: sudo ${INSTALL}`);
  }
}
