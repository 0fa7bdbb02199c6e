/**
 * The soak: a sidecar on Redis (its own process) under steady gRPC load for a bounded time, while
 * Redis is restarted and the config reloaded several times. Every call is accounted for: answered
 * (OK / OVER_LIMIT, or UNAVAILABLE while Redis is down) or not; decisions are checked; RSS and
 * event-loop delay are sampled. `npm run soak` (bench/soak/main.ts) and test/soak run it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Code, RateLimitServiceClient, type RateLimitResponse, shouldRateLimit } from '../../src/rls/codec.js';
import { spawnNode } from '../../test/support/processes.js';
import { startRedis } from '../../test/support/redis-server.js';
import { LOOPBACK_FREE_PORTS } from '../../test/support/serve-args.js';

export interface SoakOptions {
  readonly durationMs: number;
  /** Calls per second, spread evenly. */
  readonly rate: number;
  readonly redisRestarts: number;
  readonly configReloads: number;
  /** Samples before this are warm-up: RSS growth is measured from its end. */
  readonly warmupMs: number;
  /** Allowed RSS growth after warm-up, as a fraction (0.1 = 10%). */
  readonly maxRssGrowth: number;
  readonly log: (line: string) => void;
}

export interface SoakSample {
  readonly atMs: number;
  readonly rssBytes: number;
  readonly heapBytes: number;
  readonly eventLoopP50Ms: number;
  readonly eventLoopP99Ms: number;
  readonly eventLoopMaxMs: number;
}

export interface SoakReport {
  readonly sent: number;
  readonly answered: number;
  readonly decided: number;
  readonly unavailable: number;
  /** gRPC errors other than UNAVAILABLE, plus answers that break a decision rule. */
  readonly decisionErrors: number;
  readonly errorSamples: readonly string[];
  readonly burstsChecked: number;
  readonly redisRestarts: number;
  readonly configReloads: number;
  readonly rssGrowth: number;
  readonly samples: readonly SoakSample[];
  readonly passed: boolean;
}

/** A call not answered within this counts as lost (far above the sidecar's 200 ms Redis bound). */
const CALL_DEADLINE_MS = 5_000;
/** A burst of 6 calls on one identity of `tight` (5 per minute) must answer exactly 5 OK, then OVER_LIMIT. */
const BURST = 6;

