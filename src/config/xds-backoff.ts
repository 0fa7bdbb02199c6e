/**
 * How long the xDS client waits before re-dialling, as the reference's settings mean it:
 * XDS_CLIENT_BACKOFF_JITTER on is exponential backoff (initial, 2x, 4x …), off is linear (every wait
 * the initial interval); each wait is randomised by ±XDS_CLIENT_BACKOFF_RANDOM_FACTOR and capped at
 * XDS_CLIENT_BACKOFF_MAX_INTERVAL, so a fleet of sidecars does not re-dial its control plane in step.
 */
export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
  /** 0 to 1: each wait is drawn from [wait × (1 − factor), wait × (1 + factor)]. */
  readonly randomFactor: number;
  /** Exponential (true) or linear (false) growth. */
  readonly exponential: boolean;
}

/** The wait before retry number `attempt` (0 = the first retry after a failure). */
export function backoffDelayMs(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const base = policy.exponential ? policy.initialMs * 2 ** Math.min(attempt, 30) : policy.initialMs;
  const randomised = base * (1 + policy.randomFactor * (2 * random() - 1));
  return Math.round(Math.min(policy.maxMs, randomised));
}
