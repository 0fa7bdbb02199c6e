/**
 * The memory sidecar's memory per identity: `rateguard serve` (memory store) is warmed on 1,000
 * clients, then decides N distinct clients once each (bench/grpc-load.ts, its own process). With
 * `live` the clients hit the bench config's 1-per-hour limit, so every bucket stays in the store for
 * the whole run; otherwise they hit the roomy limit, whose buckets are full again at once and swept.
 *
 * Read three ways, each as growth over N:
 * - rssPerKey: VmRSS after a compacting GC in the sidecar, before and after (bench/gc-on-signal.mjs): what
 *   the identities hold once the load's garbage is gone, as an idle sidecar settles to;
 * - bytesPerKey: the sidecar's JS heap used plus external memory (its /metrics), read the same way;
 * - rssNoGcPerKey: VmRSS 3 s after the last answer, no GC forced, before read right after the warm-up.
 *   This one counts whatever garbage each moment happens to hold: it moved from 494 to 653 B between
 *   runs of one build (bench/analysis.md).
 *
 *   npm run build && node --import tsx bench/sidecar-rss.ts [--live] [--cli OTHER/cli/main.js] [N]   (N default 300000)
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Metrics } from './results.js';
import { type GrpcTarget, removeBenchConfig, startSidecarProcess } from './servers.js';
import { spawnLoad } from './spawn-load.js';

export interface SidecarRssOptions {
  readonly identities: number;
  readonly live: boolean;
  /** Another build's CLI, to compare builds; default this checkout's dist/. */
  readonly cli?: string;
}

function rssKb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (match === null) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]);
}

/** JS heap used plus external memory, bytes, from the sidecar's own /metrics. */
async function heapBytes(sidecar: GrpcTarget): Promise<number> {
  const text = await (await fetch(sidecar.counts.metricsUrl)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  return value('nodejs_heap_size_used_bytes') + value('nodejs_external_memory_bytes');
}

/** `calls` calls over `keys` distinct clients; every one must be decided. */
async function load(url: string, live: boolean, keys: number, calls: number): Promise<void> {
  const result = await spawnLoad({ url, mode: 'closed', connections: 2, streams: 100, calls, body: { bench: live ? 'flood' : 'one', keys } });
  const decided = (result.codes.OK ?? 0) + (result.codes.OVER_LIMIT ?? 0);
  if (result.answered !== calls || decided !== calls) throw new Error(`load run had unanswered calls or error answers: ${JSON.stringify(result)}`);
}

export async function measureSidecarRss({ identities, live, cli }: SidecarRssOptions): Promise<Metrics> {
  const sidecar = await startSidecarProcess({ label: 'rss', collectGarbageOnSignal: true, ...(cli === undefined ? {} : { cli }) });
  try {
    await load(sidecar.url, live, 1_000, 50_000); // JIT, buffers, metric series
    const rssNoGcBefore = rssKb(sidecar.pid);
    await sidecar.collectGarbage();
    const before = { rss: rssKb(sidecar.pid), heap: await heapBytes(sidecar) };
    await load(sidecar.url, live, identities, identities);
    await sleep(3_000); // the no-GC reading is defined as 3 s after the last answer
    const rssNoGcAfter = rssKb(sidecar.pid);
    await sidecar.collectGarbage();
    const after = { rss: rssKb(sidecar.pid), heap: await heapBytes(sidecar) };
    return {
      rssPerKey: ((after.rss - before.rss) * 1024) / identities,
      bytesPerKey: (after.heap - before.heap) / identities,
      rssNoGcPerKey: ((rssNoGcAfter - rssNoGcBefore) * 1024) / identities,
      keys: identities,
    };
  } finally {
    await sidecar.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const live = process.argv.includes('--live');
  const identities = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 300_000);
  const cliAt = process.argv.indexOf('--cli');
  try {
    const m = await measureSidecarRss({ identities, live, ...(cliAt < 0 ? {} : { cli: process.argv[cliAt + 1]! }) });
    console.log(
      `${live ? 'live' : 'swept'} buckets, ${identities} identities, B per identity: RSS after a full GC ${m.rssPerKey!.toFixed(0)}, ` +
        `JS heap + external after a full GC ${m.bytesPerKey!.toFixed(0)}, RSS 3 s after the load with no GC ${m.rssNoGcPerKey!.toFixed(0)}`,
    );
  } finally {
    removeBenchConfig();
  }
}
