/**
 * Tests of the Redis test harness itself: real redis-server / redis-sentinel processes.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { keySlot } from './redis-cluster.js';
import { useRedis, useRedisCluster, useRedisSentinel } from './redis-fixtures.js';
import { done, info, notYet, poll, redisCommand } from './redis-resp.js';
import { startRedis } from './redis-server.js';

/** Retries `fn` (each attempt bounded by attemptMs) until it resolves or timeoutMs passes. */
async function eventually<T>(what: string, timeoutMs: number, fn: () => Promise<T>, attemptMs = 1000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        fn(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`attempt exceeded ${attemptMs} ms`)), attemptMs);
        }),
      ]);
    } catch (err) {
      last = err;
    } finally {
      clearTimeout(timer);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not succeed within ${timeoutMs} ms; last error: ${(last as Error | undefined)?.message}`);
}

describe('standalone redis-server', () => {
  const redis = useRedis();

  it('answers PING, survives kill9 + restart on the same port with empty data, pause/resume', async () => {
    const r = redis.get();
    expect(r.url).toBe(`redis://127.0.0.1:${r.port}`);
    const c = r.client({ maxRetriesPerRequest: 1, retryStrategy: () => 50 });
    expect(await c.ping()).toBe('PONG');
    await c.set('k', 'v');
    expect(await c.get('k')).toBe('v');

    const pid = r.pid;
    await r.kill9();
    expect(r.running).toBe(false);
    expect(r.pid).toBeUndefined();
    await expect(redisCommand(r.port, ['PING'], { timeoutMs: 500 })).rejects.toThrow(/ECONNREFUSED|closed/);

    const port = r.port;
    await r.restart();
    expect(r.port).toBe(port);
    expect(r.running).toBe(true);
    expect(r.pid).not.toBe(pid);
    // The tracked client reconnects by itself; data is gone (no persistence).
    expect(await eventually('client reconnect', 5000, () => c.get('k'))).toBeNull();
    expect(await r.command('DBSIZE')).toBe(0);

    r.pause();
    expect(r.paused).toBe(true);
    await expect(redisCommand(r.port, ['PING'], { timeoutMs: 300 })).rejects.toThrow(/did not answer PING within 300 ms/);
    r.resume();
    expect(await redisCommand(r.port, ['PING'], { timeoutMs: 1000 })).toBe('PONG');
  });

  it('reports the server output when redis-server refuses to start', async () => {
    await expect(startRedis({ args: ['--no-such-directive', 'x'] })).rejects.toThrow(/exited before answering PING[\s\S]*FATAL CONFIG/);
    // A taken fixed port: Redis' own "Address already in use" shows up in the error.
    await expect(startRedis({ port: redis.get().port })).rejects.toThrow(/Address already in use/);
  });

  it('stop() kills the process and removes the temp dir', async () => {
    const r = await startRedis();
    const { dir, port } = r;
    expect(existsSync(dir)).toBe(true);
    await r.stop();
    expect(r.running).toBe(false);
    expect(existsSync(dir)).toBe(false);
    await expect(redisCommand(port, ['PING'], { timeoutMs: 500 })).rejects.toThrow();
    await r.stop(); // idempotent
  });
});

