/**
 * How a decision reaches Redis (src/stores/redis/script-call.ts): as a function where Redis has
 * them, loaded again after it lost them, and as a script where it has none, or where an ACL denies
 * them. Each decision counts exactly once on every path.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { tokenBucket } from '../../src/engine/limit.js';
import type { Plan } from '../../src/engine/plan.js';
import { RedisStore } from '../../src/stores/redis/redis-store.js';
import { FUNCTION_NAME, LIBRARY_NAME } from '../../src/stores/redis/script-call.js';
import { type RedisProcess, startRedis } from '../support/redis-server.js';
import { commandCalls } from '../support/script-calls.js';
import { readStoredState } from '../support/stored-state.js';

const limit = tokenBucket({ capacity: 10, refillTokens: 1, periodUs: 3_600_000_000 });
const plan = (key: string): Plan => ({ mode: 'all_or_nothing', buckets: [{ key, limit, cost: 1 }] });

/** Calls and failed calls per command, from INFO commandstats. */
async function commandCallsOf(redis: RedisProcess): Promise<Record<string, { calls: number; failed: number }>> {
  return commandCalls(String(await redis.command('INFO', 'commandstats')));
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function storeOn(redis: RedisProcess, url = redis.url): Promise<RedisStore> {
  const store = new RedisStore({ url, timeoutMs: 2000 });
  cleanups.push(() => store.close());
  await store.ready();
  return store;
}

/** A store that connects as a new ACL user with `rules`. */
async function storeAsUser(redis: RedisProcess, user: string, rules: readonly string[]): Promise<RedisStore> {
  await redis.command('ACL', 'SETUSER', user, 'on', '>secret', '~*', ...rules);
  const url = new URL(redis.url);
  url.username = user;
  url.password = 'secret';
  return storeOn(redis, url.toString());
}

/** Whole tokens left in the stored bucket (it refills 1 an hour: the test's own time adds a fraction). */
async function levelOf(redis: RedisProcess, key: string): Promise<number | undefined> {
  const probe = redis.client();
  try {
    const state = await readStoredState(probe, key);
    return state === undefined ? undefined : Math.floor(state.level);
  } finally {
    probe.disconnect();
  }
}

describe('the decide script as a Redis function', () => {
  it('is loaded on first use and called with FCALL from then on: no script is ever sent', async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const store = await storeOn(redis);
    for (let i = 0; i < 5; i++) expect((await store.decide(plan('fn:a'))).allowed).toBe(true);
    expect(await levelOf(redis, 'fn:a')).toBe(5);
    const calls = await commandCallsOf(redis);
    // The first FCALL finds no function (failed, nothing ran), the library is loaded, and it is called again.
    expect(calls.fcall).toEqual({ calls: 6, failed: 1 });
    expect(calls['function|load']).toEqual({ calls: 1, failed: 0 });
    expect(calls.evalsha).toBeUndefined();
    expect(calls.eval).toBeUndefined();
    const libraries = JSON.stringify(await redis.command('FUNCTION', 'LIST'));
    expect(libraries).toContain(LIBRARY_NAME);
    expect(libraries).toContain(FUNCTION_NAME);
  });

  it('after FUNCTION FLUSH the library is loaded again, and the decision counts once', async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const store = await storeOn(redis);
    await store.decide(plan('fn:b'));
    await redis.command('FUNCTION', 'FLUSH');
    // Several decisions find the function missing at once: one load serves them all.
    const decisions = await Promise.all([store.decide(plan('fn:b')), store.decide(plan('fn:c')), store.decide(plan('fn:b'))]);
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true]);
    expect(await levelOf(redis, 'fn:b')).toBe(7);
    expect(await levelOf(redis, 'fn:c')).toBe(9);
    expect((await commandCallsOf(redis))['function|load']).toEqual({ calls: 2, failed: 0 });
  });

  it('keeps parsed limits from call to call, bounded: 1,500 distinct limits, twice, each decided by its own terms', async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const store = await storeOn(redis);
    // More distinct terms than the library keeps (MAX_TERMS, 1,024), so it starts over within a call and between calls.
    const limits = Array.from({ length: 1500 }, (_, i) => tokenBucket({ capacity: 100 + i, refillTokens: 1, periodUs: 3_600_000_000 }));
    const plans = limits.map((l, i): Plan => ({ mode: 'all_or_nothing', buckets: [{ key: `terms:${i}`, limit: l, cost: 1 + (i % 3) }] }));
    for (const pass of [1, 2]) {
      const decisions = await Promise.all(plans.map((p) => store.decide(p)));
      expect(decisions.map((d) => d.buckets[0]!.remaining)).toEqual(plans.map((_, i) => 100 + i - pass * (1 + (i % 3))));
    }
    expect((await commandCallsOf(redis)).fcall!.calls).toBeGreaterThan(2 * Math.ceil(1500 / 64));
  });

  it('holds the memory of its parsed limits bounded: 20,000 distinct limits leave its Lua VM under 4 MB (unbounded: about 13 MB)', async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const store = await storeOn(redis);
    const plans = Array.from({ length: 20_000 }, (_, i): Plan => {
      const distinct = tokenBucket({ capacity: 100 + i, refillTokens: 1, periodUs: 3_600_000_000 });
      return { mode: 'all_or_nothing', buckets: [{ key: `terms-memory:${i}`, limit: distinct, cost: 1 }] };
    });
    const decisions = await Promise.all(plans.map((p) => store.decide(p)));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(20_000);
    const functionsMemory = Number(/used_memory_vm_functions:(\d+)/.exec(String(await redis.command('INFO', 'memory')))?.[1]);
    expect(functionsMemory).toBeLessThan(4 * 2 ** 20);
  });
});

