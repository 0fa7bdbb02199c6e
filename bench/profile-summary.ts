/**
 * Where a V8 CPU profile's time went: self time per function and per area (grpc-js, http2 internals,
 * rateguard's codec / service / stores, GC, idle). For the profiles `npm run bench -- --cpu-prof` writes.
 *
 *   npx tsx bench/profile-summary.ts bench/results/profiles/redis/*.cpuprofile [--top 25]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
}

/** First match wins: dependencies before rateguard's own src/ (grpc-js has a build/src/ too). */
const AREAS: [string, RegExp][] = [
  ['@grpc/grpc-js', /node_modules\/@grpc\/grpc-js/],
  ['protobufjs', /node_modules\/(protobufjs|@protobufjs)/],
  ['ioredis', /node_modules\/(ioredis|redis-parser|denque|cluster-key-slot|@ioredis)/],
  ['prom-client', /node_modules\/prom-client/],
  ['pino', /node_modules\/(pino|sonic-boom)/],
  ['other dependencies', /node_modules\//],
  ['rateguard rls codec', /\/(src|dist)\/rls\//],
  ['rateguard service', /\/(src|dist)\/service\//],
  ['rateguard stores', /\/(src|dist)\/stores\//],
  ['rateguard engine', /\/(src|dist)\/engine\//],
  ['rateguard config', /\/(src|dist)\/config\//],
  ['rateguard server', /\/(src|dist)\/server\//],
  ['rateguard transport (node:http2 gRPC)', /\/(src|dist)\/transport\//],
  ['rateguard observe', /\/(src|dist)\/observe\//],
  ['rateguard other', /\/(src|dist)\//],
  ['node internals', /^node:/],
];
const SPECIAL = new Set(['(garbage collector)', '(program)', '(idle)', '(root)']);

function areaOf(node: ProfileNode): string {
  const { url, functionName } = node.callFrame;
  if (url === '') return SPECIAL.has(functionName) ? functionName : 'native (V8 builtins, C++ bindings)';
  return AREAS.find(([, pattern]) => pattern.test(url))?.[0] ?? 'other JS';
}

function summarise(file: string, top: number): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const total = profile.nodes.reduce((sum, n) => sum + (n.hitCount ?? 0), 0);
  const idle = profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').reduce((sum, n) => sum + (n.hitCount ?? 0), 0);
  const busy = total - idle;
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (hits === 0 || node.callFrame.functionName === '(idle)') continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const name = `${functionName || '(anonymous)'} ${url.replace(/^.*?\/(node_modules|src)\//, '$1/')}:${lineNumber + 1}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + hits);
    byArea.set(areaOf(node), (byArea.get(areaOf(node)) ?? 0) + hits);
  }
  const percent = (hits: number) => `${((100 * hits) / busy).toFixed(1).padStart(5)}%`;
  console.log(`\n${file}: ${total} samples, ${((100 * idle) / total).toFixed(1)}% idle; shares below are of the busy time`);
  console.log('  by area:');
  for (const [area, hits] of [...byArea].sort((a, b) => b[1] - a[1])) console.log(`    ${percent(hits)}  ${area}`);
  console.log(`  top ${top} functions (self time):`);
  for (const [name, hits] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`    ${percent(hits)}  ${name}`);
}

const args = process.argv.slice(2);
const topIndex = args.indexOf('--top');
const top = topIndex >= 0 ? Number(args[topIndex + 1]) : 25;
for (const file of args.filter((a, i) => !a.startsWith('--') && i !== topIndex + 1)) summarise(file, top);
