/**
 * RedisStore on a real Redis Cluster (3 masters + 3 replicas): exactness, all-or-nothing across
 * slots with refunds, a single seed, and a master failover under load.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketKey, encodeIdentity } from '../../src/engine/keys.js';
import { tokenBucket } from '../../src/engine/limit.js';
import type { Plan } from '../../src/engine/plan.js';
import { slotGroups } from '../../src/stores/redis/cross-slot.js';
import { RedisStore } from '../../src/stores/redis/redis-store.js';
import { StoreError } from '../../src/stores/store.js';
import { type RedisClusterHandle, startRedisCluster } from '../support/redis-cluster.js';

const limit = tokenBucket({ capacity: 100, refillTokens: 1, periodUs: 3_600_000_000 });
const keyOf = (id: string, of = limit) => bucketKey('c:', of.id, encodeIdentity('cluster', [{ key: 'id', value: id }]));
const one = (id: string, cost = 1): Plan => ({ mode: 'all_or_nothing', buckets: [{ key: keyOf(id), limit, cost }] });
const peek = async (store: RedisStore, id: string) => (await store.decide(one(id, 0))).buckets[0]!.remaining;

let cluster: RedisClusterHandle;
let store: RedisStore;
beforeAll(async () => {
  cluster = await startRedisCluster();
  // A single seed is enough: the client discovers the other nodes.
  store = new RedisStore({ url: cluster.seeds[0]!, mode: 'cluster', timeoutMs: 2000 });
  await store.ready(10_000);
});
afterAll(async () => {
  await store.close();
  await cluster.stop();
});

describe('RedisStore on Redis Cluster', () => {
  it('allows exactly 100 of 300 concurrent calls on one bucket', async () => {
    const decisions = await Promise.all(Array.from({ length: 300 }, () => store.decide(one('exact'))));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(100);
  });

  it('spreads identities over slots (our tags decide the slot, not the values)', () => {
    const plan: Plan = { mode: 'all_or_nothing', buckets: ['a', 'b', 'c', 'd', 'e', 'f'].map((id) => ({ key: keyOf(id), limit, cost: 1 })) };
    expect(slotGroups(plan.buckets).length).toBeGreaterThan(1);
    // Braces in a value do not move the bucket: the slot depends only on rateguard's own tag.
    expect(keyOf('{x}').indexOf('{')).toBe(keyOf('y').indexOf('{'));
  });

  it('keeps all-or-nothing across slots: a denied request leaves the other slots uncharged (refunded)', async () => {
    const ids = findIdsInTwoSlots();
    await store.decide(one(ids[1], 100)); // empty the second bucket
    const pair: Plan = {
      mode: 'all_or_nothing',
      buckets: [
        { key: keyOf(ids[0]), limit, cost: 5 },
        { key: keyOf(ids[1]), limit, cost: 1 },
      ],
    };
    const decision = await store.decide(pair);
    expect(decision.allowed).toBe(false);
    expect(decision.buckets.map((b) => b.allowed)).toEqual([true, false]);
    expect(decision.buckets[0]!.remaining).toBe(100); // reported as refunded
    expect(await peek(store, ids[0])).toBe(100); // and really refunded
  });

  it('refunds a key repeated in the denied plan once, for the sum of its costs, and reports it so on every entry', async () => {
    const ids = findIdsInTwoSlots('repeated');
    await store.decide(one(ids[1], 100)); // empty the second bucket
    const plan: Plan = {
      mode: 'all_or_nothing',
      buckets: [
        { key: keyOf(ids[0]), limit, cost: 5 },
        { key: keyOf(ids[0]), limit, cost: 0 },
        { key: keyOf(ids[0]), limit, cost: 2 },
        { key: keyOf(ids[1]), limit, cost: 1 },
      ],
    };
    const decision = await store.decide(plan);
    expect(decision.allowed).toBe(false);
    expect(decision.buckets.map((b) => [b.allowed, b.remaining])).toEqual([
      [true, 100],
      [true, 100],
      [true, 100],
      [false, 0],
    ]);
    expect(await peek(store, ids[0])).toBe(100);
  });

  it('never refunds an overdraft limit: its charge counts though another slot denies', async () => {
    const ids = findIdsInTwoSlots('overdraft');
    await store.decide(one(ids[1], 100)); // empty the second bucket
    const debt = tokenBucket({ capacity: 100, refillTokens: 1, periodUs: 3_600_000_000, overdraft: true });
    const plan: Plan = {
      mode: 'all_or_nothing',
      buckets: [
        { key: keyOf(ids[0]), limit, cost: 5 },
        { key: keyOf(ids[0], debt), limit: debt, cost: 5 }, // the same identity, so the same slot
        { key: keyOf(ids[1]), limit, cost: 1 },
      ],
    };
    const decision = await store.decide(plan);
    expect(decision.allowed).toBe(false);
    expect(decision.buckets.map((b) => [b.allowed, b.remaining])).toEqual([
      [true, 100],
      [true, 95],
      [false, 0],
    ]);
    const lookAtDebt: Plan = { mode: 'all_or_nothing', buckets: [{ key: keyOf(ids[0], debt), limit: debt, cost: 0 }] };
    expect([await peek(store, ids[0]), (await store.decide(lookAtDebt)).buckets[0]!.remaining]).toEqual([100, 95]);
  });

  it('charges every slot when all allow', async () => {
    const ids = findIdsInTwoSlots('both');
    const pair: Plan = { mode: 'all_or_nothing', buckets: ids.map((id) => ({ key: keyOf(id), limit, cost: 3 })) };
    expect((await store.decide(pair)).allowed).toBe(true);
    expect([await peek(store, ids[0]), await peek(store, ids[1])]).toEqual([97, 97]);
  });

  it('absorbs a slot migration (ASK, then MOVED): no error reaches the caller, the bucket moves with its state', async () => {
    const { keySlot } = await import('../support/redis-cluster.js');
    const id = 'migrating';
    const key = keyOf(id);
    const slot = keySlot(key);
    for (let i = 0; i < 3; i++) await store.decide(one(id));
    const source = await cluster.masterForSlot(slot);
    await cluster.refreshRoles();
    const target = cluster.nodes.find((n) => n.role === 'master' && n.port !== source.port && n.running)!;
    await target.command('CLUSTER', 'SETSLOT', slot, 'IMPORTING', source.nodeId);
    await source.command('CLUSTER', 'SETSLOT', slot, 'MIGRATING', target.nodeId);
    // Mid-migration the key still lives on the source: calls are answered there (or ASK-redirected).
    expect((await store.decide(one(id))).buckets[0]!.remaining).toBe(96);
    await source.command('MIGRATE', '127.0.0.1', target.port, '', 0, 5000, 'KEYS', key);
    // Now the key is on the target while the slot still says source: ASK redirects.
    expect((await store.decide(one(id))).buckets[0]!.remaining).toBe(95);
    for (const node of cluster.nodes.filter((n) => n.role === 'master' && n.running)) {
      await node.command('CLUSTER', 'SETSLOT', slot, 'NODE', target.nodeId);
    }
    // The slot has moved: MOVED, then the client's refreshed map.
    const after = [];
    for (let i = 0; i < 5; i++) after.push((await store.decide(one(id))).buckets[0]!.remaining);
    expect(after).toEqual([94, 93, 92, 91, 90]);
  });

  it('absorbs a master failover: callers see failure-mode errors only while it lasts, then decisions resume', async () => {
    const quick = new RedisStore({ url: cluster.seeds.join(','), mode: 'cluster', timeoutMs: 100 });
    await quick.ready(10_000);
    const id = 'failover';
    const slotKey = keyOf(id);
    const seen = { allowed: 0, denied: 0, storeErrors: 0, otherErrors: 0 };
    let stop = false;
    const load = (async () => {
      while (!stop) {
        // Yield to the event loop: a call that fails at once would otherwise starve the client's reconnect timers.
        await new Promise((resolve) => setImmediate(resolve));
        await quick.decide({ mode: 'all_or_nothing', buckets: [{ key: slotKey, limit, cost: 0 }] }).then(
          (d) => (d.allowed ? seen.allowed++ : seen.denied++),
          (e: unknown) => (e instanceof StoreError ? seen.storeErrors++ : seen.otherErrors++),
        );
      }
    })();
    try {
      const { keySlot } = await import('../support/redis-cluster.js');
      await cluster.killMaster(keySlot(slotKey));
      await cluster.waitForFailover();
      const deadline = Date.now() + 15_000;
      let recovered = false;
      while (!recovered && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        recovered = await quick.decide(one(id, 0)).then(
          () => true,
          () => false,
        );
      }
      expect(recovered).toBe(true);
    } finally {
      stop = true;
      await load;
      await quick.close();
    }
    // Every call settled as a decision or a StoreError (the failure mode's input): nothing else leaked.
    expect(seen.otherErrors).toBe(0);
    expect(seen.allowed).toBeGreaterThan(0);
  });
});

/** Two identities whose buckets live in different cluster slots. */
function findIdsInTwoSlots(prefix = 'pair'): [string, string] {
  const first = `${prefix}-0`;
  for (let i = 1; ; i++) {
    const candidate = `${prefix}-${i}`;
    const groups = slotGroups([
      { key: keyOf(first), limit, cost: 1 },
      { key: keyOf(candidate), limit, cost: 1 },
    ]);
    if (groups.length === 2) return [first, candidate];
  }
}
