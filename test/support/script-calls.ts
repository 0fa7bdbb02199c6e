/**
 * Decide-script calls Redis ran through, from `INFO commandstats` text: FCALL, EVALSHA and EVAL
 * (src/stores/redis/script-call.ts), less their failed calls, such as the "Function not found" of
 * a first call before the library is loaded.
 */
export function scriptCalls(commandstats: string): number {
  let calls = 0;
  for (const match of commandstats.matchAll(/^cmdstat_(fcall|evalsha|eval):calls=(\d+),.*failed_calls=(\d+)/gm)) {
    calls += Number(match[2]) - Number(match[3]);
  }
  return calls;
}