const config = (generation: number) => `
domain: soak
descriptors:
  - key: k
    rate_limit: { unit: second, requests_per_unit: 100000 }
  - key: tight
    rate_limit: { unit: minute, requests_per_unit: 5 }
  - key: generation
    value: "${generation}"
    rate_limit: { unit: hour, requests_per_unit: ${generation + 1} }
`;

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const redis = await startRedis({ name: 'soak-redis' });
  const dir = mkdtempSync(join(tmpdir(), 'rg-soak-'));
  writeFileSync(join(dir, 'soak.yaml'), config(0));
  const child = spawnNode(new URL('./soak-sidecar.ts', import.meta.url).pathname, ['--config', dir, '--redis', redis.url, ...LOOPBACK_FREE_PORTS]);
  const samples: SoakSample[] = [];
  let configReloads = 0;
  const started = Date.now();
  const ready = JSON.parse(await child.waitForLine(/"soak":"ready"/, 30_000)) as { grpcPort: number };
  createInterface({ input: child.process.stdout }).on('line', (line) => {
    if (line.includes('"soak":"sample"')) samples.push({ atMs: Date.now() - started, ...(JSON.parse(line) as Omit<SoakSample, 'atMs'>) });
    else if (line.includes('"config loaded"') && line.includes('"change"')) configReloads++;
  });

  const client = new RateLimitServiceClient(`127.0.0.1:${ready.grpcPort}`, grpc.credentials.createInsecure());
  const counts = { sent: 0, answered: 0, decided: 0, unavailable: 0, decisionErrors: 0, burstsChecked: 0 };
  const errorSamples: string[] = [];
  const decisionError = (what: string) => {
    counts.decisionErrors++;
    if (errorSamples.length < 20) errorSamples.push(`${((Date.now() - started) / 1000).toFixed(1)} s: ${what}`);
  };
  const inFlight = new Set<Promise<void>>();
  /** One call, accounted for whatever happens; resolves with the answer or undefined. */
  const send = (value: string, key: 'k' | 'tight'): Promise<RateLimitResponse | undefined> => {
    counts.sent++;
    const call = shouldRateLimit(
      client,
      { domain: 'soak', descriptors: [{ entries: [{ key, value }] }], hitsAddend: 0 },
      { deadline: Date.now() + CALL_DEADLINE_MS },
    ).then(
      (response) => {
        counts.answered++;
        counts.decided++;
        return response;
      },
      (error: grpc.ServiceError) => {
        if (error.code === grpc.status.UNAVAILABLE) {
          counts.answered++;
          counts.unavailable++;
        } else decisionError(`gRPC ${grpc.status[error.code]}: ${error.details}`);
        return undefined;
      },
    );
    const tracked = call.then(() => undefined);
    inFlight.add(tracked);
    void tracked.then(() => inFlight.delete(tracked));
    return call;
  };

  let bursts = 0;
  const burst = async () => {
    const identity = `burst-${++bursts}`;
    const codes: (number | undefined)[] = [];
    for (let i = 0; i < BURST; i++) codes.push((await send(identity, 'tight'))?.overallCode);
    if (codes.includes(undefined)) return; // an outage in the middle: nothing to check
    counts.burstsChecked++;
    const expected = [Code.OK, Code.OK, Code.OK, Code.OK, Code.OK, Code.OVER_LIMIT];
    if (codes.join() !== expected.join()) decisionError(`burst ${identity}: ${codes.join(',')}`);
  };

  // Steady load on `k` (always OK): whatever the timer jitter, the calls owed by the clock are sent
  // each tick. A burst on `tight` once a second.
  const tickMs = 10;
  const loadStarted = Date.now();
  let steady = 0;
  let burstsStarted = 0;
  const load = setInterval(() => {
    const elapsed = Date.now() - loadStarted;
    for (const owed = Math.floor((elapsed * options.rate) / 1000); steady < owed; steady++) {
      const identity = `steady-${steady % 1000}`;
      void send(identity, 'k').then((response) => {
        if (response !== undefined && response.overallCode !== Code.OK) decisionError(`k ${identity}: ${response.overallCode}`);
      });
    }
    if (burstsStarted < Math.floor(elapsed / 1000)) {
      burstsStarted++;
      void burst();
    }
  }, tickMs);

  // Disruptions spread over the run, after warm-up.
  const events = [
    ...Array.from({ length: options.redisRestarts }, (_, i) => ({ at: (i + 1) / (options.redisRestarts + 1), kind: 'restart' as const })),
    ...Array.from({ length: options.configReloads }, (_, i) => ({ at: (i + 0.5) / (options.configReloads + 0.5), kind: 'reload' as const })),
  ].sort((a, b) => a.at - b.at);
  const span = options.durationMs - options.warmupMs;
  let restarts = 0;
  let generation = 0;
  for (const event of events) {
    const wait = started + options.warmupMs + event.at * span - Date.now();
    if (wait > 0) await sleep(wait);
    if (event.kind === 'restart') {
      options.log(`soak: restarting redis at ${((Date.now() - started) / 1000).toFixed(1)} s`);
      await redis.restart();
      restarts++;
      options.log(`soak: redis restarted (${restarts}) at ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } else {
      writeFileSync(join(dir, 'soak.yaml'), config(++generation));
      options.log(`soak: config generation ${generation} written at ${Math.round((Date.now() - started) / 1000)} s`);
    }
  }
  await sleep(started + options.durationMs - Date.now());
  clearInterval(load);
  while (inFlight.size > 0) await Promise.all([...inFlight]);
  client.close();
  await child.stop();
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });

  const settled = samples.filter((s) => s.atMs >= options.warmupMs);
  const base = median(settled.slice(0, 5).map((s) => s.rssBytes));
  const end = median(settled.slice(-5).map((s) => s.rssBytes));
  const rssGrowth = base > 0 ? end / base - 1 : 0;
  const report = { ...counts, errorSamples, redisRestarts: restarts, configReloads, rssGrowth, samples };
  const passed =
    report.answered === report.sent &&
    report.decisionErrors === 0 &&
    report.redisRestarts === options.redisRestarts &&
    report.configReloads >= options.configReloads &&
    rssGrowth <= options.maxRssGrowth;
  return { ...report, passed };
}

/** The report as a few human lines plus a sampled table. */
export function formatSoakReport(report: SoakReport, everyMs = 10_000): string {
  const mb = (b: number) => (b / 1048576).toFixed(1);
  const rows: string[] = ['   t(s)  rss(MB)  heap(MB)  loop p50/p99/max (ms)'];
  let next = 0;
  for (const s of report.samples) {
    if (s.atMs < next) continue;
    next = s.atMs + everyMs;
    rows.push(
      `${String(Math.round(s.atMs / 1000)).padStart(7)}  ${mb(s.rssBytes).padStart(7)}  ${mb(s.heapBytes).padStart(8)}  ${s.eventLoopP50Ms}/${s.eventLoopP99Ms}/${s.eventLoopMaxMs}`,
    );
  }
  return [
    `sent ${report.sent}, answered ${report.answered} (decided ${report.decided}, UNAVAILABLE (Redis down or silent) ${report.unavailable})`,
    `decision errors ${report.decisionErrors}${report.errorSamples.length > 0 ? `: ${report.errorSamples.join(' | ')}` : ''}; bursts checked ${report.burstsChecked}`,
    `redis restarts ${report.redisRestarts}, config reloads seen ${report.configReloads}`,
    `RSS growth after warm-up ${(report.rssGrowth * 100).toFixed(1)}%`,
    ...rows,
    report.passed ? 'PASS' : 'FAIL',
  ].join('\n');
}
