#!/usr/bin/env node
/**
 * `npm run demo` (memory) / `npm run demo:redis` (REDIS_URL, default redis://localhost:6379):
 * the demo API on PORT (default 3000).
 */
import { createLogger } from '../observe/logger.js';
import { MemoryStore } from '../stores/memory-store.js';
import { RedisStore } from '../stores/redis/redis-store.js';
import { createDemoApp } from './demo-app.js';

const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'info' });
const useRedis = process.argv.includes('--redis');
const port = Number(process.env.PORT ?? 3000);
const store = useRedis ? new RedisStore({ url: process.env.REDIS_URL ?? 'redis://localhost:6379' }) : new MemoryStore();
const { app } = createDemoApp({ store, storeKind: useRedis ? 'redis' : 'memory', adminToken: process.env.ADMIN_TOKEN, logger });

const server = app.listen(port, () => {
  logger.info({ port, store: useRedis ? 'redis' : 'memory' }, `demo API listening on http://localhost:${port}`);
});
const shutdown = () => {
  server.close(() => void store.close().then(() => process.exit(0)));
  server.closeAllConnections();
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
