#!/usr/bin/env node
/**
 * `npm run demo` (memory) / `npm run demo:redis` (REDIS_URL, default redis://localhost:6379):
 * the demo API on PORT (default 3000) with local limiters.
 * `--sidecar`: the limits come from a rateguard at RATEGUARD_ADDRESS (default 127.0.0.1:8081), as
 * Envoy would ask it, failing open after RATEGUARD_TIMEOUT_MS (default 250) — npm run demo:stack,
 * deploy/k8s/overlays/sidecar.
 * `--behind-proxy`: no limits in the app, Envoy in front asks rateguard (envoy/docker-compose.yaml).
 */
import { createLogger } from '../observe/logger.js';
import { MemoryStore } from '../stores/memory-store.js';
import { RedisStore } from '../stores/redis/redis-store.js';
import { createDemoApp, type DemoLimits, localDemoLimits, sidecarDemoLimits, unlimitedDemoLimits } from './demo-app.js';
import { serveDemo } from './serve-demo.js';

const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'info' });

async function chooseLimits(argv: readonly string[]): Promise<DemoLimits> {
  if (argv.includes('--sidecar')) {
    const timeoutMs = process.env.RATEGUARD_TIMEOUT_MS === undefined ? undefined : Number(process.env.RATEGUARD_TIMEOUT_MS);
    return sidecarDemoLimits(process.env.RATEGUARD_ADDRESS ?? '127.0.0.1:8081', logger, undefined, timeoutMs);
  }
  if (argv.includes('--behind-proxy')) return unlimitedDemoLimits();
  if (!argv.includes('--redis')) return localDemoLimits(new MemoryStore(), 'memory', logger);
  const store = new RedisStore({ url: process.env.REDIS_URL ?? 'redis://localhost:6379' });
  // Calls fail at once until Redis first answers (no queue to replay): serve once connected.
  await store.ready().catch((error: unknown) => logger.warn({ err: String(error) }, 'serving before Redis answered: limits fail open until it does'));
  return localDemoLimits(store, 'redis', logger);
}

const limits = await chooseLimits(process.argv);
const app = createDemoApp(limits, process.env.ADMIN_TOKEN);
// Behind Envoy the client is the last X-Forwarded-For hop Envoy appended, not Envoy's address.
if (process.argv.includes('--behind-proxy')) app.set('trust proxy', 1);
const server = await serveDemo(app, Number(process.env.PORT ?? 3000), logger);
const shutdown = () =>
  void server
    .close()
    .then(() => limits.close())
    .then(() => process.exit(0));
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
