import { Cluster } from 'ioredis';
import type { BucketResult, Decision, Plan } from '../../engine/plan.js';
import { type BucketStore, StoreError } from '../store.js';
import { createRedisClient, type RedisClient, type RedisConnectionOptions } from './connection.js';
import { refundedResult, slotGroups, wasCharged } from './cross-slot.js';
import { parseDecideReply, runDecideScript, type ScriptMode, scriptMode } from './decide-script.js';

export interface RedisStoreOptions extends RedisConnectionOptions {
  /**
   * An existing ioredis client (standalone or Cluster). rateguard registers its script on it and
   * leaves closing it to you. For safe counting, create it with `LIMITER_CLIENT_OPTIONS`.
   */
  client?: RedisClient;
  /** Every store call settles within this many ms; past it the call rejects with a timeout. Default 50. */
  timeoutMs?: number;
}

/** Matches ioredis' messages for "not connected right now" (offline queue disabled, closed, refused). */
const UNAVAILABLE = /Stream isn't writeable|Connection is closed|ECONNREFUSED|ECONNRESET|MaxRetriesPerRequest|ENOTFOUND|EHOSTUNREACH|CLUSTERDOWN|LOADING|MASTERDOWN/;

function toStoreError(error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new StoreError(UNAVAILABLE.test(message) ? 'unavailable' : 'failed', `redis: ${message}`, { cause: error });
}

/**
 * Buckets in Redis: every decision is ONE call of lua/token_bucket.lua, atomic on the server and
 * timed by the server's clock. A timed-out or failed call is never retried: it may have counted.
 */
export class RedisStore implements BucketStore {
  readonly client: RedisClient;
  private readonly ownsClient: boolean;
  private readonly timeoutMs: number;
  /** Settles when the client is first ready; until then calls wait for it (within their timeout). */
  private readonly firstReady: Promise<void>;
  private everReady = false;
  /** Decisions sent and not yet answered: with none, the next one is written at once. */
  private inFlight = 0;

  constructor(options: RedisStoreOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 50;
    if (!(this.timeoutMs > 0) || !Number.isFinite(this.timeoutMs)) {
      throw new RangeError(`timeoutMs must be a finite number > 0, got ${options.timeoutMs}`);
    }
    this.ownsClient = options.client === undefined;
    this.client = options.client ?? createRedisClient(options);
    // An unhandled 'error' event would crash the process; connection state is observed elsewhere.
    if (this.ownsClient) this.client.on('error', () => {});
    this.firstReady = new Promise<void>((resolve) => {
      if (this.client.status === 'ready') resolve();
      else this.client.once('ready', () => resolve());
    }).then(() => {
      this.everReady = true;
    });
  }

  /** Resolves once connected, or rejects with a StoreError after `timeoutMs` (or the given time). */
  ready(timeoutMs = this.timeoutMs): Promise<void> {
    return this.bounded(this.firstReady, timeoutMs);
  }

  decide(plan: Plan): Promise<Decision> {
    return this.decideAt(plan, undefined);
  }

  /** `decide` with the server clock replaced by `nowUs`: for the shared test vectors only. */
  decideAt(plan: Plan, nowUs: number | undefined): Promise<Decision> {
    if (plan.buckets.length === 0) return Promise.resolve({ allowed: true, buckets: [] });
    const groups = this.client instanceof Cluster ? slotGroups(plan.buckets) : undefined;
    const call = () =>
      groups === undefined || groups.length === 1
        ? this.runScript(scriptMode(plan), plan.buckets, nowUs).then((reply) => parseDecideReply(plan, reply))
        : this.decideAcrossSlots(plan, groups, nowUs);
    // Before the first connection there is no offline queue to hold the call: wait for it instead.
    return this.bounded(this.everReady ? call() : this.firstReady.then(call));
  }

  /**
   * One script call. Alone in flight it is written at once; with others in flight it joins
   * ioredis' auto-pipeline for this tick (one write for many decisions).
   */
  private runScript(mode: ScriptMode, buckets: Plan['buckets'], nowUs: number | undefined): Promise<unknown> {
    const dispatch = this.inFlight === 0 ? 'direct' : 'batched';
    this.inFlight += 1;
    const done = () => {
      this.inFlight -= 1;
    };
    const reply = runDecideScript(this.client, mode, buckets, nowUs, dispatch);
    reply.then(done, done);
    return reply;
  }

  /** One script call per slot; an all-or-nothing plan denied by any slot is refunded where it charged. */
  private async decideAcrossSlots(plan: Plan, groups: number[][], nowUs: number | undefined): Promise<Decision> {
    const subplans = groups.map((indexes): Plan => ({ mode: plan.mode, buckets: indexes.map((i) => plan.buckets[i]!) }));
    const settled = await Promise.allSettled(
      subplans.map((sub) => this.runScript(scriptMode(sub), sub.buckets, nowUs).then((reply) => parseDecideReply(sub, reply))),
    );
    const decisions = settled.map((s) => (s.status === 'fulfilled' ? s.value : undefined));
    const allowed = decisions.every((d) => d?.allowed === true);
    const refund = plan.mode === 'all_or_nothing' && !allowed;
    if (refund) await this.refund(subplans, decisions, nowUs);
    const failure = settled.find((s) => s.status === 'rejected');
    if (failure !== undefined) throw toStoreError(failure.reason);
    const buckets = new Array<BucketResult>(plan.buckets.length);
    groups.forEach((indexes, g) =>
      indexes.forEach((planIndex, i) => {
        const result = decisions[g]!.buckets[i]!;
        const bucket = plan.buckets[planIndex]!;
        buckets[planIndex] = refund && decisions[g]!.allowed && wasCharged(bucket, result) ? refundedResult(bucket, result) : result;
      }),
    );
    return { allowed, buckets };
  }

  /**
   * Gives back what the allowed slots of a denied plan charged. Best effort: a lost refund
   * under-admits (the denied request's charge stays), never over-admits.
   */
  private async refund(subplans: Plan[], decisions: (Decision | undefined)[], nowUs: number | undefined): Promise<void> {
    const charged = subplans.flatMap((sub, g) => {
      const decision = decisions[g];
      return decision?.allowed === true ? sub.buckets.filter((bucket, i) => wasCharged(bucket, decision.buckets[i]!)) : [];
    });
    const bySlot = slotGroups(charged).map((indexes) => indexes.map((i) => charged[i]!));
    await Promise.all(bySlot.map((buckets) => this.runScript('r', buckets, nowUs))).catch(() => undefined);
  }

  reset(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return Promise.resolve(0);
    // One DEL per key: in a Cluster the keys of different identities live in different slots.
    return this.bounded(Promise.all(keys.map((key) => this.client.del(key)))).then((counts) =>
      counts.reduce((sum, n) => sum + n, 0),
    );
  }

  /** Resolves when Redis answers a PING within the timeout (the circuit breaker's probe). */
  probe(): Promise<void> {
    return this.bounded(this.client.ping()).then(() => undefined);
  }

  async close(): Promise<void> {
    if (!this.ownsClient) return;
    await this.client.quit().catch(() => this.client.disconnect());
  }

  /** Settles within timeoutMs, with a StoreError on timeout or failure. */
  private bounded<T>(work: Promise<T>, timeoutMs = this.timeoutMs): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new StoreError('timeout', `redis: no answer within ${timeoutMs} ms`)), timeoutMs);
      work.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(toStoreError(error));
        },
      );
    });
  }
}
