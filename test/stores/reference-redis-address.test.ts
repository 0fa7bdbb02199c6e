/**
 * Redis named as envoyproxy/ratelimit names it (issue 13): `host:port`, Cluster lists, the Sentinel
 * `master,host:port,...` form, a unix socket, REDIS_AUTH's `password` and `user:password`. Each
 * against a real redis-server; a decision that lands proves the client reached that Redis.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenBucket } from '../../src/engine/limit.js';
import type { Plan } from '../../src/engine/plan.js';
import { resolveRedisTarget } from '../../src/stores/redis/connection.js';
import { RedisStore, type RedisStoreOptions } from '../../src/stores/redis/redis-store.js';
import { StoreError } from '../../src/stores/store.js';
import { OptionError } from '../../src/validation/option-error.js';
import { startRedisCluster } from '../support/redis-cluster.js';
import { startRedisSentinel } from '../support/redis-sentinel.js';
import { startRedis } from '../support/redis-server.js';

const limit = tokenBucket({ capacity: 3, refillTokens: 1, periodUs: 3_600_000_000 });

/** The remaining tokens after one decision on a fresh key, through a store built from `options`. */
async function remainingAfterOne(options: RedisStoreOptions): Promise<number> {
  const store = new RedisStore({ timeoutMs: 2000, ...options });
  try {
    await store.ready(10_000);
    const plan: Plan = { mode: 'all_or_nothing', buckets: [{ key: `ref-${process.hrtime.bigint()}`, limit, cost: 1 }] };
    return (await store.decide(plan)).buckets[0]!.remaining;
  } finally {
    await store.close();
  }
}

function optionErrorOf(make: () => unknown): string {
  try {
    make();
  } catch (error) {
    if (error instanceof OptionError) return error.message;
    throw error;
  }
  return 'no error';
}

describe('addresses as the reference writes them', () => {
  it('reads host:port as host and port (redis:6379 is host "redis"), and [v6]:port', () => {
    const hosts = (url: string) => resolveRedisTarget({ url }).endpoints.map(({ host, port }) => `${host}|${port}`);
    expect(hosts('redis:6379')).toEqual(['redis|6379']);
    expect(hosts('127.0.0.1:6380, [::1]:6381')).toEqual(['127.0.0.1|6380', '::1|6381']);
    expect(hosts('redis://user:pw@cache:7000/2')).toEqual(['cache|7000']);
  });

  it('takes the Sentinel master name first in the list, and refuses two different names', () => {
    const target = resolveRedisTarget({ url: 'mymaster,s1:26379,s2:26380', mode: 'sentinel' });
    expect([target.sentinelName, target.endpoints.map((e) => e.host)]).toEqual(['mymaster', ['s1', 's2']]);
    expect(optionErrorOf(() => resolveRedisTarget({ url: 'mymaster,s1:26379', mode: 'sentinel', sentinelName: 'other' }))).toBe(
      'rateguard: option "sentinelName": REDIS_URL names the master "mymaster", --redis-sentinel-name "other": set one [RG_OPTION_WRONG_TYPE]',
    );
  });

  it('refuses an address that is neither host:port nor a URL, without echoing its credentials', () => {
    const message = optionErrorOf(() => resolveRedisTarget({ url: 'user:hunter2@cache:6379' }));
    expect(message).toBe('rateguard: option "redis": "***@cache:6379" is neither host:port nor a redis:// or rediss:// URL [RG_OPTION_WRONG_TYPE]');
  });
});

describe('real Redis', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'rg-ref-redis-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('host:port with REDIS_AUTH as a password, and as user:password for an ACL user', async () => {
    const redis = await startRedis();
    try {
      // Set after start: the harness's readiness PING has no password.
      await redis.command('ACL', 'SETUSER', 'limiter', 'on', '>pa:ss', '~*', '+@all');
      await redis.command('CONFIG', 'SET', 'requirepass', 'only-pw');
      const address = `127.0.0.1:${redis.port}`;
      expect(await remainingAfterOne({ url: address, auth: 'only-pw' })).toBe(2);
      expect(await remainingAfterOne({ url: address, auth: 'limiter:pa:ss' })).toBe(2);
      const refused = await new RedisStore({ url: address, auth: 'limiter:wrong', timeoutMs: 2000 }).ready(2000).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(refused instanceof StoreError && refused.kind).toBe('auth');
    } finally {
      await redis.stop();
    }
  });

  it('a unix socket path with socket type unix', async () => {
    const socket = join(dir, 'redis.sock');
    const redis = await startRedis({ args: ['--unixsocket', socket, '--unixsocketperm', '700'] });
    try {
      expect(await remainingAfterOne({ url: socket, socketType: 'unix' })).toBe(2);
    } finally {
      await redis.stop();
    }
  });

  it('the Sentinel form master,host:port,host:port', async () => {
    const sentinel = await startRedisSentinel();
    try {
      const url = [sentinel.masterName, ...sentinel.sentinels.map((s) => `${s.host}:${s.port}`)].join(',');
      expect(await remainingAfterOne({ url, mode: 'sentinel' })).toBe(2);
    } finally {
      await sentinel.stop();
    }
  });

  it('a Cluster as a host:port list', async () => {
    const cluster = await startRedisCluster({ replicasPerMaster: 0 });
    try {
      expect(await remainingAfterOne({ url: cluster.startupNodes.map((n) => `${n.host}:${n.port}`).join(','), mode: 'cluster' })).toBe(2);
    } finally {
      await cluster.stop();
    }
  });
});
