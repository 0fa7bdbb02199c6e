/**
 * A bound on label cardinality. Metric keys come from config (bounded) but also from request
 * limit overrides and `detailed_metric` values (chosen by clients): past `max` distinct keys, new
 * ones are folded into OVERFLOW_KEY, so memory and scrape size stay bounded under any traffic.
 */
export const OVERFLOW_KEY = '_other';

export class BoundedKeys {
  private readonly admitted = new Set<string>();
  private overflowed = false;

  constructor(
    private readonly max: number,
    /** Told once, the first time a key is folded. */
    private readonly onOverflow: (key: string) => void = () => undefined,
  ) {}

  /** `key` while there is room (or it is already in), else OVERFLOW_KEY. */
  admit(key: string): string {
    if (this.admitted.has(key)) return key;
    if (this.admitted.size < this.max) {
      this.admitted.add(key);
      return key;
    }
    if (!this.overflowed) {
      this.overflowed = true;
      this.onOverflow(key);
    }
    return OVERFLOW_KEY;
  }
}
