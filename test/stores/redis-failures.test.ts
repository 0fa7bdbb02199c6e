/**
 * What counts as a Redis failure, and what it is called (docs/redis.md): a busy client is not one;
 * a silent Redis, a refused connection and refused credentials are, each by its own name; calls
 * before the first connection fail at once instead of piling up; availability is known without traffic.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenBucket } from '../../src/engine/limit.js';
import type { Plan } from '../../src/engine/plan.js';
import { RedisStore } from '../../src/stores/redis/redis-store.js';
import { StoreError } from '../../src/stores/store.js';
import { findFreePort, type RedisProcess, startRedis } from '../support/redis-server.js';

const limit = tokenBucket({ capacity: 1_000_000, refillTokens: 1, periodUs: 3_600_000_000 });
const plan = (key: string, cost = 1): Plan => ({ mode: 'all_or_nothing', buckets: [{ key, limit, cost }] });
const failure = (work: Promise<unknown>): Promise<StoreError> =>
  work.then(
    () => {
      throw new Error('expected a StoreError');
    },
    (error: unknown) => {
      if (!(error instanceof StoreError)) throw error;
      return error;
    },
  );

let redis: RedisProcess;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

describe('a healthy Redis is never reported as failed', () => {
  // Redis needs far longer than the budget for all of them: the calls queue in this process (as a
  // per-call timer would count), not in Redis. (A budget as small as 10 ms would also be met by a
  // Redis that merely waits for a CPU on a loaded 2-core machine: docs/redis.md, "Why 50 ms".)
  it('5,000 decisions at once with the default 50 ms budget: all decided, none counted twice', async () => {
    const store = new RedisStore({ url: redis.url });
    try {
      await store.ready();
      const key = `busy-${Math.random()}`;
      const settled = await Promise.allSettled(Array.from({ length: 5000 }, () => store.decide(plan(key))));
      expect(settled.filter((s) => s.status === 'rejected')).toEqual([]);
      expect((await store.decide(plan(key, 0))).buckets[0]!.remaining).toBe(1_000_000 - 5000);
    } finally {
      await store.close();
    }
  });
});

describe('each failure by its name', () => {
  it('before the first connection every call fails at once; none of them is replayed once connected', async () => {
    const store = new RedisStore({ url: redis.url, timeoutMs: 50 });
    try {
      const key = `early-${Math.random()}`;
      const started = performance.now();
      const errors = await Promise.all(Array.from({ length: 200 }, () => failure(store.decide(plan(key)))));
      expect(performance.now() - started).toBeLessThan(50);
      expect(new Set(errors.map((e) => e.kind))).toEqual(new Set(['unavailable']));
      expect(errors[0]!.message).toMatch(/^redis: not connected: no connection yet/);
      await store.ready();
      expect((await store.decide(plan(key, 0))).buckets[0]!.remaining).toBe(1_000_000);
    } finally {
      await store.close();
    }
  });

  it('a refused connection reads "connection refused"', async () => {
    const port = await findFreePort();
    const store = new RedisStore({ url: `redis://127.0.0.1:${port}`, timeoutMs: 50 });
    try {
      const error = await failure(store.ready(1000));
      expect(error.kind).toBe('unavailable');
      expect(error.message).toBe(`redis: not connected: connection refused (127.0.0.1:${port})`);
      expect((await failure(store.decide(plan('refused')))).message).toBe(error.message);
    } finally {
      await store.close();
    }
  });

  it('a wrong password reads "authentication failed" with Redis\'s own reason, kind auth', async () => {
    const guarded = await startRedis();
    // Set after start: the harness's readiness PING has no password.
    await guarded.command('CONFIG', 'SET', 'requirepass', 'right-password');
    const store = new RedisStore({ url: `redis://:wrong-password@127.0.0.1:${guarded.port}`, timeoutMs: 50 });
    try {
      const error = await failure(store.ready(2000));
      expect(error.kind).toBe('auth');
      expect(error.message).toMatch(/^redis: not connected: authentication failed \(WRONGPASS /);
      expect(error.message).not.toContain('wrong-password');
      expect((await failure(store.decide(plan('auth')))).kind).toBe('auth');
    } finally {
      await store.close();
      await guarded.stop();
    }
  });

  it('a silent Redis (SIGSTOP) reads "no reply ... for N ms", kind timeout, within the budget and a quarter', async () => {
    const own = await startRedis();
    const store = new RedisStore({ url: own.url, timeoutMs: 100 });
    try {
      await store.ready();
      await store.decide(plan('silent'));
      own.pause();
      const started = performance.now();
      const errors = await Promise.all(Array.from({ length: 50 }, () => failure(store.decide(plan('silent')))));
      const took = performance.now() - started;
      expect(new Set(errors.map((e) => e.kind))).toEqual(new Set(['timeout']));
      expect(errors[0]!.message).toMatch(new RegExp(`^redis: no reply from Redis 127\\.0\\.0\\.1:${own.port} for \\d+ ms$`));
      expect(took).toBeGreaterThanOrEqual(100);
      // 125 ms plus scheduling noise on a shared machine.
      expect(took).toBeLessThan(400);
    } finally {
      own.resume();
      await store.close();
      await own.stop();
    }
  });

  // A Redis that holds every reply while its connections stay up (as one busy in a long script or
  // DEBUG SLEEP does). CLIENT PAUSE is in effect once its OK is back, so the decision is sent to a
  // Redis known to hold it: DEBUG SLEEP sent on another connection races the decision to Redis.
  it('a Redis that holds replies (CLIENT PAUSE) is silent too: timeout within the budget and a quarter, decisions resume after', async () => {
    const own = await startRedis();
    const availability: boolean[] = [];
    let heardAgain: () => void = () => {};
    const store = new RedisStore({
      url: own.url,
      timeoutMs: 100,
      onAvailabilityChange: (available) => {
        availability.push(available);
        if (available) heardAgain();
      },
    });
    const pauser = own.client();
    try {
      await store.ready();
      await store.decide(plan('held'));
      const back = new Promise<void>((resolve) => (heardAgain = resolve));
      expect(await pauser.call('CLIENT', 'PAUSE', '600', 'ALL')).toBe('OK');
      const started = performance.now();
      const error = await failure(store.decide(plan('held')));
      const took = performance.now() - started;
      expect(error.kind).toBe('timeout');
      expect(took).toBeGreaterThanOrEqual(100);
      expect(took).toBeLessThan(400);
      // The late reply of the timed-out call is read and dropped, and the connection counts as
      // heard again; from then on calls are decided.
      await back;
      expect(availability.slice(-2)).toEqual([false, true]);
      expect((await store.decide(plan('held', 0))).allowed).toBe(true);
    } finally {
      await store.close();
      await own.stop();
    }
  });
});

describe('availability without traffic', () => {
  it('a paused Redis is noticed by the idle heartbeat, and so are its return and a kill', async () => {
    const own = await startRedis();
    const changes: [boolean, string][] = [];
    let changed: () => void = () => {};
    const next = () => new Promise<void>((resolve) => (changed = resolve));
    const store = new RedisStore({
      url: own.url,
      timeoutMs: 50,
      heartbeatMs: 100,
      onAvailabilityChange: (available, reason) => {
        changes.push([available, reason]);
        changed();
      },
    });
    try {
      let change = next();
      await store.ready();
      await change;
      expect(changes).toEqual([[true, 'connected']]);
      change = next();
      own.pause();
      await change;
      expect(changes[1]![0]).toBe(false);
      expect(changes[1]![1]).toMatch(/^no reply from 127\.0\.0\.1:\d+ for \d+ ms \(1 commands waiting\)$/);
      expect(store.available).toBe(false);
      change = next();
      own.resume();
      await change;
      expect(changes[2]).toEqual([true, `127.0.0.1:${own.port} answers again`]);
      change = next();
      await own.kill9();
      await change;
      expect(changes[3]![0]).toBe(false);
    } finally {
      if (own.paused) own.resume();
      await store.close();
      await own.stop();
    }
  });
});