describe('while Redis refuses writes (min-replicas-to-write unmet)', () => {
  const look = (key: string): Plan => ({ mode: 'all_or_nothing', buckets: [{ key, limit, cost: 0 }] });

  it('a look (cost 0) is answered by the no-writes function; a decision is refused and charges nothing', async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const store = await storeOn(redis);
    await store.decide(plan('ro:a')); // the library is loaded
    expect(await redis.command('CONFIG', 'SET', 'min-replicas-to-write', '1')).toBe('OK');
    expect((await store.decide(look('ro:a'))).buckets[0]!.remaining).toBe(9);
    await expect(store.decide(plan('ro:a'))).rejects.toThrow(/NOREPLICAS/);
    expect(await levelOf(redis, 'ro:a')).toBe(9);
    const calls = await commandCallsOf(redis);
    expect(calls.evalsha).toBeUndefined();
  });

  it('before the library is loaded, which Redis then refuses, the call runs as a script: a look is answered', async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const store = await storeOn(redis);
    expect(await redis.command('CONFIG', 'SET', 'min-replicas-to-write', '1')).toBe('OK');
    expect((await store.decide(look('ro:b'))).buckets[0]!.remaining).toBe(10);
    await expect(store.decide(plan('ro:b'))).rejects.toThrow(/NOREPLICAS/);
    expect(await levelOf(redis, 'ro:b')).toBeUndefined();
    // Once Redis takes writes again, the next call loads the library and runs as a function.
    expect(await redis.command('CONFIG', 'SET', 'min-replicas-to-write', '0')).toBe('OK');
    expect((await store.decide(plan('ro:b'))).buckets[0]!.remaining).toBe(9);
    expect((await commandCallsOf(redis))['function|load']?.calls).toBe(1);
  });
});

describe('the ACL a rateguard user needs', () => {
  /** The decision ACL of docs/redis.md, less `without`. */
  const decisionAcl = (without: readonly string[] = []) =>
    ['resetchannels', '-@all', '+fcall', '+function|load', '+mget', '+exists', '+get', '+set', '+hmget', '+time', '+info', '+ping'].filter(
      (rule) => !without.includes(rule),
    );

  it('decides as a function with +fcall +function|load +mget +exists +get +set +hmget +time, and +info +ping for the connection', async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const store = await storeAsUser(redis, 'minimal', decisionAcl());
    for (let i = 0; i < 3; i++) expect((await store.decide(plan('minimal:a'))).allowed).toBe(true);
    await store.probe();
    const calls = await commandCallsOf(redis);
    expect(await levelOf(redis, 'minimal:a')).toBe(7);
    expect(calls.fcall).toEqual({ calls: 4, failed: 1 });
    // Each call read its key with one MGET; the first found none, and EXISTS said it is absent.
    expect(calls.mget).toEqual({ calls: 3, failed: 0 });
    expect(calls.exists).toEqual({ calls: 1, failed: 0 });
    expect(calls.get).toBeUndefined();
  });

  it('still decides, exactly, for a user with the ACL of earlier versions (no +mget +exists): each key is read with GET', async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const store = await storeAsUser(redis, 'earlier', decisionAcl(['+mget', '+exists']));
    for (let i = 0; i < 3; i++) expect((await store.decide(plan('earlier:a'))).allowed).toBe(true);
    const calls = await commandCallsOf(redis);
    expect(await levelOf(redis, 'earlier:a')).toBe(7);
    expect(calls.fcall).toEqual({ calls: 4, failed: 1 });
    expect(calls.get).toEqual({ calls: 3, failed: 0 });
  });
});

describe('the decide script where functions are missing', () => {
  it('runs as a script (EVALSHA) on a Redis whose FCALL and FUNCTION are renamed away, as on Redis < 7', async () => {
    const redis = await startRedis({ args: ['--rename-command', 'FCALL', '', '--rename-command', 'FUNCTION', ''] });
    cleanups.push(() => redis.stop());
    const store = await storeOn(redis);
    for (let i = 0; i < 4; i++) expect((await store.decide(plan('eval:a'))).allowed).toBe(true);
    expect(await levelOf(redis, 'eval:a')).toBe(6);
    const calls = await commandCallsOf(redis);
    expect(calls.fcall).toBeUndefined();
    // The first EVALSHA finds no script (NOSCRIPT: not counted as a call), EVAL loads and runs it, then EVALSHA.
    expect(calls.eval).toEqual({ calls: 1, failed: 0 });
    expect(calls.evalsha).toEqual({ calls: 3, failed: 0 });
  });

  it('runs as a script for a user whose ACL denies FCALL and FUNCTION', async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const store = await storeAsUser(redis, 'limiter', ['&*', '+@all', '-fcall', '-function']);
    for (let i = 0; i < 3; i++) expect((await store.decide(plan('acl:a'))).allowed).toBe(true);
    expect(await levelOf(redis, 'acl:a')).toBe(7);
    const calls = await commandCallsOf(redis);
    expect(calls.eval).toEqual({ calls: 1, failed: 0 });
    expect(calls.evalsha).toEqual({ calls: 2, failed: 0 });
    expect(calls.fcall?.calls ?? 0).toBe(0);
  });
});
