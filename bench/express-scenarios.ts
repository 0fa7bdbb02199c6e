/**
 * Express middleware under autocannon: each app in its own process (bench/express-server.ts), the
 * load from this one, all variants interleaved; overhead = a variant's figure minus no limiter's.
 */
import autocannon from 'autocannon';
import type { BenchContext } from './context.js';
import { EXPRESS_VARIANTS, type ExpressVariant } from './express-variants.js';
import type { Group, Metrics, Round } from './results.js';
import { spawnTracked } from './tracked-children.js';
import { type Contender, interleave } from './stats.js';

const CONNECTIONS = 10;

async function undecided(url: string): Promise<number> {
  return ((await (await fetch(`${url}__undecided`)).json()) as { undecided: number }).undecided;
}

/**
 * One measured run: valid only when every request got 200 and the limiter decided every one (a
 * limiter that failed open also answers 200).
 */
async function measured(url: string, seconds: number): Promise<Round> {
  const before = await undecided(url);
  const metrics = await cannon(url, seconds);
  const passedUndecided = (await undecided(url)) - before;
  const failed = metrics.failed ?? 0;
  const problems = [
    ...(failed > 0 ? [`${failed} requests failed or got a status other than 2xx`] : []),
    ...(passedUndecided > 0 ? [`${passedUndecided} requests passed without a decision (the store failed, the limiter failed open)`] : []),
  ];
  return problems.length === 0 ? { metrics } : { metrics, invalid: problems.join('; ') };
}

function cannon(url: string, seconds: number): Promise<Metrics> {
  return new Promise((resolve, reject) => {
    autocannon({ url, connections: CONNECTIONS, duration: seconds }, (error, result) => {
      if (error) reject(error instanceof Error ? error : new Error(String(error)));
      else {
        resolve({
          rps: result.requests.total / result.duration,
          meanMs: result.latency.mean,
          p50Ms: result.latency.p50,
          p99Ms: result.latency.p99,
          failed: result.errors + result.non2xx,
        });
      }
    });
  });
}

export async function expressGroup(ctx: BenchContext): Promise<Group> {
  ctx.progress('Express: starting one app per variant');
  const variants = Object.keys(EXPRESS_VARIANTS) as ExpressVariant[];
  const apps = variants.map((variant) => spawnTracked('bench/express-server.ts', [variant, ctx.redis.url], { NODE_ENV: 'production' }));
  try {
    const urls = await Promise.all(apps.map(async (app) => `http://127.0.0.1:${/(\d+)$/.exec(await app.waitForLine(/^express serving/, 60_000))![1]}/`));
    for (const url of urls) await cannon(url, ctx.timings.warmupSeconds); // JIT, connections, first keys
    const contenders: Contender[] = variants.map((variant, i) => ({
      id: variant,
      label: EXPRESS_VARIANTS[variant].label,
      kind: variant === 'none' ? 'baseline' : variant.startsWith('rateguard') ? 'rateguard' : 'peer',
      measure: () => measured(urls[i]!, ctx.timings.seconds),
    }));
    ctx.progress('Express: autocannon');
    return {
      id: 'express',
      title: 'Express middleware',
      description:
        `autocannon, ${CONNECTIONS} connections, \`GET /\` answered "hello" after the limiter; every limiter allows every request ` +
        '(limit 10⁹ per minute, one client) and keeps its defaults otherwise. One app per process, NODE_ENV=production; the Redis ' +
        'variants share the bench Redis. The difference columns are the overhead over no limiter.',
      commands: [
        `autocannon -c ${CONNECTIONS} -d ${ctx.timings.seconds} http://127.0.0.1:PORT/`,
        `NODE_ENV=production node --import tsx bench/express-server.ts VARIANT REDIS_URL   (VARIANT: ${variants.join(', ')})`,
      ],
      columns: [
        { metric: 'rps', label: 'req/s', digits: 0, compare: 'ratio', chart: true },
        { metric: 'meanMs', label: 'mean ms', digits: 3, compare: 'difference', chart: true },
        { metric: 'p50Ms', label: 'p50 ms', digits: 2 },
        { metric: 'p99Ms', label: 'p99 ms', digits: 2, compare: 'difference' },
        { metric: 'failed', label: 'failed', digits: 0 },
      ],
      baseline: 'none',
      compareLabel: 'vs no limiter',
      rows: await interleave(contenders, ctx.timings.rounds, ctx.progress),
    };
  } finally {
    await Promise.all(apps.map((app) => app.stop()));
  }
}
