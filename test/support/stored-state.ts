/**
 * A bucket's state as lua/token_bucket.lua stores it (docs/token-bucket-spec.md, "Stored state"):
 * one string of two little-endian doubles, level then stamp. For tests that seed or read Redis.
 */
import type { Redis } from 'ioredis';
import type { BucketState } from '../../src/engine/bucket-math.js';

export async function writeStoredState(redis: Redis, key: string, state: BucketState): Promise<void> {
  const value = Buffer.alloc(16);
  value.writeDoubleLE(state.level, 0);
  value.writeDoubleLE(state.stamp, 8);
  await redis.set(key, value);
}

/** The state stored under `key`, or undefined when there is none. */
export async function readStoredState(redis: Redis, key: string): Promise<BucketState | undefined> {
  const value = await redis.getBuffer(key);
  if (value === null) return undefined;
  if (value.length !== 16) throw new Error(`${key} holds ${value.length} bytes, not a bucket state`);
  return { level: value.readDoubleLE(0), stamp: value.readDoubleLE(8) };
}
