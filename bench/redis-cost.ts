/**
 * Redis's own cost of a run, from `INFO commandstats` read before and after it: the figure that decides
 * how many decisions one Redis core serves for a whole fleet. Deltas over the run, not Redis's lifetime
 * averages:
 * - redisUsPerCall: Δusec / Δcalls of the decide calls (FCALL; EVALSHA and EVAL where Redis has no functions);
 * - redisCallsPerDecision: Δ script calls / decisions (OK + OVER_LIMIT answers, not errors);
 * - redisUsPerDecision: their product, Δ script usec / decisions;
 * - commandsPerDecision: Δ calls of every command (those the scripts run included; INFO, our own
 *   probe, excluded) / decisions.
 */
import type { RedisProcess } from '../test/support/redis-server.js';
import type { Metrics } from './results.js';

/** Per command (lower case, as INFO names it): calls and total µs since Redis started. */
export type CommandStats = Record<string, { readonly calls: number; readonly usec: number }>;

const SCRIPTS = ['fcall', 'evalsha', 'eval'];

export async function redisCommandStats(redis: RedisProcess): Promise<CommandStats> {
  const text = String(await redis.command('INFO', 'commandstats'));
  const stats: CommandStats = {};
  for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) stats[match[1]!] = { calls: Number(match[2]), usec: Number(match[3]) };
  return stats;
}

export function redisCost(before: CommandStats, after: CommandStats, decisions: number): Metrics {
  const delta = (names: readonly string[], field: 'calls' | 'usec') =>
    names.reduce((sum, name) => sum + (after[name]?.[field] ?? 0) - (before[name]?.[field] ?? 0), 0);
  const scriptCalls = delta(SCRIPTS, 'calls');
  const scriptUsec = delta(SCRIPTS, 'usec');
  const commands = delta(
    Object.keys(after).filter((name) => name !== 'info'),
    'calls',
  );
  return {
    redisUsPerCall: ratio(scriptUsec, scriptCalls),
    redisCallsPerDecision: ratio(scriptCalls, decisions),
    redisUsPerDecision: ratio(scriptUsec, decisions),
    commandsPerDecision: ratio(commands, decisions),
  };
}

/** NaN (shown as —, in no median) rather than Infinity when nothing was decided. */
function ratio(a: number, b: number): number {
  return b === 0 ? Number.NaN : a / b;
}
