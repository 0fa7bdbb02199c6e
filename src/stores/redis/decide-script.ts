/**
 * The Redis side of a decision: the arguments of lua/token_bucket.lua and the reading of its reply.
 * One call decides a batch of plans (decide-batch.ts); how the call reaches Redis is
 * script-call.ts. The reply is one binary string, read here.
 */
import { bucketResult, costOfKey } from '../../engine/bucket-math.js';
import type { Limit } from '../../engine/limit.js';
import type { BucketRequest, BucketResult, Decision, Plan } from '../../engine/plan.js';
import { StoreError } from '../store.js';
import type { RedisClient } from './connection.js';
import { callDecideScript } from './script-call.js';

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

/**
 * A bucket's one argument: `<algorithm><shadow><overdraft> C R P k`. The terms are built once per
 * limit, and whole arguments for a cost of 1 (one hit per request), the usual one.
 */
interface LimitArguments {
  readonly terms: readonly [plain: string, shadow: string];
  readonly costOne: readonly [plain: string, shadow: string];
}

const argumentsCache = new WeakMap<Limit, LimitArguments>();

function bucketArgument(limit: Limit, shadow: boolean, cost: number): string {
  let cached = argumentsCache.get(limit);
  if (cached === undefined) {
    const numbers = `${limit.overdraft ? 'o' : '-'} ${limit.capacity} ${limit.refillTokens} ${limit.periodUs}`;
    const algorithm = limit.algorithm === 'token_bucket' ? 't' : 'f';
    const terms = [`${algorithm}-${numbers}`, `${algorithm}s${numbers}`] as const;
    cached = { terms, costOne: [`${terms[0]} 1`, `${terms[1]} 1`] };
    argumentsCache.set(limit, cached);
  }
  const which = shadow ? 1 : 0;
  return cost === 1 ? cached.costOne[which] : `${cached.terms[which]} ${cost}`;
}

/**
 * The same buckets as `previous`: same keys, limits, costs, shadow flags and mode. Such a plan is sent
 * as `=` alone (the spec's "The script's interface"): under load many callers ask about the same hot
 * keys at once, and each repeat then costs Redis and this process one short argument instead of a
 * header and three per bucket.
 */
function repeats(plan: ScriptPlan, previous: ScriptPlan | undefined): boolean {
  if (previous === undefined || plan.mode !== previous.mode || plan.buckets.length !== previous.buckets.length) return false;
  for (let i = 0; i < plan.buckets.length; i++) {
    const a = plan.buckets[i]!;
    const b = previous.buckets[i]!;
    if (a.key !== b.key || a.limit !== b.limit || a.cost !== b.cost || (a.shadow === true) !== (b.shadow === true)) return false;
  }
  return true;
}

/** The script's arguments for `plans` (after the script itself): the key count, KEYS, then ARGV. */
export function decideScriptArguments(plans: readonly ScriptPlan[], nowUs?: number): (string | number)[] {
  const keys: string[] = [];
  const argv: string[] = [nowUs === undefined ? '' : String(nowUs)];
  let previous: ScriptPlan | undefined;
  for (const plan of plans) {
    if (repeats(plan, previous)) {
      argv.push('=');
      continue;
    }
    previous = plan;
    argv.push(`${plan.mode}${plan.buckets.length}`);
    for (const { key, limit, cost, shadow } of plan.buckets) {
      keys.push(key);
      argv.push(bucketArgument(limit, shadow === true, cost));
    }
  }
  return [keys.length, ...keys, ...argv];
}

/**
 * Runs the script over `plans` at Redis' clock, or at `nowUs` (shared test vectors only); `onSend`
 * is told of every command written.
 */
export function runDecideScript(client: RedisClient, plans: readonly ScriptPlan[], nowUs?: number, onSend?: () => void): Promise<Buffer> {
  const readOnly = plans.every((plan) => plan.mode !== 'r' && plan.buckets.every((bucket) => bucket.cost === 0));
  return callDecideScript(client, decideScriptArguments(plans, nowUs), { readOnly, onSend });
}

/** Bytes of the reply's time (µs, a little-endian double), before its plans. */
const TIME_BYTES = 8;
/** Bytes per bucket result in the reply: ok (1), then its final level (a little-endian double). */
const RESULT_BYTES = 9;

function malformed(reply: Buffer): never {
  throw new TypeError(`unexpected reply from the decide script: ${reply.length} bytes, ${reply.subarray(0, 64).toString('hex')}`);
}

/**
 * Turns the script's reply into one outcome per plan, in order; throws on a reply of the wrong
 * shape. Each bucket's result is worked out from its verdict and final level at the script's time,
 * by the same code as MemoryStore's (bucketResult). A repeated key is decided as one, so a result
 * is about the cost of its key summed over the plan.
 */
export function parseDecideReply(plans: readonly ScriptPlan[], reply: Buffer): ScriptOutcome[] {
  if (!Buffer.isBuffer(reply)) throw new TypeError(`unexpected reply from the decide script: ${JSON.stringify(reply)}`);
  if (reply.length < TIME_BYTES) malformed(reply);
  const nowUs = reply.readDoubleLE(0);
  let at = TIME_BYTES;
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
    const buckets = plan.buckets.map(({ key, limit, cost }): BucketResult => {
      const allowed = reply[at] === 1;
      const level = reply.readDoubleLE(at + 1);
      at += RESULT_BYTES;
      // Only a denial depends on the cost (its reason and retry): the key's, summed over the plan.
      return bucketResult(limit, allowed ? cost : costOfKey(plan.buckets, key), allowed, level, nowUs);
    });
    return { allowed: status === 1, buckets };
  });
  if (at !== reply.length) malformed(reply);
  return outcomes;
}
