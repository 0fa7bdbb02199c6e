/**
 * One health state for both ports: gRPC `grpc.health.v1` and HTTP `/healthcheck` read it, SIGTERM
 * (draining) turns it to NOT_SERVING, and Watch streams hear every change.
 */
import { EventEmitter } from 'node:events';

export type ServingStatus = 'SERVING' | 'NOT_SERVING';

/** Service names the health service answers for: the whole server, and the reference's name. */
export const HEALTH_SERVICES: readonly string[] = ['', 'ratelimit', 'envoy.service.ratelimit.v3.RateLimitService'];

export class HealthState extends EventEmitter<{ change: [ServingStatus] }> {
  private current: ServingStatus = 'SERVING';

  get status(): ServingStatus {
    return this.current;
  }

  set(status: ServingStatus): void {
    if (status === this.current) return;
    this.current = status;
    this.emit('change', status);
  }
}
