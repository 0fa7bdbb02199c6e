/**
 * A bucket's state as lua/token_bucket.lua stores it (docs/token-bucket-spec.md, "Stored state"):
 * one string of three little-endian doubles, level, stamp and the ms before which the key does not
 * expire. For tests that seed or read Redis, or read its replies.
 */
import type { Redis } from 'ioredis';
import type { BucketState } from '../../src/engine/bucket-math.js';

/** Seeds a state with no expiry known (0): the script's next charge sets one. */
export async function writeStoredState(redis: Redis, key: string, state: BucketState): Promise<void> {
  const value = Buffer.alloc(24);
  value.writeDoubleLE(state.level, 0);
  value.writeDoubleLE(state.stamp, 8);
  await redis.set(key, value);
}

/** The state stored under `key`, or undefined when there is none. */
export async function readStoredState(redis: Redis, key: string): Promise<BucketState | undefined> {
  const value = await redis.getBuffer(key);
  if (value === null) return undefined;
  if (value.length !== 24) throw new Error(`${key} holds ${value.length} bytes, not a bucket state`);
  return { level: value.readDoubleLE(0), stamp: value.readDoubleLE(8) };
}

/** The ms (Redis' clock, or the test's `nowUs` / 1000) before which the script knows the key does not expire. */
export async function readStoredExpiry(redis: Redis, key: string): Promise<number | undefined> {
  const value = await redis.getBuffer(key);
  return value === null ? undefined : value.readDoubleLE(16);
}

/** The script's reply for plans with no bucket results (refunds): its time, then each plan's status byte. */
export function replyOf(nowUs: number, statuses: readonly number[]): Buffer {
  const time = Buffer.alloc(8);
  time.writeDoubleLE(nowUs, 0);
  return Buffer.concat([time, Buffer.from(statuses)]);
}
