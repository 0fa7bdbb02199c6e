/**
 * A child span per decide call of the Redis store: one script call, or one per slot group in a
 * Cluster. Started in the active context, so it is the child of the call's server span; a store
 * error ends it with status ERROR and the exception recorded.
 */
import { type ContextManager, SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import { ATTR_DB_SYSTEM_NAME } from '@opentelemetry/semantic-conventions';
import type { Decision, Plan } from '../engine/plan.js';
import { slotGroups } from '../stores/redis/cross-slot.js';
import type { BucketStore } from '../stores/store.js';

export const STORE_SPAN_NAME = 'rateguard.redis.decide';

/** Wraps the Redis store (as RedisTelemetry.instrument does): only decide is traced. */
export function traceDecisions(store: BucketStore, tracer: Tracer, contexts: ContextManager, cluster: boolean): BucketStore {
  return {
    async decide(plan: Plan): Promise<Decision> {
      const span = tracer.startSpan(STORE_SPAN_NAME, { kind: SpanKind.CLIENT }, contexts.active());
      span.setAttribute(ATTR_DB_SYSTEM_NAME, 'redis');
      span.setAttribute('rateguard.redis.key_count', plan.buckets.length);
      // In a Cluster the plan is decided one slot group at a time.
      if (cluster) span.setAttribute('rateguard.redis.slot_groups', slotGroups(plan.buckets).length);
      try {
        return await store.decide(plan);
      } catch (error) {
        span.recordException(error as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
        throw error;
      } finally {
        span.end();
      }
    },
    reset: (keys) => store.reset(keys),
    probe: () => store.probe(),
    close: () => store.close(),
  };
}
