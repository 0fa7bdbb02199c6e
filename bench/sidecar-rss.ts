/**
 * The memory sidecar's RSS growth per identity: `rateguard serve` (memory store) is warmed on 1,000
 * clients, then decides N distinct clients once each (bench/grpc-load.ts, its own process); the
 * growth of the sidecar's VmRSS, read 3 s after the last answer, over N. With `--live` the clients
 * hit the bench config's 1-per-hour limit, so every bucket stays in the store for the whole run;
 * without it they hit the roomy limit, whose buckets are full again at once and swept.
 *
 *   npm run build && node --import tsx bench/sidecar-rss.ts [--live] [--cli OTHER/cli/main.js] [N]   (N default 300000)
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { removeBenchConfig, startSidecarProcess } from './servers.js';
import { spawnLoad } from './spawn-load.js';

const live = process.argv.includes('--live');
const identities = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 300_000);
const cliAt = process.argv.indexOf('--cli');
/** Another build's CLI, to compare builds; default this checkout's dist/. */
const cli = cliAt < 0 ? undefined : process.argv[cliAt + 1];

function rssKb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (match === null) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]);
}

/** `calls` calls over `keys` distinct clients (bench/grpc-load.ts, its own process); every one must be decided. */
async function load(url: string, keys: number, calls: number): Promise<void> {
  const result = await spawnLoad({ url, mode: 'closed', connections: 2, streams: 100, calls, body: { bench: live ? 'flood' : 'one', keys } });
  const decided = (result.codes.OK ?? 0) + (result.codes.OVER_LIMIT ?? 0);
  if (result.answered !== calls || decided !== calls) throw new Error(`load run had unanswered calls or error answers: ${JSON.stringify(result)}`);
}

const sidecar = await startSidecarProcess({ label: 'rss', ...(cli === undefined ? {} : { cli }) });
try {
  await load(sidecar.url, 1_000, 50_000); // JIT, buffers, metric series
  const before = rssKb(sidecar.pid);
  await load(sidecar.url, identities, identities);
  await sleep(3_000); // let the last requests' garbage go: RSS, not a forced GC
  const after = rssKb(sidecar.pid);
  const perIdentity = ((after - before) * 1024) / identities;
  console.log(`${live ? 'live' : 'swept'} buckets, ${identities} identities: RSS ${before} → ${after} kB, ${perIdentity.toFixed(0)} B per identity`);
} finally {
  await sidecar.stop();
  removeBenchConfig();
}
