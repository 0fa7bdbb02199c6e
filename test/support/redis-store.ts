/** A RedisStore on a redis-server of its own, for tests that decide on Redis through the store. */
import { RedisStore } from '../../src/stores/redis/redis-store.js';
import { type RedisProcess, startRedis } from './redis-server.js';

export interface RedisStoreOnServer {
  readonly server: RedisProcess;
  readonly store: RedisStore;
  /** Closes the store, then stops its server. */
  stop(): Promise<void>;
}

/** Starts a redis-server and a RedisStore on it, ready (its first round trip done). */
export async function startRedisStore(): Promise<RedisStoreOnServer> {
  const server = await startRedis();
  const store = new RedisStore({ url: server.url, timeoutMs: 2000 });
  await store.ready();
  return {
    server,
    store,
    async stop() {
      await store.close();
      await server.stop();
    },
  };
}
