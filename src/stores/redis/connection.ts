import { Redis, type Cluster, type RedisOptions } from 'ioredis';

export type RedisClient = Redis | Cluster;

/** Where to connect when rateguard creates the client itself. */
export interface RedisConnectionOptions {
  /** `redis://[user:pass@]host:port[/db]` or `rediss://` for TLS. */
  url?: string;
  host?: string;
  port?: number;
}

/**
 * ioredis settings chosen for a limiter (see docs/redis.md):
 * - no offline queue: while disconnected a call fails at once instead of queueing a flood that
 *   would be replayed, late and all at once, on reconnect;
 * - no per-request retries and no resend of unfulfilled commands after a reconnect: a script that
 *   may have run must never run twice (double counting);
 * - auto-pipelining: all decisions of one event-loop tick share one write.
 * Reconnection itself goes on in the background, with capped backoff.
 */
export const LIMITER_CLIENT_OPTIONS = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  autoResendUnfulfilledCommands: false,
  enableAutoPipelining: true,
  retryStrategy: (attempt: number) => Math.min(50 * 2 ** Math.min(attempt, 5), 1000),
} satisfies RedisOptions;

export function createRedisClient(options: RedisConnectionOptions): Redis {
  if (options.url !== undefined) return new Redis(options.url, LIMITER_CLIENT_OPTIONS);
  return new Redis({ ...LIMITER_CLIENT_OPTIONS, host: options.host ?? '127.0.0.1', port: options.port ?? 6379 });
}
