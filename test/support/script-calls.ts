/** Readings of `INFO commandstats` text for tests that count what Redis ran. */

/** Calls and failed calls per command (lower case, as INFO names it: `fcall`, `function|load`). */
export function commandCalls(commandstats: string): Record<string, { calls: number; failed: number }> {
  const calls: Record<string, { calls: number; failed: number }> = {};
  for (const m of commandstats.matchAll(/^cmdstat_([^:]+):calls=(\d+),.*failed_calls=(\d+)/gm)) calls[m[1]!] = { calls: Number(m[2]), failed: Number(m[3]) };
  return calls;
}

/**
 * Decide-script calls Redis ran through: FCALL, EVALSHA and EVAL (src/stores/redis/script-call.ts),
 * less their failed calls, such as the "Function not found" of a first call before the library is loaded.
 */
export function scriptCalls(commandstats: string): number {
  const calls = commandCalls(commandstats);
  return ['fcall', 'evalsha', 'eval'].reduce((sum, name) => sum + (calls[name]?.calls ?? 0) - (calls[name]?.failed ?? 0), 0);
}
