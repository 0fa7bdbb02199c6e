/**
 * `npm run bench` / `npm run bench:quick`: every scenario of issue 7 in one run, then the JSON, the
 * Markdown report and the charts. Bounded in time (full about 12 min, quick about 3 min on 2 cores);
 * prints progress as it goes and the targets at the end.
 *
 *   node --import tsx bench/main.ts [--quick] [--only grpc,express,store,memory] [--cpu-prof]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BenchContext, TIMINGS } from './context.js';
import { expressGroup } from './express-scenarios.js';
import { grpcGroups } from './grpc-scenarios.js';
import { ensureH2load } from './h2load.js';
import { describeMachine, packageVersion, readCpuTimes, stolenShare } from './machine.js';
import { groupTable, writeReport } from './report.js';
import type { BenchResults, Group } from './results.js';
import { removeBenchConfig, startBenchRedis } from './servers.js';
import { memoryGroup, storeGroup } from './store-scenarios.js';
import { judgeTargets, verdict } from './targets.js';

/** Each section publishes its groups as they finish, so a failure later in a section keeps the earlier ones. */
const SECTIONS: Record<string, (ctx: BenchContext, publish: (group: Group) => void) => Promise<void>> = {
  grpc: grpcGroups,
  express: async (ctx, publish) => publish(await expressGroup(ctx)),
  store: async (ctx, publish) => publish(await storeGroup(ctx)),
  memory: async (ctx, publish) => publish(await memoryGroup(ctx)),
};

function parseArgs(argv: readonly string[]) {
  const quick = argv.includes('--quick');
  const onlyIndex = argv.indexOf('--only');
  const only = onlyIndex >= 0 ? (argv[onlyIndex + 1] ?? '').split(',') : Object.keys(SECTIONS);
  const unknown = only.filter((s) => !(s in SECTIONS));
  if (unknown.length > 0) throw new Error(`--only: unknown section ${unknown.join(', ')}; sections: ${Object.keys(SECTIONS).join(', ')}`);
  return { quick, only, cpuProfile: argv.includes('--cpu-prof') };
}

const args = parseArgs(process.argv.slice(2));
const mode = args.quick ? 'quick' : 'full';
const out = args.quick
  ? { json: 'bench/results/quick/benchmarks.json', markdown: 'bench/results/quick/benchmarks.md', charts: 'bench/results/quick/charts' }
  : { json: 'bench/results/benchmarks.json', markdown: 'docs/benchmarks.md', charts: 'docs/benchmarks' };
const started = Date.now();
const progress = (line: string) => {
  const s = Math.round((Date.now() - started) / 1000);
  console.log(`[${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}] ${line}`);
};
process.once('SIGINT', () => process.exit(130)); // exit hooks stop every child and Redis

const loadGenerators: Record<string, string> = { autocannon: packageVersion('autocannon') };
if (args.only.includes('grpc')) loadGenerators.h2load = ensureH2load(progress).replace(/^h2load /, '');
progress(`bench (${mode}): ${args.only.join(', ')}; starting Redis`);
const redis = await startBenchRedis();
const redisVersion = /redis_version:(\S+)/.exec(String(await redis.command('INFO', 'server')))?.[1] ?? 'unknown';
const scratch = mkdtempSync(join(tmpdir(), 'rg-bench-'));
const cpuProfileDir = args.cpuProfile ? join(process.cwd(), 'bench/results/profiles') : undefined;
const ctx: BenchContext = { timings: TIMINGS[mode], redis, scratch, cpuProfileDir, progress };
const machine = describeMachine(redisVersion, loadGenerators);
const cpuAtStart = readCpuTimes();
progress(`${machine.cores} cores, ${machine.cpu}, Node ${machine.node}, Redis ${redisVersion}, load average ${machine.loadAverage.toFixed(2)}`);

const groups: Group[] = [];
const failures: BenchResults['failures'] = [];
try {
  for (const section of args.only) {
    try {
      await redis.command('FLUSHALL');
      await SECTIONS[section]!(ctx, (group) => {
        groups.push(group);
        console.log(`\n${group.title}\n${groupTable(group)}\n`);
      });
    } catch (error) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      progress(`section ${section} FAILED: ${message}`);
      failures.push({ section, error: message });
    }
  }
} finally {
  await redis.stop();
  rmSync(scratch, { recursive: true, force: true });
  removeBenchConfig();
}

const stolen = stolenShare(cpuAtStart, readCpuTimes());
const extraArgs = process.argv.slice(2).filter((a) => a !== '--quick');
const results: BenchResults = {
  mode,
  command: [`npm run bench${args.quick ? ':quick' : ''}`, ...(extraArgs.length > 0 ? ['--', ...extraArgs] : [])].join(' '),
  startedAt: new Date(started).toISOString(),
  durationSeconds: (Date.now() - started) / 1000,
  settings: { rounds: ctx.timings.rounds, seconds: ctx.timings.seconds, warmupSeconds: ctx.timings.warmupSeconds, replicas: ctx.timings.replicas },
  machine: stolen === undefined ? machine : { ...machine, stolenShare: stolen },
  groups,
  targets: judgeTargets(groups),
  failures,
};
mkdirSync(join(out.json, '..'), { recursive: true });
writeFileSync(out.json, `${JSON.stringify(results, null, 2)}\n`);
writeReport(results, out.json, out.markdown, out.charts);
console.log('\nTargets (printed, not asserted):');
for (const target of results.targets) {
  const spread = target.perRound === undefined ? '' : ` (rounds ${target.perRound})`;
  console.log(`  ${verdict(target).padEnd(12)} ${target.measured.padStart(12)}  ${target.target}${spread}`);
}
progress(`wrote ${out.json}, ${out.markdown}, ${out.charts}/*.svg`);
if (failures.length > 0) process.exitCode = 1;
