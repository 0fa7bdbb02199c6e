/**
 * Creating the ioredis client: one Redis, a Cluster from seed URLs, or a Sentinel-managed master;
 * TLS and passwords from files. Options are checked here, once; a bad option throws at start-up.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { OptionError } from '../../validation/option-error.js';

export type RedisClient = Redis | Cluster;
export type RedisMode = 'single' | 'cluster' | 'sentinel';

/** Where to connect when rateguard creates the client itself. */
export interface RedisConnectionOptions {
  /**
   * `redis://[user:pass@]host:port[/db]`, `rediss://` for TLS. Cluster mode: one or more seed URLs,
   * comma-separated. Sentinel mode: the sentinels' URLs, comma-separated.
   */
  url?: string;
  host?: string;
  port?: number;
  /** Default `single`. */
  mode?: RedisMode;
  /** Sentinel mode: the monitored master's name. */
  sentinelName?: string;
  /** Read the password from this file (trailing newline ignored); it overrides a URL's password. */
  passwordFile?: string;
  /** TLS files (PEM). TLS is on with `rediss://` URLs or when any of these is given. */
  tlsCaFile?: string;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  /** Accept any server certificate. For tests only. */
  tlsSkipVerify?: boolean;
}

/**
 * ioredis settings chosen for a limiter (see docs/redis.md):
 * - no offline queue: while disconnected a call fails at once instead of queueing a flood that
 *   would be replayed, late and all at once, on reconnect;
 * - no per-request retries and no resend of unfulfilled commands after a reconnect: a script that
 *   may have run must never run twice (double counting);
 * - auto-pipelining: all decisions of one event-loop tick share one write;
 * - a connect that hangs (a host that drops packets) gives up after 2 s, not ioredis' 10 s.
 * Reconnection itself goes on in the background, with capped backoff.
 */
export const LIMITER_CLIENT_OPTIONS = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  autoResendUnfulfilledCommands: false,
  enableAutoPipelining: true,
  connectTimeout: 2000,
  retryStrategy: (attempt: number) => Math.min(50 * 2 ** Math.min(attempt, 5), 1000),
} satisfies RedisOptions;

/** What `new Cluster(seeds, options)` takes. */
export type LimiterClusterOptions = NonNullable<ConstructorParameters<typeof Cluster>[1]>;

/**
 * Cluster settings for a limiter, around per-node `redisOptions` (auth, TLS):
 * - ioredis re-sends a command whose node connection closed ("Connection is closed.") after
 *   `retryDelayOnFailover`; the script may have run before the close, so that retry would charge
 *   twice: it is off (0). Redirections are still followed, and CLUSTERDOWN/TRYAGAIN retried: those
 *   are error replies, the script did not run. After a failover, MOVED replies lead to the new master;
 * - the offline queue is on so that a command for a node whose connection is still being made
 *   (nodes connect on first use) waits for it instead of failing; it was never written, so that is
 *   safe. RedisStore itself fails every call at once while the cluster as a whole is not ready, so
 *   nothing piles up during an outage; a node that cannot be reached fails its queue within
 *   `connectTimeout`.
 */
export function limiterClusterOptions(redisOptions: NonNullable<LimiterClusterOptions['redisOptions']> = {}): LimiterClusterOptions {
  const { retryStrategy: _perNodeRetry, enableOfflineQueue: _perNodeQueue, ...perNode } = LIMITER_CLIENT_OPTIONS;
  return {
    enableOfflineQueue: true,
    enableAutoPipelining: true,
    maxRedirections: 16,
    retryDelayOnFailover: 0,
    retryDelayOnClusterDown: 20,
    retryDelayOnTryAgain: 20,
    scaleReads: 'master',
    clusterRetryStrategy: (attempt: number) => Math.min(50 * 2 ** Math.min(attempt, 5), 1000),
    redisOptions: { ...perNode, ...redisOptions },
  };
}

interface Endpoint {
  host: string;
  port: number;
  username: string | undefined;
  password: string | undefined;
  db: number | undefined;
  tls: boolean;
}

