import { costOfKey, decidePlan } from '../engine/bucket-math.js';
import { type Clock, systemClock } from '../engine/clock.js';
import type { BucketRequest, Decision, Plan } from '../engine/plan.js';
import { refundedState } from '../engine/refund.js';
import { BucketTable } from './bucket-table.js';
import type { RefundableStore } from './store.js';

export interface MemoryStoreOptions {
  /** Most buckets kept; past it the least recently used bucket is evicted (LRU). Default 1,000,000. */
  maxKeys?: number;
  /** How often expired buckets are swept, in ms. Default 1000. */
  sweepIntervalMs?: number;
  /** Current time in µs. Default: the system clock. */
  clock?: Clock;
}

/** Buckets examined per sweep tick, so a sweep never blocks the event loop for long. */
const SWEEP_BATCH = 10_000;

/**
 * Buckets in process memory, with the same math as the Redis script (src/engine/bucket-math.ts).
 * A JavaScript turn is atomic, so a decision needs no lock. LRU: every bucket a decision reads
 * becomes the most recently used, so a client that keeps being denied stays in memory (and
 * denied) however many new identities arrive. The buckets live in a BucketTable (about 24 bytes
 * of state per bucket, plus its key and the Map entry).
 */
export class MemoryStore implements RefundableStore {
  private readonly buckets: BucketTable;
  private readonly clock: Clock;
  private readonly sweeper: NodeJS.Timeout;

  constructor(options: MemoryStoreOptions = {}) {
    const maxKeys = options.maxKeys ?? 1_000_000;
    if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) {
      throw new RangeError(`maxKeys must be a whole number >= 1, got ${options.maxKeys}`);
    }
    this.buckets = new BucketTable(maxKeys);
    this.clock = options.clock ?? systemClock;
    this.sweeper = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 1000);
    this.sweeper.unref();
  }

  /** Buckets currently held (expired ones not yet swept included). */
  get size(): number {
    return this.buckets.size;
  }

  decide(plan: Plan): Promise<Decision> {
    return Promise.resolve(this.decideNow(plan));
  }

  /** The synchronous decision; `decide` wraps it for the store interface. */
  decideNow(plan: Plan): Decision {
    const now = this.clock();
    const stored = plan.buckets.map((bucket) => this.buckets.touch(bucket.key, now));
    const { decision, writes } = decidePlan(plan, stored, now);
    for (const write of writes) {
      this.buckets.set(plan.buckets[write.index]!.key, write.state, now + write.ttlUs);
    }
    return decision;
  }

  refund(buckets: readonly BucketRequest[]): Promise<void> {
    const now = this.clock();
    for (const key of new Set(buckets.map((bucket) => bucket.key))) {
      const live = this.buckets.peek(key, now);
      const state = refundedState(live?.state, buckets.find((bucket) => bucket.key === key)!.limit, costOfKey(buckets, key), now);
      // The expiry stays: a refunded bucket is full no later than the charged one would have been.
      if (state !== undefined) this.buckets.set(key, state, live!.expiresAt);
    }
    return Promise.resolve();
  }

  reset(keys: readonly string[]): Promise<number> {
    let removed = 0;
    for (const key of keys) if (this.buckets.delete(key)) removed++;
    return Promise.resolve(removed);
  }

  /** Process memory is always there. */
  probe(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    clearInterval(this.sweeper);
    this.buckets.clear();
    return Promise.resolve();
  }

  /** Removes expired buckets, a batch per tick, resuming where the last tick stopped. */
  private sweep(): void {
    this.buckets.sweep(this.clock(), SWEEP_BATCH);
  }
}