describe('Redis Cluster (3 masters + 3 replicas)', () => {
  const cluster = useRedisCluster({ masters: 3, replicasPerMaster: 1 });

  it('serves keys in different slots and recovers from a killed master', async () => {
    const cl = cluster.get();
    expect(cl.nodes).toHaveLength(6);
    expect(cl.nodes.filter((n) => n.role === 'master')).toHaveLength(3);
    expect(cl.nodes.filter((n) => n.role === 'replica')).toHaveLength(3);
    expect(cl.seeds.every((s) => /^redis:\/\/127\.0\.0\.1:\d+$/.test(s))).toBe(true);

    // Keys spread over all three masters.
    const keys = ['rg:a', 'rg:b', 'rg:c', 'rg:d', 'rg:e', 'rg:f'];
    const owners = new Map<number, string>();
    for (const k of keys) owners.set((await cl.masterForSlot(keySlot(k))).port, k);
    expect(owners.size).toBe(3);

    const c = cl.client({
      retryDelayOnFailover: 100,
      retryDelayOnClusterDown: 100,
      slotsRefreshTimeout: 500,
      redisOptions: { connectTimeout: 500, maxRetriesPerRequest: 1 },
    });
    for (const k of keys) await c.set(k, `v-${k}`);
    for (const k of keys) expect(await c.get(k)).toBe(`v-${k}`);

    const victimKey = 'rg:a';
    const slot = keySlot(victimKey);
    const victimMaster = await cl.masterForSlot(slot);
    // The replica(s) of exactly that master, per CLUSTER REPLICAS: one of them must take over.
    const replicaLines = await redisCommand(victimMaster.port, ['CLUSTER', 'REPLICAS', victimMaster.nodeId]);
    const replicasBefore = new Set((Array.isArray(replicaLines) ? replicaLines : []).map((l) => Number(/:(\d+)@/.exec(String(l))?.[1])));
    expect(replicasBefore.size).toBe(1);
    // Replication is asynchronous: make sure the replica has everything before killing its master.
    await poll(`replica of ${victimMaster.port} to catch up`, { timeoutMs: 5000 }, async () => {
      const repl = await info(victimMaster.port, 'replication');
      const offset = /offset=(\d+)/.exec(repl.slave0 ?? '')?.[1];
      return offset === repl.master_repl_offset ? done(undefined) : notYet(`master ${repl.master_repl_offset} replica ${offset}`);
    });
    const t0 = Date.now();
    const killed = await cl.killMaster(slot);
    expect(killed.port).toBe(victimMaster.port);
    expect(killed.running).toBe(false);

    // Writes to the dead master's slots succeed again within a bounded time.
    await eventually('cluster write after master kill', 15_000, () => c.set(victimKey, 'after-failover'));
    const promoted = await cl.waitForFailover({ slot, from: killed, timeoutMs: 15_000 });
    const elapsed = Date.now() - t0;
    expect(promoted.port).not.toBe(killed.port);
    expect(replicasBefore.has(promoted.port)).toBe(true);
    expect(promoted.role).toBe('master');
    expect((await info(promoted.port, 'replication')).role).toBe('master');
    expect(await c.get(victimKey)).toBe('after-failover');
    // Keys on the surviving masters still work.
    for (const k of keys.filter((k) => k !== victimKey && keySlot(k) !== slot)) {
      const owner = await cl.masterForSlot(keySlot(k));
      // Keys that lived on the killed master had their data replicated to the promoted replica too.
      expect(await c.get(k), `${k} on ${owner.port}`).toBe(`v-${k}`);
    }
    console.log(`[harness] cluster failover: killed ${killed.port}, promoted ${promoted.port} in ${elapsed} ms`);
    expect(elapsed).toBeLessThan(15_000);
  });
});

describe('Redis Sentinel (master + replica + 3 sentinels)', () => {
  const sentinel = useRedisSentinel({ sentinels: 3, masterName: 'rg-master' });

  it('fails over to the replica and the sentinel-aware client writes again', async () => {
    const s = sentinel.get();
    expect(s.sentinels).toHaveLength(3);
    expect(s.masterName).toBe('rg-master');
    expect((await s.currentMaster()).port).toBe(s.master.port);

    const c = s.client({ maxRetriesPerRequest: 1, connectTimeout: 500, sentinelRetryStrategy: () => 100, retryStrategy: () => 100 });
    expect(await c.set('rg:k', 'before')).toBe('OK');

    const t0 = Date.now();
    const old = await s.killMaster();
    expect(old.port).toBe(s.master.port);
    const next = await s.waitForNewMaster(15_000);
    const elapsed = Date.now() - t0;
    expect(next.port).not.toBe(old.port);
    expect(next.port).toBe(s.replica.port);

    await eventually('sentinel client write after failover', 10_000, () => c.set('rg:k', 'after'));
    expect(await c.get('rg:k')).toBe('after');
    const server = await c.info('server');
    expect(server).toContain(`tcp_port:${next.port}`);
    console.log(`[harness] sentinel failover: killed ${old.port}, new master ${next.port} in ${elapsed} ms`);
  });
});
