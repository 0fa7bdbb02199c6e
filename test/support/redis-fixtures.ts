/**
 * Vitest fixtures: start a real Redis topology in beforeAll, stop it in afterAll.
 *
 *   const redis = useRedis();
 *   it('works', async () => { const c = redis.get().client(); ... });
 *
 * Kept apart from redis-server.ts etc. so those stay importable outside the vitest runner.
 */
import { afterAll, beforeAll } from 'vitest';
import { startRedisCluster, type RedisClusterHandle, type StartRedisClusterOptions } from './redis-cluster.js';
import { startRedis, type RedisProcess, type StartRedisOptions } from './redis-server.js';
import { startRedisSentinel, type RedisSentinelHandle, type StartRedisSentinelOptions } from './redis-sentinel.js';

export interface Fixture<T> {
  /** The running topology; throws if called before beforeAll ran (e.g. at collection time). */
  get(): T;
}

function useFixture<T extends { stop(): Promise<void> }>(what: string, start: () => Promise<T>, timeoutMs: number): Fixture<T> {
  let value: T | undefined;
  beforeAll(async () => {
    value = await start();
  }, timeoutMs);
  afterAll(async () => {
    await value?.stop();
    value = undefined;
  }, timeoutMs);
  return {
    get(): T {
      if (!value) throw new Error(`${what} is not running: call .get() inside tests/hooks, not at collection time`);
      return value;
    },
  };
}

/** A standalone redis-server for the enclosing describe block (or file). */
export function useRedis(opts: StartRedisOptions = {}): Fixture<RedisProcess> {
  return useFixture('useRedis() server', () => startRedis(opts), 20_000);
}

/** A Redis Cluster (default 3 masters + 3 replicas) for the enclosing describe block. */
export function useRedisCluster(opts: StartRedisClusterOptions = {}): Fixture<RedisClusterHandle> {
  return useFixture('useRedisCluster() cluster', () => startRedisCluster(opts), 45_000);
}

/** A Sentinel deployment (master + replica + 3 sentinels) for the enclosing describe block. */
export function useRedisSentinel(opts: StartRedisSentinelOptions = {}): Fixture<RedisSentinelHandle> {
  return useFixture('useRedisSentinel() deployment', () => startRedisSentinel(opts), 45_000);
}
