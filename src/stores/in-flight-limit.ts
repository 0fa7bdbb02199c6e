/**
 * Bounds the decisions waiting on the store. Past `maxInFlight`, a call is shed at once with a
 * StoreError of kind `overloaded`: this process is the bottleneck, not Redis, so it is answered
 * with its own status (gRPC RESOURCE_EXHAUSTED), counted apart, and never reaches the circuit
 * breaker or the failure mode below (docs/redis.md#overload).
 */
import type { Decision, Plan } from '../engine/plan.js';
import { type BucketStore, StoreError } from './store.js';

export interface InFlightLimitOptions {
  readonly maxInFlight: number;
}

export class InFlightLimit implements BucketStore {
  private inFlight = 0;
  private readonly done = () => {
    this.inFlight -= 1;
  };

  constructor(
    private readonly inner: BucketStore,
    private readonly options: InFlightLimitOptions,
  ) {}

  decide(plan: Plan): Promise<Decision> {
    if (this.inFlight >= this.options.maxInFlight) {
      return Promise.reject(new StoreError('overloaded', `rateguard overloaded: ${this.options.maxInFlight} decisions already waiting for the store`));
    }
    this.inFlight += 1;
    const decision = this.inner.decide(plan);
    decision.then(this.done, this.done);
    return decision;
  }

  reset(keys: readonly string[]): Promise<number> {
    return this.inner.reset(keys);
  }

  probe(): Promise<void> {
    return this.inner.probe();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
