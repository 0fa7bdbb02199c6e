/**
 * The Redis side of a decision: lua/token_bucket.lua, registered with ioredis `defineCommand`
 * (EVALSHA, and EVAL once after a NOSCRIPT: a restart or SCRIPT FLUSH costs one round trip),
 * plus the argument encoding and reply parsing for it.
 */
import { readFileSync } from 'node:fs';
import type { Decision, Plan } from '../../engine/plan.js';
import type { RedisClient } from './connection.js';

const SCRIPT_PATH = new URL('../../../lua/token_bucket.lua', import.meta.url);
const COMMAND = 'rateguardDecide';

/** The Lua source, read once per process. */
export const DECIDE_LUA = readFileSync(SCRIPT_PATH, 'utf8');

interface ScriptHost {
  rateguardDecide(numKeys: number, ...keysAndArgs: string[]): Promise<unknown>;
}

export function registerDecideScript(client: RedisClient): void {
  client.defineCommand(COMMAND, { lua: DECIDE_LUA });
}

/** Runs the script for a plan; `nowUs` overrides Redis TIME (shared test vectors only). */
export function runDecideScript(client: RedisClient, plan: Plan, nowUs?: number): Promise<unknown> {
  const count = plan.buckets.length;
  const keysAndArgs = new Array<string>(count + 2 + count * 6);
  let a = count;
  keysAndArgs[a++] = nowUs === undefined ? '' : String(nowUs);
  keysAndArgs[a++] = plan.mode === 'all_or_nothing' ? 'a' : 'i';
  for (let i = 0; i < count; i++) {
    const { key, limit, cost, shadow } = plan.buckets[i]!;
    keysAndArgs[i] = key;
    keysAndArgs[a++] = limit.algorithm === 'token_bucket' ? 't' : 'f';
    keysAndArgs[a++] = String(limit.capacity);
    keysAndArgs[a++] = String(limit.refillTokens);
    keysAndArgs[a++] = String(limit.periodUs);
    keysAndArgs[a++] = String(cost);
    keysAndArgs[a++] = shadow === true ? '1' : '0';
  }
  return (client as unknown as ScriptHost).rateguardDecide(count, ...keysAndArgs);
}

/** Turns the script's flat reply into a Decision; throws on a reply of the wrong shape. */
export function parseDecideReply(plan: Plan, reply: unknown): Decision {
  const count = plan.buckets.length;
  if (!Array.isArray(reply) || reply.length !== 1 + count * 4) {
    throw new TypeError(`unexpected reply from the decide script: ${JSON.stringify(reply)}`);
  }
  const buckets = plan.buckets.map(({ limit, cost }, i) => {
    const at = 1 + i * 4;
    const allowed = Number(reply[at]) === 1;
    const level = Number(reply[at + 1]);
    return {
      allowed,
      reason: allowed ? undefined : cost > limit.capacity ? ('cost_exceeds_capacity' as const) : ('insufficient_tokens' as const),
      limit: limit.capacity,
      remaining: Math.floor(level),
      level,
      resetUs: Number(reply[at + 2]),
      retryUs: Number(reply[at + 3]),
    };
  });
  return { allowed: Number(reply[0]) === 1, buckets };
}
