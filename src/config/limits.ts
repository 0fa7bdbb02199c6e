/**
 * Engine limits built from config numbers, once per load.
 *
 * requests_per_unit: 0 (the reference's "block everything") becomes a limit of capacity 0 in the
 * limit's own algorithm: every charge (cost >= 1) exceeds the capacity and is denied, while a cost-0
 * look still answers. A token bucket needs refill > 0 (`checkLimitNumbers`), so it gets refill 1,
 * which cannot add anything to a bucket capped at 0. Nor does it take overdraft: a limit that admits
 * nothing has no debt to repay (the rules refuse `overdraft: true` there; the default skips it).
 */
import { fixedWindow, tokenBucket, unitToUs, type Algorithm, type Limit, type Unit } from '../engine/limit.js';

export interface LimitNumbers {
  readonly algorithm: Algorithm;
  readonly requestsPerUnit: number;
  readonly unit: Unit;
  /** Token bucket only; defaults to requestsPerUnit. */
  readonly capacity?: number | undefined;
  /** Every charge applied, into debt if need be (`Limit.overdraft`). Default false. */
  readonly overdraft?: boolean | undefined;
}

export function buildLimit(numbers: LimitNumbers): Limit {
  const periodUs = unitToUs(numbers.unit);
  const rpu = numbers.requestsPerUnit;
  const overdraft = rpu > 0 && numbers.overdraft === true;
  if (numbers.algorithm === 'fixed_window') return fixedWindow(rpu, periodUs, overdraft);
  if (rpu === 0) return tokenBucket({ capacity: 0, refillTokens: 1, periodUs });
  return tokenBucket({ capacity: numbers.capacity ?? rpu, refillTokens: rpu, periodUs, overdraft });
}

/** What a limit gets when its config does not say: `--default-algorithm`, `--overdraft`. */
export interface LimitDefaults {
  readonly algorithm: Algorithm;
  readonly overdraft: boolean;
}

/** Shares one frozen Limit per distinct id within a load. */
export class LimitInterner {
  private readonly limits = new Map<string, Limit>();

  get(numbers: LimitNumbers): Limit {
    const built = buildLimit(numbers);
    const known = this.limits.get(built.id);
    if (known !== undefined) return known;
    this.limits.set(built.id, built);
    return built;
  }
}
