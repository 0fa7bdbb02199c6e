/**
 * Overload is handled on purpose (docs/redis.md#overload): a call whose caller already gave up is
 * not worth a store round trip, and a call past the in-flight bound is shed — both counted as
 * overload, never as a store failure.
 */
import { describe, expect, it } from 'vitest';
import type { Decision, Plan } from '../../src/engine/plan.js';
import type { RateLimitRequest } from '../../src/rls/codec.js';
import type { ShedReason } from '../../src/service/decision-observer.js';
import type { RateLimitService } from '../../src/service/rate-limit-service.js';
import { InFlightLimit } from '../../src/stores/in-flight-limit.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import type { BucketStore } from '../../src/stores/store.js';
import { snapshotOf } from '../config/helpers.js';
import { testService } from '../support/service.js';

const config = snapshotOf('domain: o\ndescriptors:\n  - key: k\n    rate_limit: { unit: hour, requests_per_unit: 10 }\n');
const request: RateLimitRequest = { domain: 'o', descriptors: [{ entries: [{ key: 'k', value: 'v' }] }], hitsAddend: 0 };

/** A store that decides in memory but holds every answer until released. */
class HeldStore implements BucketStore {
  readonly memory = new MemoryStore();
  decided = 0;
  private held: (() => void)[] = [];
  decide(plan: Plan): Promise<Decision> {
    this.decided += 1;
    return new Promise((resolve) => this.held.push(() => resolve(this.memory.decideNow(plan))));
  }
  release(): void {
    for (const answer of this.held.splice(0)) answer();
  }
  reset = (keys: readonly string[]) => this.memory.reset(keys);
  probe = () => Promise.resolve();
  close = () => this.memory.close();
}

function service(store: BucketStore, shed: ShedReason[]): RateLimitService {
  return testService(store, config, { observe: () => {}, shed: (reason) => shed.push(reason) });
}

describe('overload', () => {
  it('a call whose deadline has passed is answered deadline_exceeded without asking the store', async () => {
    const store = new HeldStore();
    const shed: ShedReason[] = [];
    const result = await service(store, shed).shouldRateLimit(request, { deadlineMs: Date.now() - 1 });
    expect(result).toEqual({ ok: false, kind: 'deadline_exceeded', message: "the caller's deadline passed before the store was asked" });
    expect([store.decided, shed]).toEqual([0, ['deadline']]);
  });

  it('a call with time left is decided', async () => {
    const store = new HeldStore();
    const shed: ShedReason[] = [];
    const pending = service(store, shed).shouldRateLimit(request, { deadlineMs: Date.now() + 60_000 });
    store.release();
    expect((await pending).ok).toBe(true);
    expect([store.decided, shed]).toEqual([1, []]);
  });

  it('past the in-flight bound calls are shed as overloaded at once; the bound frees as answers come', async () => {
    const store = new HeldStore();
    const shed: ShedReason[] = [];
    const rls = service(new InFlightLimit(store, { maxInFlight: 3 }), shed);
    const calls = Array.from({ length: 5 }, () => rls.shouldRateLimit(request));
    const early = await Promise.all(calls.slice(3));
    expect(early.map((r) => (r.ok ? 'ok' : r.kind))).toEqual(['overloaded', 'overloaded']);
    expect(early[0]).toMatchObject({ message: 'rateguard overloaded: 3 decisions already waiting for the store' });
    store.release();
    expect((await Promise.all(calls.slice(0, 3))).map((r) => r.ok)).toEqual([true, true, true]);
    const after = rls.shouldRateLimit(request);
    store.release();
    expect((await after).ok).toBe(true);
    expect([store.decided, shed]).toEqual([4, ['in_flight', 'in_flight']]);
  });
});
