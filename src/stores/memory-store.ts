import type { BucketState } from '../engine/bucket-math.js';
import { costOfKey, decidePlan } from '../engine/bucket-math.js';
import { type Clock, systemClock } from '../engine/clock.js';
import type { BucketRequest, Decision, Plan } from '../engine/plan.js';
import { refundedState } from '../engine/refund.js';
import { trimToSize } from './lru.js';
import type { RefundableStore } from './store.js';

export interface MemoryStoreOptions {
  /** Most buckets kept; past it the least recently used bucket is evicted (LRU). Default 1,000,000. */
  maxKeys?: number;
  /** How often expired buckets are swept, in ms. Default 1000. */
  sweepIntervalMs?: number;
  /** Current time in µs. Default: the system clock. */
  clock?: Clock;
}

interface Entry {
  level: number;
  stamp: number;
  /** µs after which the entry is equivalent to no state at all. */
  expiresAt: number;
}

/** Buckets examined per sweep tick, so a sweep never blocks the event loop for long. */
const SWEEP_BATCH = 10_000;

/**
 * Buckets in process memory, with the same math as the Redis script (src/engine/bucket-math.ts).
 * A JavaScript turn is atomic, so a decision needs no lock. The Map's insertion order is the LRU
 * order: every bucket a decision reads is moved to the end, so a client that keeps being denied
 * stays in memory (and denied) however many new identities arrive.
 */
export class MemoryStore implements RefundableStore {
  private readonly entries = new Map<string, Entry>();
  private readonly maxKeys: number;
  private readonly clock: Clock;
  private readonly sweeper: NodeJS.Timeout;
  private sweepCursor: Iterator<[string, Entry]> | undefined;

  constructor(options: MemoryStoreOptions = {}) {
    this.maxKeys = options.maxKeys ?? 1_000_000;
    if (!Number.isSafeInteger(this.maxKeys) || this.maxKeys < 1) {
      throw new RangeError(`maxKeys must be a whole number >= 1, got ${options.maxKeys}`);
    }
    this.clock = options.clock ?? systemClock;
    this.sweeper = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 1000);
    this.sweeper.unref();
  }

  /** Buckets currently held (expired ones not yet swept included). */
  get size(): number {
    return this.entries.size;
  }

  decide(plan: Plan): Promise<Decision> {
    return Promise.resolve(this.decideNow(plan));
  }

  /** The synchronous decision; `decide` wraps it for the store interface. */
  decideNow(plan: Plan): Decision {
    const now = this.clock();
    const stored = plan.buckets.map((bucket) => this.read(bucket.key, now));
    const { decision, writes } = decidePlan(plan, stored, now);
    for (const write of writes) {
      this.write(plan.buckets[write.index]!.key, write.state, now + write.ttlUs);
    }
    return decision;
  }

  refund(buckets: readonly BucketRequest[]): Promise<void> {
    const now = this.clock();
    for (const key of new Set(buckets.map((bucket) => bucket.key))) {
      const entry = this.entries.get(key);
      const live = entry === undefined || entry.expiresAt <= now ? undefined : entry;
      const state = refundedState(live, buckets.find((bucket) => bucket.key === key)!.limit, costOfKey(buckets, key), now);
      // The expiry stays: a refunded bucket is full no later than the charged one would have been.
      if (state !== undefined) this.write(key, state, live!.expiresAt);
    }
    return Promise.resolve();
  }

  reset(keys: readonly string[]): Promise<number> {
    let removed = 0;
    for (const key of keys) if (this.entries.delete(key)) removed++;
    return Promise.resolve(removed);
  }

  /** Process memory is always there. */
  probe(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    clearInterval(this.sweeper);
    this.entries.clear();
    return Promise.resolve();
  }

  private read(key: string, now: number): BucketState | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    if (entry.expiresAt <= now) return undefined;
    this.entries.set(key, entry);
    return entry;
  }

  private write(key: string, state: BucketState, expiresAt: number): void {
    this.entries.delete(key);
    this.entries.set(key, { level: state.level, stamp: state.stamp, expiresAt });
    trimToSize(this.entries, this.maxKeys);
  }

  /** Removes expired buckets, a batch per tick, resuming where the last tick stopped. */
  private sweep(): void {
    const now = this.clock();
    this.sweepCursor ??= this.entries.entries();
    for (let i = 0; i < SWEEP_BATCH; i++) {
      const next = this.sweepCursor.next();
      if (next.done === true) {
        this.sweepCursor = undefined;
        return;
      }
      const [key, entry] = next.value;
      if (entry.expiresAt <= now) this.entries.delete(key);
    }
  }
}
