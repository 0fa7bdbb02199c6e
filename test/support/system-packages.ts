import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

interface Needed {
  /** What is needed, for messages. */
  readonly binary: string;
  /** A shell command that succeeds when it is there. */
  readonly check: string;
  readonly pkg: string;
}

const onPath = (binary: string, pkg: string): Needed => ({ binary, check: `command -v ${binary}`, pkg });

/** The interpreter the gRPC C-core client test runs: Debian's own, where python3-grpcio installs. */
export const DEBIAN_PYTHON = '/usr/bin/python3';

/** What the suite runs for real, and the Debian package that brings each. */
const NEEDED: readonly Needed[] = [
  onPath('redis-server', 'redis-server'),
  onPath('redis-cli', 'redis-tools'),
  onPath('redis-sentinel', 'redis-sentinel'),
  // The dashboard's browser test drives Debian's Chromium (playwright-core never downloads one).
  onPath('chromium', 'chromium'),
  // The image test runs the service as UID 65534 and traces its file calls (a read-only root filesystem).
  onPath('strace', 'strace'),
  onPath('setpriv', 'util-linux'),
  // The gRPC load generator of the load tests (answers are counted by grpc-status, not by h2load).
  onPath('h2load', 'nghttp2-client'),
  // A second gRPC client implementation (C-core, as Envoy's own gRPC stack is C++).
  { binary: `${DEBIAN_PYTHON} with grpcio`, check: `${DEBIAN_PYTHON} -c "import grpc"`, pkg: 'python3-grpcio' },
];

function missing(): Needed[] {
  return NEEDED.filter(({ check }) => spawnSync('sh', ['-c', check], { stdio: 'ignore' }).status !== 0);
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
