/**
 * The memory sidecar's RSS growth per identity: `rateguard serve` (memory store) is warmed on 1,000
 * clients, then decides N distinct clients once each (bench/grpc-load.ts, its own process); the
 * growth of the sidecar's VmRSS, read 3 s after the last answer, over N. With `--live` the clients
 * hit the bench config's 1-per-hour limit, so every bucket stays in the store for the whole run;
 * without it they hit the roomy limit, whose buckets are full again at once and swept.
 *
 *   npm run build && node --import tsx bench/sidecar-rss.ts [--live] [--cli OTHER/cli/main.js] [N]   (N default 300000)
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { removeBenchConfig, startSidecarProcess } from './servers.js';

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

/** Runs bench/grpc-load.ts: `calls` calls over `keys` distinct clients; every call must be answered OK or OVER_LIMIT. */
function load(url: string, keys: number, calls: number): Promise<void> {
  const options = { url, mode: 'closed', connections: 2, streams: 100, calls, body: { bench: live ? 'flood' : 'one', keys } };
  return new Promise((resolve, reject) => {
    const child = spawn('node', ['--import', 'tsx', 'bench/grpc-load.ts', JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('exit', (code) => {
      const counts = code === 0 ? (JSON.parse(out) as { answered: number; codes: Record<string, number> }) : undefined;
      const decided = (counts?.codes.OK ?? 0) + (counts?.codes.OVER_LIMIT ?? 0);
      if (counts === undefined || counts.answered !== calls || decided !== calls) reject(new Error(`load run failed or had error answers: ${out}`));
      else resolve();
    });
  });
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
