/**
 * Store-level decisions per second, no HTTP: one contender per process, driven over stdin so the
 * parent can interleave contenders. `run ID C S` keeps C decisions in flight for S seconds (closed
 * loop) and prints `result ID {"rps":...,"decisions":...}`. Keys rotate over 10 000 clients; limits never
 * deny. `rateguard-5` decides five buckets per plan (five descriptors of one request).
 *
 *   node --import tsx bench/store-level.ts rateguard|rateguard-5|flexible|flexible-pipelined REDIS_URL
 */
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import type { Plan } from '../src/index.js';
import { rateguard } from './rateguard-build.js';

const ROOMY = 1_000_000_000;
const CLIENTS = 10_000;

type Decide = (client: number) => Promise<unknown>;

async function rateguardStore(url: string, bucketsPerPlan: number): Promise<Decide> {
  const store = new rateguard.RedisStore({ url, timeoutMs: 5000 });
  await store.ready(5000);
  const limit = rateguard.tokenBucket({ capacity: ROOMY, refillTokens: ROOMY, periodUs: 60_000_000 });
  const plans: Plan[] = Array.from({ length: CLIENTS }, (_, i) => ({
    mode: 'all_or_nothing',
    buckets: Array.from({ length: bucketsPerPlan }, (_, b) => ({ key: `store-bench:rateguard:${b}:${i}`, limit, cost: 1 })),
  }));
  return (client) => store.decide(plans[client]!);
}

/** rate-limiter-flexible as its README sets it up (offline queue off); optionally with ioredis auto-pipelining too. */
async function flexible(url: string, autoPipelining: boolean): Promise<Decide> {
  const client = new Redis(url, { enableOfflineQueue: false, enableAutoPipelining: autoPipelining });
  await new Promise<void>((resolve) => client.once('ready', () => resolve()));
  const limiter = new RateLimiterRedis({ storeClient: client, points: ROOMY, duration: 60, keyPrefix: 'store-bench:flexible' });
  return (i) => limiter.consume(String(i));
}

async function measure(decide: Decide, concurrency: number, seconds: number): Promise<{ rps: number; decisions: number; failed: number }> {
  let next = 0;
  let done = 0;
  let failed = 0;
  const deadline = performance.now() + seconds * 1000;
  const loop = async () => {
    while (performance.now() < deadline) {
      const client = next;
      next = (next + 1) % CLIENTS;
      try {
        await decide(client);
        done++;
      } catch {
        failed++;
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, loop));
  return { rps: done / ((performance.now() - started) / 1000), decisions: done, failed };
}

const [contender, url] = process.argv.slice(2) as [string, string];
const decide =
  contender === 'rateguard'
    ? await rateguardStore(url, 1)
    : contender === 'rateguard-5'
      ? await rateguardStore(url, 5)
      : contender === 'flexible'
        ? await flexible(url, false)
        : contender === 'flexible-pipelined'
          ? await flexible(url, true)
          : undefined;
if (decide === undefined) throw new Error(`unknown contender ${contender}`);
await measure(decide, 16, 0.5); // warm-up: JIT, script load, connection
console.log('ready');
for await (const line of createInterface({ input: process.stdin })) {
  const [command, id, concurrency, seconds] = line.split(' ');
  if (command !== 'run') break;
  console.log(`result ${id} ${JSON.stringify(await measure(decide, Number(concurrency), Number(seconds)))}`);
}
process.exit(0);
