/**
 * MemoryStore bytes per idle key: memory after N one-token decisions on N distinct clients, minus
 * before, over N: the JavaScript heap (the Map, the key strings) plus array buffers (the bucket
 * table's Float64Array lives outside the heap), and the process RSS alongside. Run with --expose-gc
 * so both readings follow a full collection; prints one JSON line.
 *
 *   node --expose-gc --import tsx bench/memory-per-key.ts 1000000
 */
import { rateguard } from './rateguard-build.js';
import { clientAddress } from './grpc-bodies.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');
const keys = Number(process.argv[2] ?? 1_000_000);
const limit = rateguard.tokenBucket({ capacity: 60, refillTokens: 60, periodUs: 60_000_000 });
/** A realistic key: a remote_address descriptor of the bench domain, as the sidecar builds it. */
const keyOf = (i: number) => rateguard.bucketKey('rg:', limit.id, rateguard.encodeIdentity('bench', [{ key: 'remote_address', value: clientAddress(i) }]));

const used = () => {
  const { heapUsed, arrayBuffers, rss } = process.memoryUsage();
  return { bytes: heapUsed + arrayBuffers, rss };
};
gc();
const before = used();
// Sweeping is off (a day apart) so every bucket is still there when the heap is read.
const store = new rateguard.MemoryStore({ maxKeys: keys, sweepIntervalMs: 86_400_000 });
for (let i = 0; i < keys; i++) store.decideNow({ mode: 'all_or_nothing', buckets: [{ key: keyOf(i), limit, cost: 1 }] });
gc();
const after = used();
if (store.size !== keys) throw new Error(`expected ${keys} buckets, the store holds ${store.size}`);
console.log(
  JSON.stringify({
    keys,
    bytesPerKey: (after.bytes - before.bytes) / keys,
    rssPerKey: (after.rss - before.rss) / keys,
    keyLength: keyOf(keys - 1).length,
    heapMb: after.bytes / 1e6,
  }),
);
await store.close();
