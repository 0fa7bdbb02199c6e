/**
 * A circuit breaker for the store: after `threshold` consecutive failures it opens, and callers
 * stop waiting on a store that is not answering (they get the failure mode at once). While open,
 * a background probe runs every `probeIntervalMs`; the first success closes it again.
 */
export type BreakerState = 'closed' | 'open';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the breaker. */
  readonly threshold: number;
  readonly probeIntervalMs: number;
  /** Resolves when the store answers again. */
  readonly probe: () => Promise<void>;
  readonly onChange?: (state: BreakerState) => void;
}

export class CircuitBreaker {
  private current: BreakerState = 'closed';
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private probing = false;

  constructor(private readonly options: CircuitBreakerOptions) {}

  get state(): BreakerState {
    return this.current;
  }

  get isOpen(): boolean {
    return this.current === 'open';
  }

  success(): void {
    this.failures = 0;
  }

  failure(): void {
    this.failures += 1;
    if (this.current === 'closed' && this.failures >= this.options.threshold) this.transition('open');
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
  }

  /**
   * While open: probe now rather than at the next interval. For when the store itself sees it can
   * answer again (Redis answered after a silence, or reconnected), so a short fault costs its own
   * length, not a whole probe interval of failure-mode answers.
   */
  probeNow(): void {
    if (this.current !== 'open' || this.stopped || this.probing) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.probe();
  }

  private transition(state: BreakerState): void {
    this.current = state;
    this.failures = 0;
    this.options.onChange?.(state);
    if (state === 'open') this.scheduleProbe();
  }

  private scheduleProbe(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.probe(), this.options.probeIntervalMs);
    // Probing alone never keeps the process alive.
    this.timer.unref();
  }

  private probe(): void {
    this.probing = true;
    this.options.probe().then(
      () => {
        this.probing = false;
        if (this.current === 'open') this.transition('closed');
      },
      () => {
        this.probing = false;
        this.scheduleProbe();
      },
    );
  }
}
