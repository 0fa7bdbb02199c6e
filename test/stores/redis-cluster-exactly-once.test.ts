/**
 * A decision is charged at most once in Redis Cluster, even when the script ran but its reply was
 * lost with the node connection. ioredis re-sends such a command after `retryDelayOnFailover`
 * ("Connection is closed."); rateguard turns that off (limiterClusterOptions). Real cluster, real
 * sockets; a TCP proxy in front of one master (reached through ioredis' natMap) loses the reply.
 */
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketKey, encodeIdentity } from '../../src/engine/keys.js';
import { tokenBucket } from '../../src/engine/limit.js';
import type { Plan } from '../../src/engine/plan.js';
import { limiterClusterOptions } from '../../src/stores/redis/connection.js';
import { RedisStore } from '../../src/stores/redis/redis-store.js';
import { StoreError } from '../../src/stores/store.js';
import { keySlot, type ClusterNodeHandle, type RedisClusterHandle, startRedisCluster } from '../support/redis-cluster.js';
import { LOCALHOST } from '../support/redis-server.js';
import { readStoredState } from '../support/stored-state.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

const CAPACITY = 100;
const COST = 7;
const limit = tokenBucket({ capacity: CAPACITY, refillTokens: 1, periodUs: 3_600_000_000 * 24 * 365 });
const keyOf = (id: string) => bucketKey('once:', limit.id, encodeIdentity('cluster', [{ key: 'id', value: id }]));
const charge = (key: string, cost: number): Plan => ({ mode: 'all_or_nothing', buckets: [{ key, limit, cost }] });

let cluster: RedisClusterHandle;
beforeAll(async () => {
  cluster = await startRedisCluster();
});
afterAll(async () => {
  await cluster.stop();
});

/** A store whose connection to `master` goes through a proxy; the other nodes are reached directly. */
async function storeThroughProxy(master: ClusterNodeHandle): Promise<{ store: RedisStore; proxy: TcpProxy; client: Cluster }> {
  const proxy = await startTcpProxy(master.port);
  const seeds = cluster.startupNodes.filter((n) => n.port !== master.port);
  const client = new Cluster(seeds, {
    ...limiterClusterOptions(),
    natMap: { [`${LOCALHOST}:${master.port}`]: { host: LOCALHOST, port: proxy.port } },
  });
  const store = new RedisStore({ client, timeoutMs: 2000 });
  await store.ready(10_000);
  return { store, proxy, client };
}

/** Whole tokens the bucket holds on the node serving it now (read directly, not through the store). */
async function levelOn(node: ClusterNodeHandle, key: string): Promise<number> {
  const state = await readStoredState(node.client(), key);
  return Math.floor(state?.level ?? Number.NaN);
}

describe('exactly once in Redis Cluster', () => {
  it('a script whose reply is lost with its node connection is not run again: charged once, the call fails', async () => {
    const key = keyOf('dropped');
    const master = await cluster.masterForSlot(keySlot(key));
    const { store, proxy, client } = await storeThroughProxy(master);
    try {
      expect((await store.decide(charge(key, 1))).buckets[0]!.remaining).toBe(CAPACITY - 1);
      const lost = proxy.loseReplyTo(key);
      const error = await store.decide(charge(key, COST)).then(
        () => undefined,
        (e: unknown) => e,
      );
      await lost;
      expect(error).toBeInstanceOf(StoreError);
      expect((error as StoreError).kind).toBe('unavailable');
      // Decisions go on (a new connection through the proxy) and see one charge of COST, not two.
      await waitFor(async () =>
        store.decide(charge(key, 0)).then(
          () => true,
          () => false,
        ),
      );
      expect((await store.decide(charge(key, 0))).buckets[0]!.remaining).toBe(CAPACITY - 1 - COST);
      expect(await levelOn(master, key)).toBe(CAPACITY - 1 - COST);
    } finally {
      await store.close();
      client.disconnect();
      await proxy.close();
    }
  });

  it('across a master failover: the charge that reached the old master (and its replica) counts once on the new one', async () => {
    const key = keyOf('failover');
    const master = await cluster.masterForSlot(keySlot(key));
    const { store, proxy, client } = await storeThroughProxy(master);
    try {
      expect((await store.decide(charge(key, 1))).buckets[0]!.remaining).toBe(CAPACITY - 1);
      // The script runs on the old master; its write reaches the replica (WAIT); then the master
      // dies and only after that does the client's connection close.
      const lost = proxy.loseReplyTo(key, async () => {
        expect(await master.client().call('WAIT', '1', '2000')).toBe(1);
        await cluster.killMaster(keySlot(key));
      });
      const error = await store.decide(charge(key, COST)).then(
        () => undefined,
        (e: unknown) => e,
      );
      await lost;
      expect(error).toBeInstanceOf(StoreError);
      const promoted = await cluster.waitForFailover();
      await waitFor(async () =>
        store.decide(charge(key, 0)).then(
          () => true,
          () => false,
        ),
      );
      expect((await store.decide(charge(key, 0))).buckets[0]!.remaining).toBe(CAPACITY - 1 - COST);
      expect(await levelOn(promoted, key)).toBe(CAPACITY - 1 - COST);
    } finally {
      await store.close();
      client.disconnect();
      await proxy.close();
    }
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
