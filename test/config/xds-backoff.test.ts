/** The xDS client's retry waits, as the reference's XDS_CLIENT_BACKOFF_* settings mean them. */
import { describe, expect, it } from 'vitest';
import { backoffDelayMs } from '../../src/config/xds-backoff.js';

const policy = { initialMs: 10_000, maxMs: 60_000, randomFactor: 0.5 };
const middle = () => 0.5;

describe('xDS retry backoff', () => {
  it('with jitter on, doubles from the initial interval up to the maximum', () => {
    expect([0, 1, 2, 3, 4, 40].map((attempt) => backoffDelayMs({ ...policy, exponential: true }, attempt, middle))).toEqual([
      10_000, 20_000, 40_000, 60_000, 60_000, 60_000,
    ]);
  });

  it('with jitter off, waits the initial interval every time', () => {
    expect([0, 1, 5].map((attempt) => backoffDelayMs({ ...policy, exponential: false }, attempt, middle))).toEqual([10_000, 10_000, 10_000]);
  });

  it('randomises each wait by the random factor either way, never past the maximum', () => {
    const exponential = { ...policy, exponential: true };
    expect([backoffDelayMs(exponential, 0, () => 0), backoffDelayMs(exponential, 0, () => 1), backoffDelayMs(exponential, 2, () => 1)]).toEqual([
      5000, 15_000, 60_000,
    ]);
  });
});
