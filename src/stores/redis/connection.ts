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
/** The reference's REDIS_SOCKET_TYPE: `unix` makes the address a socket path. */
export type RedisSocketType = 'tcp' | 'unix';

/** Where to connect when rateguard creates the client itself. */
export interface RedisConnectionOptions {
  /**
   * Each address is `host:port` (the reference's form) or `redis://[user:pass@]host:port[/db]`
   * (`rediss://` for TLS). Cluster mode: one or more seeds, comma-separated. Sentinel mode: the
   * sentinels, comma-separated, optionally after the master's name (the reference's
   * `master,host:port,...`). With `socketType` unix: a socket path.
   */
  url?: string;
  /** Default `tcp`. */
  socketType?: RedisSocketType;
  /** The reference's REDIS_AUTH: `password` or `user:password`; it overrides the URL's credentials. */
  auth?: string;
  /** The reference's REDIS_SENTINEL_AUTH: `password` or `user:password` for the sentinels themselves. */
  sentinelAuth?: string;
  /** TLS on for every address, as `rediss://` (the reference's REDIS_TLS). */
  tls?: boolean;
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
 * - auto-pipelining for the other commands (PING, DEL, pub/sub); the decide calls are batched by
 *   decide-batch.ts and written at once (script-call.ts);
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

/** `host:port`, `[v6]:port`. */
const HOST_PORT = /^(\[[^\]]+\]|[^:/@\s[\]]+):(\d{1,5})$/;

function parseEndpoint(text: string): Endpoint {
  const hostPort = HOST_PORT.exec(text.trim());
  if (hostPort !== null) {
    return { host: hostPort[1]!.replace(/^\[|\]$/g, ''), port: Number(hostPort[2]), username: undefined, password: undefined, db: undefined, tls: false };
  }
  if (!text.includes('://'))
    throw new OptionError('RG_OPTION_WRONG_TYPE', 'redis', `"${text.replace(/^[^@]*@/, '***@')}" is neither host:port nor a redis:// or rediss:// URL`);
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
  if (!urlWantsTls && !files && options.tlsSkipVerify !== true && options.tls !== true) return undefined;
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

/** REDIS_AUTH's two forms; the password may itself hold `:` (the reference splits at the first). */
function parseAuth(auth: string): { username?: string; password: string } {
  const colon = auth.indexOf(':');
  return colon < 0 ? { password: auth } : { username: auth.slice(0, colon), password: auth.slice(colon + 1) };
}

/** What to connect to, once every form of the address has been read. */
export interface RedisTarget {
  readonly endpoints: readonly Endpoint[];
  /** Sentinel mode: the master's name, from the option or the reference's `master,host:port,...`. */
  readonly sentinelName: string | undefined;
}

/** A first list item that is neither `host:port` nor a URL names the Sentinel master (the reference's form). */
const MASTER_NAME = /^[^:/@\s]+$/;

export function resolveRedisTarget(options: RedisConnectionOptions): RedisTarget {
  if (options.url === undefined) {
    return {
      endpoints: [{ host: options.host ?? '127.0.0.1', port: options.port ?? 6379, username: undefined, password: undefined, db: undefined, tls: false }],
      sentinelName: options.sentinelName,
    };
  }
  const list = options.url
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  if (list.length === 0) throw new OptionError('RG_OPTION_WRONG_TYPE', 'redis', 'no address given');
  let sentinelName = options.sentinelName;
  if (options.mode === 'sentinel' && MASTER_NAME.test(list[0]!)) {
    const named = list.shift()!;
    if (sentinelName !== undefined && sentinelName !== named) {
      throw new OptionError('RG_OPTION_WRONG_TYPE', 'sentinelName', `REDIS_URL names the master "${named}", --redis-sentinel-name "${sentinelName}": set one`);
    }
    sentinelName = named;
    if (list.length === 0) throw new OptionError('RG_OPTION_WRONG_TYPE', 'redis', `sentinel mode needs at least one sentinel after the master name "${named}"`);
  }
  return { endpoints: list.map(parseEndpoint), sentinelName };
}

/** The credentials of a connection: REDIS_AUTH over the URL's; a password file over both passwords. */
function credentials(options: RedisConnectionOptions, fromUrl: Pick<Endpoint, 'username' | 'password'>): { username?: string; password?: string } {
  const { username, password } = options.auth === undefined ? fromUrl : parseAuth(options.auth);
  const finalPassword = options.passwordFile === undefined ? password : readPassword(options.passwordFile);
  return { ...(username === undefined ? {} : { username }), ...(finalPassword === undefined ? {} : { password: finalPassword }) };
}

function sentinelCredentials(sentinelAuth: string | undefined): { sentinelUsername?: string; sentinelPassword?: string } {
  if (sentinelAuth === undefined) return {};
  const { username, password } = parseAuth(sentinelAuth);
  return { ...(username === undefined ? {} : { sentinelUsername: username }), sentinelPassword: password };
}

function createUnixSocketClient(options: RedisConnectionOptions): Redis {
  if ((options.mode ?? 'single') !== 'single')
    throw new OptionError('RG_OPTION_WRONG_TYPE', 'redis', 'a unix socket (REDIS_SOCKET_TYPE unix) is one Redis: --redis-mode single');
  const path = options.url?.trim() ?? '';
  if (path === '') throw new OptionError('RG_OPTION_WRONG_TYPE', 'redis', 'REDIS_SOCKET_TYPE unix needs the socket path in REDIS_URL');
  return new Redis({ ...LIMITER_CLIENT_OPTIONS, ...credentials(options, { username: undefined, password: undefined }), path });
}

/** Creates the client for the given mode, with `LIMITER_CLIENT_OPTIONS`. */
export function createRedisClient(options: RedisConnectionOptions): RedisClient {
  if (options.socketType === 'unix') return createUnixSocketClient(options);
  const mode = options.mode ?? 'single';
  const { endpoints: all, sentinelName } = resolveRedisTarget(options);
  const first = all[0]!;
  const tls = tlsOptions(
    options,
    all.some((e) => e.tls),
  );
  const auth = { ...credentials(options, first), ...(tls === undefined ? {} : { tls }) };

  if (mode === 'cluster') {
    return new Cluster(
      all.map((e) => ({ host: e.host, port: e.port })),
      limiterClusterOptions(auth),
    );
  }
  if (mode === 'sentinel') {
    if (sentinelName === undefined || sentinelName === '') {
      throw new OptionError(
        'RG_OPTION_WRONG_TYPE',
        'sentinelName',
        'sentinel mode needs the master name (--redis-sentinel-name, or REDIS_URL as master,host:port,...)',
      );
    }
    return new Redis({
      ...LIMITER_CLIENT_OPTIONS,
      ...auth,
      ...sentinelCredentials(options.sentinelAuth),
      sentinels: all.map((e) => ({ host: e.host, port: e.port })),
      name: sentinelName,
      ...(first.db === undefined ? {} : { db: first.db }),
      // A failover must not leave us writing to a demoted master.
      failoverDetector: true,
    });
  }
  if (all.length > 1) throw new OptionError('RG_OPTION_WRONG_TYPE', 'redis', 'several URLs need --redis-mode cluster or sentinel');
  return new Redis({ ...LIMITER_CLIENT_OPTIONS, ...auth, host: first.host, port: first.port, ...(first.db === undefined ? {} : { db: first.db }) });
}
