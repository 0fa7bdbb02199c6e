import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** What the suite runs for real, and the Debian package that brings each. */
const NEEDED: readonly { binary: string; pkg: string }[] = [
  { binary: 'redis-server', pkg: 'redis-server' },
  { binary: 'redis-cli', pkg: 'redis-tools' },
  { binary: 'redis-sentinel', pkg: 'redis-sentinel' },
  // The dashboard's browser test drives Debian's Chromium (playwright-core never downloads one).
  { binary: 'chromium', pkg: 'chromium' },
];

function missing(): { binary: string; pkg: string }[] {
  return NEEDED.filter(({ binary }) => spawnSync('sh', ['-c', `command -v ${binary}`]).status !== 0);
}

/**
 * Makes sure the real servers and browser the tests use exist: installs them with apt-get when
 * running as root on Debian/Ubuntu, otherwise fails at once naming the command to run. No test is
 * ever skipped for a missing tool.
 */
export function ensureSystemPackages(): void {
  const absent = missing();
  if (absent.length === 0) return;
  const install = `apt-get install -y ${[...new Set(absent.map((m) => m.pkg))].join(' ')}`;
  if (process.getuid?.() === 0 && existsSync('/usr/bin/apt-get')) {
    console.log(`[rateguard tests] installing: ${install}`);
    execFileSync('sh', ['-c', `apt-get update -qq && DEBIAN_FRONTEND=noninteractive ${install} -qq`], { stdio: 'inherit' });
  }
  const still = missing();
  if (still.length > 0) {
    throw new Error(`rateguard's tests need ${still.map((m) => m.binary).join(', ')} (real servers and browser, no mocks). Install them: sudo ${install}`);
  }
}
