/**
 * MemoryStore's buckets: key → state, bounded, least recently used first out. Built for bytes per
 * idle identity (bench/memory-per-key.ts; the measured split is in bench/analysis.md):
 * - no object per bucket: a Map from key to a slot number (a small integer, stored unboxed), and
 *   the slot's level, stamp and expiry side by side in one Float64Array (24 bytes);
 * - each key is stored once, flat: a key built by concatenation is a rope of string pieces that
 *   costs about twice its characters; the table keeps a flat copy, made once per new key, and
 *   re-inserts that same copy when it refreshes the key's place in the LRU order.
 */
import type { BucketState } from '../engine/bucket-math.js';
import { trimToSize } from './lru.js';

/** Doubles per slot: level, stamp, expiry (µs after which the state is as good as none). */
const FIELDS = 3;
const INITIAL_SLOTS = 1024;

/**
 * A flat copy of `text`. V8 keeps a string built with `+` or a template as a rope (one node per
 * piece, ~130 bytes more for a 70-character key, measured) until something flattens it; using it
 * as a property name makes V8 store a flat, internalized copy, which `Object.keys` hands back.
 */
function flatCopy(text: string): string {
  return Object.keys({ [text]: 0 })[0]!;
}

export class BucketTable {
  /** Key → slot, in LRU order (Map insertion order: the first is the least recently used). */
  private readonly slots = new Map<string, number>();
  /** The key stored for each slot ('' when free). */
  private readonly keys: string[] = [];
  private readonly freeSlots: number[] = [];
  private values = new Float64Array(FIELDS * INITIAL_SLOTS);
  private sweepCursor: Iterator<[string, number]> | undefined;
  /**
   * The slot of the most recently used key: touching it again changes no order. It needs no reset
   * when that key goes: a slot is only ever given to a new key, which becomes the newest.
   */
  private newestSlot = -1;

  constructor(private readonly maxKeys: number) {}

  get size(): number {
    return this.slots.size;
  }

  /**
   * The live state of `key`, made the most recently used. An expired state reads as none, but its
   * slot and key stay: the write that usually follows reuses them (a hot key under a roomy limit
   * expires between calls: re-making its entry each time was a visible share of a decision), and
   * the sweep drops it otherwise.
   */
  touch(key: string, now: number): BucketState | undefined {
    const slot = this.slots.get(key);
    if (slot === undefined) return undefined;
    // A hot key (one client, a route's global limit) is often the newest already: re-inserting it
    // would be two Map operations for the same order.
    if (slot !== this.newestSlot) {
      this.slots.delete(key);
      this.slots.set(this.keys[slot]!, slot);
      this.newestSlot = slot;
    }
    return this.values[FIELDS * slot + 2]! <= now ? undefined : this.stateAt(slot);
  }

  /** The live state of `key` and its expiry, without changing its place in the LRU order. */
  peek(key: string, now: number): { state: BucketState; expiresAt: number } | undefined {
    const slot = this.slots.get(key);
    if (slot === undefined) return undefined;
    const expiresAt = this.values[FIELDS * slot + 2]!;
    return expiresAt <= now ? undefined : { state: this.stateAt(slot), expiresAt };
  }

  /**
   * Stores `state`. A new key becomes the most recently used (evicting the least recently used past
   * the bound); a known one keeps its place, which the `touch` before a decision's write just set.
   */
  set(key: string, state: BucketState, expiresAt: number): void {
    let slot = this.slots.get(key);
    if (slot === undefined) {
      slot = this.allocate(key);
      this.slots.set(this.keys[slot]!, slot);
      this.newestSlot = slot;
      trimToSize(this.slots, this.maxKeys, this.evicted);
    }
    const at = FIELDS * slot;
    this.values[at] = state.level;
    this.values[at + 1] = state.stamp;
    this.values[at + 2] = expiresAt;
  }

  delete(key: string): boolean {
    const slot = this.slots.get(key);
    if (slot === undefined) return false;
    this.slots.delete(key);
    this.release(slot);
    return true;
  }

  clear(): void {
    this.slots.clear();
    this.keys.length = 0;
    this.freeSlots.length = 0;
    this.sweepCursor = undefined;
  }

  /** Drops up to `batch` expired buckets, resuming where the last call stopped. */
  sweep(now: number, batch: number): void {
    this.sweepCursor ??= this.slots.entries();
    for (let i = 0; i < batch; i++) {
      const next = this.sweepCursor.next();
      if (next.done === true) {
        this.sweepCursor = undefined;
        return;
      }
      const [key, slot] = next.value;
      if (this.values[FIELDS * slot + 2]! <= now) this.delete(key);
    }
  }

  private stateAt(slot: number): BucketState {
    return { level: this.values[FIELDS * slot]!, stamp: this.values[FIELDS * slot + 1]! };
  }

  private allocate(key: string): number {
    const slot = this.freeSlots.pop() ?? this.keys.length;
    this.keys[slot] = flatCopy(key);
    if (FIELDS * (slot + 1) > this.values.length) {
      // Doubling, but never past the bound (the table holds at most maxKeys + 1 for a moment).
      const grown = new Float64Array(FIELDS * Math.min(2 * (this.values.length / FIELDS), this.maxKeys + 1));
      grown.set(this.values);
      this.values = grown;
    }
    return slot;
  }

  private release(slot: number): void {
    this.keys[slot] = '';
    this.freeSlots.push(slot);
  }

  private readonly evicted = (_key: string, slot: number): void => {
    this.release(slot);
  };
}
