/**
 * Preload for the closed-loop latency floor (bench/grpc-scenarios.ts): in a memory-store sidecar,
 * every decision first waits for one bare PING to the Redis at RG_BENCH_FLOOR_REDIS, on an ioredis
 * client of its own. That sidecar does everything a Redis-store sidecar does except the store's
 * own work (the decide function, its arguments and reply): what is left of the Redis row above it
 * is rateguard's, what is below it one round trip costs on this host. Bench-only: it patches
 * MemoryStore in the build under dist/, so it must be the same module the sidecar loads.
 * Plain JavaScript: it is loaded through NODE_OPTIONS before tsx is.
 *
 *   NODE_OPTIONS="--import=/abs/path/bench/round-trip-floor.mjs" RG_BENCH_FLOOR_REDIS=redis://127.0.0.1:PORT node dist/cli/main.js serve ...
 */
import { Redis } from 'ioredis';
import { MemoryStore } from '../dist/stores/memory-store.js';

const url = process.env.RG_BENCH_FLOOR_REDIS;
if (url) {
  const redis = new Redis(url);
  const decide = MemoryStore.prototype.decide;
  MemoryStore.prototype.decide = function decideAfterPing(plan) {
    return redis.ping().then(() => decide.call(this, plan));
  };
}
