#!/usr/bin/env node
/**
 * `npm run demo` (memory) / `npm run demo:redis` (REDIS_URL, default redis://localhost:6379):
 * the demo API on PORT (default 3000) with local limiters.
 */
import { createLogger } from '../observe/logger.js';
import { MemoryStore } from '../stores/memory-store.js';
import { RedisStore } from '../stores/redis/redis-store.js';
import { createDemoApp, localDemoLimits } from './demo-app.js';
import { serveDemo } from './serve-demo.js';

const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'info' });
const useRedis = process.argv.includes('--redis');
const store = useRedis ? new RedisStore({ url: process.env.REDIS_URL ?? 'redis://localhost:6379' }) : new MemoryStore();
const limits = localDemoLimits(store, useRedis ? 'redis' : 'memory', logger);
const server = await serveDemo(createDemoApp(limits, process.env.ADMIN_TOKEN), Number(process.env.PORT ?? 3000), logger);
const shutdown = () => void server.close().then(() => limits.close()).then(() => process.exit(0));
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
