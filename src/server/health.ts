/**
 * One health state for both ports (policy: docs/redis.md#health):
 * - the whole server ('' , 'ratelimit', the RLS service name) is SERVING until it drains — an
 *   unreachable Redis does not make it NOT_SERVING, so Kubernetes never restarts or unreadies
 *   every sidecar at once for a Redis outage that a restart cannot fix (the failure mode answers);
 * - 'redis' is NOT_SERVING while the store's circuit breaker is open, for monitoring and for
 *   operators who do want to route on it.
 * Watch streams hear every change.
 */
import { EventEmitter } from 'node:events';

export type ServingStatus = 'SERVING' | 'NOT_SERVING';

/** Service names answered like the whole server: the reference's name and the RLS service's. */
const SERVER_NAMES = new Set(['', 'ratelimit', 'envoy.service.ratelimit.v3.RateLimitService']);
export const REDIS_HEALTH_SERVICE = 'redis';

export class HealthState extends EventEmitter<{ change: [] }> {
  private serving: ServingStatus = 'SERVING';
  private redisUp = true;

  /** The whole server's status (SERVING until draining). */
  get status(): ServingStatus {
    return this.serving;
  }

  /** Whether the store answers (false while its circuit breaker is open). */
  get redisAvailable(): boolean {
    return this.redisUp;
  }

  /** A service's status, or undefined for a name this server does not know. */
  statusOf(service: string): ServingStatus | undefined {
    if (SERVER_NAMES.has(service)) return this.serving;
    if (service === REDIS_HEALTH_SERVICE) return this.serving === 'SERVING' && this.redisUp ? 'SERVING' : 'NOT_SERVING';
    return undefined;
  }

  set(status: ServingStatus): void {
    if (status === this.serving) return;
    this.serving = status;
    this.emit('change');
  }

  setRedisAvailable(up: boolean): void {
    if (up === this.redisUp) return;
    this.redisUp = up;
    this.emit('change');
  }
}
