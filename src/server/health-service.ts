/**
 * grpc.health.v1 semantics shared by both gRPC servers: an unknown service name is NOT_FOUND for
 * Check, and SERVICE_UNKNOWN for Watch (which keeps watching: the name may appear later); a Watch
 * hears its service's status at once and then at every change of it.
 */
import type { HealthAnswer } from './health-codec.js';
import type { HealthState } from './health.js';

export function healthAnswer(health: HealthState, service: string): HealthAnswer {
  return health.statusOf(service) ?? 'SERVICE_UNKNOWN';
}

export function unknownServiceDetails(service: string): string {
  return `unknown service "${service}"`;
}

/** Sends `service`'s status now and whenever it changes; returns the function that stops watching. */
export function watchHealth(health: HealthState, service: string, send: (answer: HealthAnswer) => void): () => void {
  let last = healthAnswer(health, service);
  send(last);
  const changed = () => {
    const now = healthAnswer(health, service);
    if (now === last) return;
    last = now;
    send(now);
  };
  health.on('change', changed);
  return () => health.off('change', changed);
}
