/**
 * Space-Saving (Metwally et al., 2005): the heaviest keys of a stream in a fixed number of
 * counters, whatever the number of distinct keys. A new key takes over the smallest counter and
 * inherits its count as `error`, so `count - error <= true count <= count`, and every key whose
 * true count exceeds total/capacity is guaranteed to be held. A min-heap finds the smallest
 * counter in O(log capacity).
 */

export interface HeavyHitter<T> {
  readonly key: string;
  readonly item: T;
  /** An upper bound of the key's weight since it was last taken in. */
  readonly count: number;
  /** How much of `count` may belong to keys it replaced. */
  readonly error: number;
}

interface Slot<T> {
  key: string;
  item: T;
  count: number;
  error: number;
  heapIndex: number;
}

export class SpaceSaving<T> {
  private readonly heap: Slot<T>[] = [];
  private readonly slots = new Map<string, Slot<T>>();

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a whole number >= 1, got ${capacity}`);
  }

  get size(): number {
    return this.heap.length;
  }

  /** Adds `weight` to `key`; `item` is what `top` returns for it (kept from when the key came in). */
  add(key: string, item: T, weight = 1): void {
    const held = this.slots.get(key);
    if (held !== undefined) {
      held.count += weight;
      this.siftDown(held.heapIndex);
      return;
    }
    if (this.heap.length < this.capacity) {
      const slot: Slot<T> = { key, item, count: weight, error: 0, heapIndex: this.heap.length };
      this.heap.push(slot);
      this.slots.set(key, slot);
      this.siftUp(slot.heapIndex);
      return;
    }
    // Replace the smallest counter in place: the heap's root.
    const smallest = this.heap[0]!;
    this.slots.delete(smallest.key);
    smallest.error = smallest.count;
    smallest.count += weight;
    smallest.key = key;
    smallest.item = item;
    this.slots.set(key, smallest);
    this.siftDown(0);
  }

  /** Forgets a key (after its buckets were reset). */
  remove(key: string): boolean {
    const slot = this.slots.get(key);
    if (slot === undefined) return false;
    this.slots.delete(key);
    const last = this.heap.pop()!;
    if (last !== slot) {
      this.heap[slot.heapIndex] = last;
      last.heapIndex = slot.heapIndex;
      this.siftDown(last.heapIndex);
      this.siftUp(last.heapIndex);
    }
    return true;
  }

  /** The `n` heaviest keys, heaviest first; ties by key, so the order is stable. */
  top(n: number): HeavyHitter<T>[] {
    return [...this.heap]
      .sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .slice(0, n)
      .map(({ key, item, count, error }) => ({ key, item, count, error }));
  }

  private swap(i: number, j: number): void {
    const a = this.heap[i]!;
    const b = this.heap[j]!;
    this.heap[i] = b;
    this.heap[j] = a;
    a.heapIndex = j;
    b.heapIndex = i;
  }

  private siftUp(index: number): void {
    let i = index;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.heap[parent]!.count <= this.heap[i]!.count) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private siftDown(index: number): void {
    let i = index;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < this.heap.length && this.heap[left]!.count < this.heap[smallest]!.count) smallest = left;
      if (right < this.heap.length && this.heap[right]!.count < this.heap[smallest]!.count) smallest = right;
      if (smallest === i) return;
      this.swap(i, smallest);
      i = smallest;
    }
  }
}
