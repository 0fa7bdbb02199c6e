/**
 * The Redis side of a decision: lua/token_bucket.lua, registered with ioredis `defineCommand`
 * (EVALSHA, and EVAL once after a NOSCRIPT: a restart or SCRIPT FLUSH costs one round trip),
 * plus the argument encoding and reply parsing for it. One call decides a batch of plans
 * (decide-batch.ts); the reply is one binary string, read here.
 */
import { readFileSync } from 'node:fs';
import { costOfKey, exceedsForGood, wholeTokens } from '../../engine/bucket-math.js';
import type { Limit } from '../../engine/limit.js';
import type { BucketRequest, BucketResult, Decision, Plan } from '../../engine/plan.js';
import { StoreError } from '../store.js';
import type { RedisClient } from './connection.js';

const SCRIPT_PATH = new URL('../../../lua/token_bucket.lua', import.meta.url);

/** The Lua source, read once per process. */
export const DECIDE_LUA = readFileSync(SCRIPT_PATH, 'utf8');

const COMMAND = 'rateguardDecide';

type ScriptCommand = (...args: (string | number)[]) => Promise<Buffer>;

/**
 * The script as an ioredis command (its Buffer variant: the reply is binary), the key count first.
 * It is written at once, never through ioredis auto-pipelining, which would hold it until the next
 * event-loop turn: the batch is the pipeline (decide-batch.ts).
 */
const commands = new WeakMap<RedisClient, ScriptCommand>();

function commandFor(client: RedisClient): ScriptCommand {
  let command = commands.get(client);
  if (command === undefined) {
    client.defineCommand(COMMAND, { lua: DECIDE_LUA });
    client.options.autoPipeliningIgnoredCommands = [...(client.options.autoPipeliningIgnoredCommands ?? []), COMMAND];
    command = (client as unknown as Record<string, ScriptCommand>)[`${COMMAND}Buffer`]!.bind(client);
    commands.set(client, command);
  }
  return command;
}

/** The script's modes: decide all-or-nothing, decide independently, or refund (see the spec). */
export type ScriptMode = 'a' | 'i' | 'r';

export function scriptMode(plan: Plan): ScriptMode {
  return plan.mode === 'all_or_nothing' ? 'a' : 'i';
}

/** One plan of a script call: a decision, or (mode `r`) a refund. */
export interface ScriptPlan {
  readonly mode: ScriptMode;
  readonly buckets: readonly BucketRequest[];
}

/** A decided plan's decision, nothing for a refund, or the error that failed this plan alone. */
export type ScriptOutcome = Decision | undefined | StoreError;

/** A bucket's terms as the script reads them: `<algorithm><shadow><overdraft> C R P`, built once per limit. */
const termsCache = new WeakMap<Limit, readonly [plain: string, shadow: string]>();

function termsOf(limit: Limit, shadow: boolean): string {
  let terms = termsCache.get(limit);
  if (terms === undefined) {
    const numbers = `${limit.overdraft ? 'o' : '-'} ${limit.capacity} ${limit.refillTokens} ${limit.periodUs}`;
    const algorithm = limit.algorithm === 'token_bucket' ? 't' : 'f';
    terms = [`${algorithm}-${numbers}`, `${algorithm}s${numbers}`];
    termsCache.set(limit, terms);
  }
  return terms[shadow ? 1 : 0];
}

/** Runs the script over `plans` at Redis' clock, or at `nowUs` (shared test vectors only). */
export function runDecideScript(client: RedisClient, plans: readonly ScriptPlan[], nowUs?: number): Promise<Buffer> {
  let keyCount = 0;
  for (const plan of plans) keyCount += plan.buckets.length;
  const args = new Array<string | number>(1 + keyCount + 1 + plans.length + 2 * keyCount);
  args[0] = keyCount;
  let k = 1;
  let a = 1 + keyCount;
  args[a++] = nowUs === undefined ? '' : String(nowUs);
  for (const plan of plans) {
    args[a++] = `${plan.mode}${plan.buckets.length}`;
    for (const { key, limit, cost, shadow } of plan.buckets) {
      args[k++] = key;
      args[a++] = termsOf(limit, shadow === true);
      args[a++] = String(cost);
    }
  }
  return commandFor(client)(...args);
}

/** Bytes per bucket result in the reply: ok (1), level, reset µs, retry µs (little-endian doubles). */
const RESULT_BYTES = 25;

function malformed(reply: Buffer): never {
  throw new TypeError(`unexpected reply from the decide script: ${reply.length} bytes, ${reply.subarray(0, 64).toString('hex')}`);
}

/**
 * Turns the script's reply into one outcome per plan, in order; throws on a reply of the wrong
 * shape. A denial's reason is about the cost of its key, summed over the plan: a repeated key is
 * decided as one.
 */
export function parseDecideReply(plans: readonly ScriptPlan[], reply: Buffer): ScriptOutcome[] {
  if (!Buffer.isBuffer(reply)) throw new TypeError(`unexpected reply from the decide script: ${JSON.stringify(reply)}`);
  let at = 0;
  const outcomes = plans.map((plan): ScriptOutcome => {
    if (at >= reply.length) malformed(reply);
    const status = reply[at++]!;
    if (status === 2) {
      const length = reply.readUInt16LE(at);
      const message = reply.toString('utf8', at + 2, at + 2 + length);
      at += 2 + length;
      return new StoreError('failed', `redis: ${message}`);
    }
    if (plan.mode === 'r') return undefined;
    if (at + plan.buckets.length * RESULT_BYTES > reply.length) malformed(reply);
    const buckets = plan.buckets.map(({ key, limit }): BucketResult => {
      const allowed = reply[at] === 1;
      const level = reply.readDoubleLE(at + 1);
      const result = {
        allowed,
        reason: allowed
          ? undefined
          : exceedsForGood(limit, costOfKey(plan.buckets, key))
            ? ('cost_exceeds_capacity' as const)
            : ('insufficient_tokens' as const),
        limit: limit.capacity,
        remaining: wholeTokens(level),
        level,
        resetUs: reply.readDoubleLE(at + 9),
        retryUs: reply.readDoubleLE(at + 17),
      };
      at += RESULT_BYTES;
      return result;
    });
    return { allowed: status === 1, buckets };
  });
  if (at !== reply.length) malformed(reply);
  return outcomes;
}
