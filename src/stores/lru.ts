/**
 * A Map used as an LRU (insertion order = recency). Eviction goes in batches: V8 leaves deleted
 * entries as holes at the front of a Map until it rehashes, so finding the oldest entry one at a
 * time would rescan those holes on every eviction (measured 5× slower per decision when full).
 * `onEvict` is told each entry evicted.
 */
export function trimToSize<K, V>(map: Map<K, V>, maxEntries: number, onEvict?: (key: K, value: V) => void): void {
  if (map.size <= maxEntries) return;
  // Below 128 entries exactly to the bound; above, 1/128 of it more, so evictions come in batches.
  let excess = map.size - maxEntries + Math.floor(maxEntries / 128);
  for (const [key, value] of map) {
    if (excess-- <= 0) break;
    map.delete(key);
    onEvict?.(key, value);
  }
}
