/**
 * The Redis side of a decision: lua/token_bucket.lua, registered with ioredis `defineCommand`
 * (EVALSHA, and EVAL once after a NOSCRIPT: a restart or SCRIPT FLUSH costs one round trip),
 * plus the argument encoding and reply parsing for it.
 */
import { readFileSync } from 'node:fs';
import { costOfKey, exceedsForGood, wholeTokens } from '../../engine/bucket-math.js';
import type { Decision, Plan } from '../../engine/plan.js';
import type { RedisClient } from './connection.js';

const SCRIPT_PATH = new URL('../../../lua/token_bucket.lua', import.meta.url);

/** The Lua source, read once per process. */
export const DECIDE_LUA = readFileSync(SCRIPT_PATH, 'utf8');

type ScriptCommand = (...keysAndArgs: string[]) => Promise<unknown>;

/**
 * How a call is written: `batched` goes through ioredis auto-pipelining (every call of one
 * event-loop tick in one write: best under load), `direct` is written at once (no wait for the
 * next tick: best when nothing else is in flight). Measured in docs/benchmarks.md.
 */
export type Dispatch = 'batched' | 'direct';

/**
 * The script as an ioredis command taking `keyCount` keys. One command per key count and dispatch
 * (all with the same SHA): with a fixed `numberOfKeys` the first argument is a key, which is what
 * ioredis Cluster's auto-pipelining routes by (with a leading key count it would route every call
 * by "1", "2", ...). Direct commands are listed in `autoPipeliningIgnoredCommands`.
 */
const commands = new WeakMap<RedisClient, Map<string, ScriptCommand>>();

function commandFor(client: RedisClient, keyCount: number, dispatch: Dispatch): ScriptCommand {
  let byName = commands.get(client);
  if (byName === undefined) commands.set(client, (byName = new Map()));
  const name = dispatch === 'batched' ? `rateguardDecide${keyCount}` : `rateguardDecideDirect${keyCount}`;
  let command = byName.get(name);
  if (command === undefined) {
    client.defineCommand(name, { lua: DECIDE_LUA, numberOfKeys: keyCount });
    if (dispatch === 'direct') (client.options.autoPipeliningIgnoredCommands ??= []).push(name);
    command = (client as unknown as Record<string, ScriptCommand>)[name]!.bind(client);
    byName.set(name, command);
  }
  return command;
}

/** The script's modes: decide all-or-nothing, decide independently, or refund (see the spec). */
export type ScriptMode = 'a' | 'i' | 'r';

export function scriptMode(plan: Plan): ScriptMode {
  return plan.mode === 'all_or_nothing' ? 'a' : 'i';
}

/** The script's arguments per bucket: algorithm, capacity, refill, period, cost, shadow, overdraft. */
const ARGS_PER_BUCKET = 7;

/** Runs the script over `buckets`; `nowUs` overrides Redis TIME (shared test vectors only). */
export function runDecideScript(
  client: RedisClient,
  mode: ScriptMode,
  buckets: Plan['buckets'],
  nowUs?: number,
  dispatch: Dispatch = 'batched',
): Promise<unknown> {
  const count = buckets.length;
  const keysAndArgs = new Array<string>(count + 2 + count * ARGS_PER_BUCKET);
  let a = count;
  keysAndArgs[a++] = nowUs === undefined ? '' : String(nowUs);
  keysAndArgs[a++] = mode;
  for (let i = 0; i < count; i++) {
    const { key, limit, cost, shadow } = buckets[i]!;
    keysAndArgs[i] = key;
    keysAndArgs[a++] = limit.algorithm === 'token_bucket' ? 't' : 'f';
    keysAndArgs[a++] = String(limit.capacity);
    keysAndArgs[a++] = String(limit.refillTokens);
    keysAndArgs[a++] = String(limit.periodUs);
    keysAndArgs[a++] = String(cost);
    keysAndArgs[a++] = shadow === true ? '1' : '0';
    keysAndArgs[a++] = limit.overdraft ? '1' : '0';
  }
  return commandFor(client, count, dispatch)(...keysAndArgs);
}

/**
 * Turns the script's flat reply into a Decision; throws on a reply of the wrong shape. A denial's
 * reason is about the cost of its key, summed over the plan: a repeated key is decided as one.
 */
export function parseDecideReply(plan: Plan, reply: unknown): Decision {
  const count = plan.buckets.length;
  if (!Array.isArray(reply) || reply.length !== 1 + count * 4) {
    throw new TypeError(`unexpected reply from the decide script: ${JSON.stringify(reply)}`);
  }
  const buckets = plan.buckets.map(({ key, limit }, i) => {
    const at = 1 + i * 4;
    const allowed = Number(reply[at]) === 1;
    const level = Number(reply[at + 1]);
    return {
      allowed,
      reason: allowed ? undefined : exceedsForGood(limit, costOfKey(plan.buckets, key)) ? ('cost_exceeds_capacity' as const) : ('insufficient_tokens' as const),
      limit: limit.capacity,
      remaining: wholeTokens(level),
      level,
      resetUs: Number(reply[at + 2]),
      retryUs: Number(reply[at + 3]),
    };
  });
  return { allowed: Number(reply[0]) === 1, buckets };
}
