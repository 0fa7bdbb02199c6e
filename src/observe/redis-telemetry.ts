/**
 * Redis as the operator sees it: round-trip histogram, errors by kind (timeouts apart), up/down
 * from the last call, and the breaker and local cache read from StoreHealth. The wrapper goes
 * innermost, right around the Redis store, so it times Redis itself, not the layers above it.
 * It logs nothing: the breaker above it logs each state change once.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Decision, Plan } from '../engine/plan.js';
import { isStoreError, type BucketStore, type StoreErrorKind } from '../stores/store.js';
import { LATENCY_BUCKETS } from './decision-metrics.js';
import { type HistogramSeries, PullHistogram } from './pull-histogram.js';
import { BREAKER_STATES, type StoreHealth } from './store-health.js';

/** Overload is counted apart (rateguard_overload_total): it is not a Redis error. */
type RedisErrorKind = Exclude<StoreErrorKind, 'overloaded'>;
type RedisOperation = 'decide' | 'reset' | 'probe';
const ERROR_KINDS: readonly RedisErrorKind[] = ['timeout', 'unavailable', 'auth', 'failed'];

export interface RedisStatus {
  readonly up: boolean;
  readonly errors: Readonly<Record<RedisErrorKind, number>>;
  readonly breaker: ReturnType<StoreHealth['breakerState']> | undefined;
  readonly localCache: ReturnType<StoreHealth['localCache']>;
}

export class RedisTelemetry {
  private up = true;
  private readonly errors: Record<RedisErrorKind, number> = { timeout: 0, unavailable: 0, auth: 0, failed: 0 };
  private readonly roundTrip: Record<RedisOperation, HistogramSeries>;
  private readonly errorCounter: Counter<'kind'>;
  private health: StoreHealth | undefined;

  constructor(registry: Registry) {
    const roundTrip = new PullHistogram({
      name: 'rateguard_redis_round_trip_seconds',
      help: 'Redis round trips by operation (decide, reset, probe), successful or not.',
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
    this.roundTrip = {
      decide: roundTrip.labels({ operation: 'decide' }),
      reset: roundTrip.labels({ operation: 'reset' }),
      probe: roundTrip.labels({ operation: 'probe' }),
    };
    this.errorCounter = new Counter({
      name: 'rateguard_redis_errors_total',
      help: 'Redis calls that failed, by kind: timeout (Redis silent), unavailable (no connection), auth (credentials refused), failed (an error reply).',
      labelNames: ['kind'],
      registers: [registry],
    });
    for (const kind of ERROR_KINDS) this.errorCounter.inc({ kind }, 0);
    const status = () => this.status();
    new Gauge({
      name: 'rateguard_redis_up',
      help: '1 when the last Redis call succeeded, 0 when it failed.',
      registers: [registry],
      collect() {
        this.set(status().up ? 1 : 0);
      },
    });
    new Gauge({
      name: 'rateguard_redis_breaker_state',
      help: 'The circuit breaker in front of Redis: 1 for its current state.',
      labelNames: ['state'],
      registers: [registry],
      collect() {
        this.reset();
        const current = status().breaker;
        if (current !== undefined) for (const state of BREAKER_STATES) this.set({ state }, state === current ? 1 : 0);
      },
    });
    new Gauge({
      name: 'rateguard_local_cache_entries',
      help: 'Keys held in the local over-limit cache.',
      registers: [registry],
      collect() {
        this.set(status().localCache?.entries ?? 0);
      },
    });
    let mirroredHits = 0;
    new Counter({
      name: 'rateguard_local_cache_hits_total',
      help: 'Decisions answered by the local over-limit cache without asking Redis.',
      registers: [registry],
      collect() {
        const hits = status().localCache?.hits ?? 0;
        if (hits > mirroredHits) this.inc(hits - mirroredHits);
        mirroredHits = hits;
      },
    });
  }

  /** The breaker and local cache of the store layers, once they exist. */
  attachHealth(health: StoreHealth): void {
    this.health = health;
  }

  status(): RedisStatus {
    return { up: this.up, errors: { ...this.errors }, breaker: this.health?.breakerState(), localCache: this.health?.localCache() };
  }

  /** Wraps the Redis store: every call timed, every failure counted by kind. */
  instrument(store: BucketStore): BucketStore {
    return {
      decide: (plan: Plan): Promise<Decision> => this.timed('decide', () => store.decide(plan)),
      reset: (keys: readonly string[]) => this.timed('reset', () => store.reset(keys)),
      probe: () => this.timed('probe', () => store.probe()),
      close: () => store.close(),
    };
  }

  /** Plain promises, not async/await: this wraps every decision, and each async layer costs one promise more. */
  private timed<T>(operation: RedisOperation, call: () => Promise<T>): Promise<T> {
    const series = this.roundTrip[operation];
    const started = performance.now();
    return call().then(
      (result) => {
        series.observe((performance.now() - started) / 1000);
        this.up = true;
        return result;
      },
      (error: unknown) => {
        series.observe((performance.now() - started) / 1000);
        if (isStoreError(error) && error.kind !== 'overloaded') this.markFailed(error.kind);
        throw error;
      },
    );
  }

  private markFailed(kind: RedisErrorKind): void {
    this.up = false;
    this.errors[kind] += 1;
    this.errorCounter.inc({ kind });
  }
}
