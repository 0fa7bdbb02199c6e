/**
 * One health state for both ports (policy: docs/redis.md#health):
 * - with Redis, the whole server ('', 'ratelimit', the RLS service name) is NOT_SERVING until Redis
 *   first answered, so Kubernetes sends no traffic to a pod that cannot decide yet (a rollout
 *   waits instead of replacing working pods); calls that arrive anyway get the failure mode at once;
 * - after that it is SERVING until it drains — an unreachable Redis does not make it NOT_SERVING,
 *   so Kubernetes never restarts or unreadies every sidecar at once for a Redis outage that a
 *   restart cannot fix (the failure mode answers);
 * - 'redis' is NOT_SERVING while Redis is not connected, is silent, or the circuit breaker is open:
 *   for monitoring and for operators who do want to route on it.
 * Watch streams hear every change.
 */
import { EventEmitter } from 'node:events';

export type ServingStatus = 'SERVING' | 'NOT_SERVING';

/** Service names answered like the whole server: the reference's name and the RLS service's. */
const SERVER_NAMES = new Set(['', 'ratelimit', 'envoy.service.ratelimit.v3.RateLimitService']);
export const REDIS_HEALTH_SERVICE = 'redis';

export interface HealthOptions {
  /** The server is NOT_SERVING until `setRedisConnected(true)` is first called. */
  readonly waitForRedis: boolean;
}

export class HealthState extends EventEmitter<{ change: [] }> {
  private draining = false;
  private redisAnsweredOnce: boolean;
  private redisConnected: boolean;
  private breakerClosed = true;

  constructor(options: HealthOptions = { waitForRedis: false }) {
    super();
    this.redisAnsweredOnce = !options.waitForRedis;
    this.redisConnected = !options.waitForRedis;
  }

  /** The whole server's status. */
  get status(): ServingStatus {
    return !this.draining && this.redisAnsweredOnce ? 'SERVING' : 'NOT_SERVING';
  }

  /** Whether Redis is expected to decide: connected, answering, breaker closed. */
  get redisAvailable(): boolean {
    return this.redisConnected && this.breakerClosed;
  }

  /** A service's status, or undefined for a name this server does not know. */
  statusOf(service: string): ServingStatus | undefined {
    if (SERVER_NAMES.has(service)) return this.status;
    if (service === REDIS_HEALTH_SERVICE) return this.status === 'SERVING' && this.redisAvailable ? 'SERVING' : 'NOT_SERVING';
    return undefined;
  }

  /** Resolves once the whole server is SERVING (with Redis: once Redis first answered). */
  whenServing(): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.status !== 'SERVING') return;
        this.off('change', check);
        resolve();
      };
      this.on('change', check);
      check();
    });
  }

  /** From SIGTERM on: NOT_SERVING for good. */
  drain(): void {
    this.update(() => (this.draining = true));
  }

  /** Redis connected and answering (false: not connected, or silent). */
  setRedisConnected(up: boolean): void {
    this.update(() => {
      this.redisConnected = up;
      if (up) this.redisAnsweredOnce = true;
    });
  }

  setBreakerClosed(closed: boolean): void {
    this.update(() => (this.breakerClosed = closed));
  }

  private update(change: () => void): void {
    const status = this.status;
    const redis = this.redisAvailable;
    change();
    if (this.status !== status || this.redisAvailable !== redis) this.emit('change');
  }
}
