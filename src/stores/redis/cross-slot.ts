/**
 * Redis Cluster: one script call may only touch one slot. A plan whose buckets live in several
 * slots is decided slot by slot; when one slot denies an all-or-nothing plan, the slots that
 * charged are refunded (script mode `r`). Guarantee: never more admitted than a limit allows; a
 * concurrent request may transiently see a charge that is about to be refunded (docs/redis.md).
 */
import calculateSlot from 'cluster-key-slot';
import type { BucketRequest, BucketResult } from '../../engine/plan.js';

/** Indexes of the plan's buckets grouped by cluster slot, groups in order of first appearance. */
export function slotGroups(buckets: readonly BucketRequest[]): number[][] {
  const bySlot = new Map<number, number[]>();
  buckets.forEach((bucket, i) => {
    const slot = calculateSlot(bucket.key);
    const group = bySlot.get(slot);
    if (group === undefined) bySlot.set(slot, [i]);
    else group.push(i);
  });
  return [...bySlot.values()];
}

/**
 * Whether this bucket's charge in an allowed all-or-nothing group is given back when another slot
 * denies: it was charged (`cost`, the sum over entries that repeat the key, docs/token-bucket-spec.md),
 * and is not an overdraft limit's, whose charges always count.
 */
export function isRefunded(bucket: BucketRequest, cost: number, result: BucketResult): boolean {
  return cost > 0 && result.allowed && !bucket.limit.overdraft;
}

/** The result a bucket reports once its key's charge `cost` has been given back (the TypeScript side of mode `r`). */
export function refundedResult(bucket: BucketRequest, result: BucketResult, cost: number): BucketResult {
  const { capacity, periodUs, refillTokens, algorithm } = bucket.limit;
  const level = Math.min(capacity, result.level + cost);
  const resetUs = algorithm === 'token_bucket' ? Math.ceil(((capacity - level) * periodUs) / refillTokens) : result.resetUs;
  return { ...result, level, remaining: Math.floor(level), resetUs };
}