function parseEndpoint(text: string): Endpoint {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new OptionError('RG_OPTION_WRONG_TYPE', 'redis', `"${text.replace(/\/\/[^@/]*@/, '//***@')}" is not a redis:// or rediss:// URL`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new OptionError('RG_OPTION_WRONG_TYPE', 'redis', `unsupported scheme "${url.protocol}" (use redis:// or rediss://)`);
  }
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : undefined;
  if (db !== undefined && !Number.isInteger(db)) throw new OptionError('RG_OPTION_WRONG_TYPE', 'redis', `database "${url.pathname.slice(1)}" is not a number`);
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port === '' ? 6379 : Number(url.port),
    username: url.username === '' ? undefined : decodeURIComponent(url.username),
    password: url.password === '' ? undefined : decodeURIComponent(url.password),
    db,
    tls: url.protocol === 'rediss:',
  };
}

function tlsOptions(options: RedisConnectionOptions, urlWantsTls: boolean): ConnectionOptions | undefined {
  const files = options.tlsCaFile !== undefined || options.tlsCertFile !== undefined || options.tlsKeyFile !== undefined;
  if (!urlWantsTls && !files && options.tlsSkipVerify !== true) return undefined;
  return {
    ...(options.tlsCaFile === undefined ? {} : { ca: readFileSync(options.tlsCaFile) }),
    ...(options.tlsCertFile === undefined ? {} : { cert: readFileSync(options.tlsCertFile) }),
    ...(options.tlsKeyFile === undefined ? {} : { key: readFileSync(options.tlsKeyFile) }),
    ...(options.tlsSkipVerify === true ? { rejectUnauthorized: false } : {}),
  };
}

function readPassword(file: string): string {
  return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
}

function endpoints(options: RedisConnectionOptions): Endpoint[] {
  if (options.url !== undefined) {
    const list = options.url.split(',').filter((part) => part.trim() !== '');
    if (list.length === 0) throw new OptionError('RG_OPTION_WRONG_TYPE', 'redis', 'no URL given');
    return list.map(parseEndpoint);
  }
  return [{ host: options.host ?? '127.0.0.1', port: options.port ?? 6379, username: undefined, password: undefined, db: undefined, tls: false }];
}

/** Creates the client for the given mode, with `LIMITER_CLIENT_OPTIONS`. */
export function createRedisClient(options: RedisConnectionOptions): RedisClient {
  const mode = options.mode ?? 'single';
  const all = endpoints(options);
  const first = all[0]!;
  const password = options.passwordFile === undefined ? first.password : readPassword(options.passwordFile);
  const tls = tlsOptions(options, all.some((e) => e.tls));
  const auth = {
    ...(first.username === undefined ? {} : { username: first.username }),
    ...(password === undefined ? {} : { password }),
    ...(tls === undefined ? {} : { tls }),
  };

  if (mode === 'cluster') {
    return new Cluster(
      all.map((e) => ({ host: e.host, port: e.port })),
      limiterClusterOptions(auth),
    );
  }
  if (mode === 'sentinel') {
    if (options.sentinelName === undefined || options.sentinelName === '') {
      throw new OptionError('RG_OPTION_WRONG_TYPE', 'sentinelName', 'sentinel mode needs the master name (--redis-sentinel-name)');
    }
    return new Redis({
      ...LIMITER_CLIENT_OPTIONS,
      ...auth,
      sentinels: all.map((e) => ({ host: e.host, port: e.port })),
      name: options.sentinelName,
      ...(first.db === undefined ? {} : { db: first.db }),
      // A failover must not leave us writing to a demoted master.
      failoverDetector: true,
    });
  }
  if (all.length > 1) throw new OptionError('RG_OPTION_WRONG_TYPE', 'redis', 'several URLs need --redis-mode cluster or sentinel');
  return new Redis({ ...LIMITER_CLIENT_OPTIONS, ...auth, host: first.host, port: first.port, ...(first.db === undefined ? {} : { db: first.db }) });
}
