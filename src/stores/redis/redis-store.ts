import calculateSlot from 'cluster-key-slot';
import { Cluster, type Redis } from 'ioredis';
import { costOfKey } from '../../engine/bucket-math.js';
import type { BucketRequest, BucketResult, Decision, Plan } from '../../engine/plan.js';
import { type RefundableStore, StoreError, type StoreErrorKind } from '../store.js';
import { createRedisClient, type RedisClient, type RedisConnectionOptions } from './connection.js';
import { isRefunded, refundedResult, slotGroups } from './cross-slot.js';
import { DecideBatcher } from './decide-batch.js';
import { type ScriptPlan, scriptMode } from './decide-script.js';
import { connectionProblem, toStoreError } from './redis-errors.js';
import { describe, SilenceWatch } from './silence-watch.js';

export interface RedisStoreOptions extends RedisConnectionOptions {
  /**
   * An existing ioredis client (standalone or Cluster). rateguard registers its script on it and
   * leaves closing it to you. For safe counting, create it with `LIMITER_CLIENT_OPTIONS`
   * (`limiterClusterOptions()` for a Cluster).
   */
  client?: RedisClient;
  /**
   * Redis counts as failed when it leaves the oldest command on a connection unanswered this long
   * (ms). Time spent queued in this process does not count: see docs/redis.md. Default 50.
   */
  timeoutMs?: number;
  /** Idle connections are PINGed this often (ms), so a silent Redis is noticed without traffic. Default 1000. */
  heartbeatMs?: number;
  /** Told when Redis becomes unavailable (not connected, or silent) and available again, with why. */
  onAvailabilityChange?: (available: boolean, reason: string) => void;
}

interface Problem {
  readonly kind: StoreErrorKind;
  readonly text: string;
}

/**
 * Buckets in Redis: every decision is decided by ONE call of lua/token_bucket.lua, atomic on the
 * server and timed by the server's clock; decisions queued at the same moment share that call
 * (decide-batch.ts). A failed call is never retried: it may have counted. Calls fail at once while
 * there is no connection (before the first one, too): nothing piles up to be replayed.
 */
export class RedisStore implements RefundableStore {
  readonly client: RedisClient;
  private readonly ownsClient: boolean;
  private readonly watch: SilenceWatch;
  /** Settles when the client is first ready. */
  private readonly firstReady: Promise<void>;
  /** The latest connection error: it names why calls fail while not connected. */
  private lastProblem: Problem | undefined;
  /** Connections found silent and not heard from since. */
  private readonly silent = new Set<Redis>();
  private connected = false;
  private availableNow = false;
  private readonly onAvailabilityChange: RedisStoreOptions['onAvailabilityChange'];
  private readonly batcher: DecideBatcher;

  constructor(options: RedisStoreOptions = {}) {
    const timeoutMs = options.timeoutMs ?? 50;
    if (!(timeoutMs > 0) || !Number.isFinite(timeoutMs)) {
      throw new RangeError(`timeoutMs must be a finite number > 0, got ${options.timeoutMs}`);
    }
    this.onAvailabilityChange = options.onAvailabilityChange;
    this.ownsClient = options.client === undefined;
    this.client = options.client ?? createRedisClient(options);
    this.watch = new SilenceWatch({
      silenceMs: timeoutMs,
      heartbeatMs: options.heartbeatMs ?? 1000,
      connections: () => (this.client instanceof Cluster ? this.client.nodes() : [this.client]),
      onSilent: (connection, silentMs, waiting) => {
        this.silent.add(connection);
        this.updateAvailability(`no reply from ${describe(connection)} for ${Math.round(silentMs)} ms (${waiting} commands waiting)`);
      },
      onHeard: (connection) => {
        this.silent.delete(connection);
        this.updateAvailability(`${describe(connection)} answers again`);
      },
    });
    this.batcher = new DecideBatcher({ client: this.client, onSend: () => this.watch.arm(), toError: (error) => toStoreError(error, this.lastProblem) });
    this.firstReady = new Promise<void>((resolve) => {
      if (this.client.status === 'ready') resolve();
      else this.client.once('ready', () => resolve());
    });
    this.followConnection();
  }

  /** Connected, and no connection silent: decisions are expected to succeed. */
  get available(): boolean {
    return this.availableNow;
  }

  /**
   * Resolves once connected for the first time; rejects with a StoreError naming the latest
   * connection problem if that takes longer than `timeoutMs` (default 5000).
   */
  ready(timeoutMs = 5000): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(this.notConnected(`not connected after ${timeoutMs} ms`)), timeoutMs);
      void this.firstReady.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  decide(plan: Plan): Promise<Decision> {
    return this.decideAt(plan, undefined);
  }

  /**
   * `decide` with the server clock replaced by `nowUs`: for the shared test vectors only. A plan in
   * one slot is the batcher's promise itself, already failing with a StoreError: every layer of
   * promises here costs each decision under load (bench/analysis.md, "Promises per decision").
   */
  decideAt(plan: Plan, nowUs: number | undefined): Promise<Decision> {
    if (plan.buckets.length === 0) return Promise.resolve({ allowed: true, buckets: [] });
    if (this.client.status !== 'ready') return Promise.reject(this.notConnected());
    if (this.client instanceof Cluster) {
      const groups = slotGroups(plan.buckets);
      if (groups.length > 1) return this.decideAcrossSlots(plan, groups, nowUs).catch(this.rethrow);
    }
    return this.decideInSlot(plan, nowUs);
  }

  /** A plan whose keys share one slot: one script call, shared with the plans queued beside it. */
  private decideInSlot(plan: Plan, nowUs: number | undefined): Promise<Decision> {
    // A decided plan's call always resolves with its decision; only refunds resolve with nothing.
    return this.batch({ mode: scriptMode(plan), buckets: plan.buckets }, nowUs) as Promise<Decision>;
  }

  private batch(plan: ScriptPlan, nowUs: number | undefined): Promise<Decision | undefined> {
    const slot = this.client instanceof Cluster ? calculateSlot(plan.buckets[0]!.key) : 0;
    return this.batcher.decide(plan, nowUs, slot);
  }

  /** One script call per slot; an all-or-nothing plan denied by any slot is refunded where it charged. */
  private async decideAcrossSlots(plan: Plan, groups: number[][], nowUs: number | undefined): Promise<Decision> {
    const subplans = groups.map((indexes): Plan => ({ mode: plan.mode, buckets: indexes.map((i) => plan.buckets[i]!) }));
    const settled = await Promise.allSettled(subplans.map((sub) => this.decideInSlot(sub, nowUs)));
    const decisions = settled.map((s) => (s.status === 'fulfilled' ? s.value : undefined));
    const allowed = decisions.every((d) => d?.allowed === true);
    const refund = plan.mode === 'all_or_nothing' && !allowed;
    if (refund) await this.refundCharged(subplans, decisions, nowUs);
    const failure = settled.find((s) => s.status === 'rejected');
    if (failure !== undefined) throw failure.reason;
    const buckets = new Array<BucketResult>(plan.buckets.length);
    groups.forEach((indexes, g) => {
      indexes.forEach((planIndex, i) => {
        const result = decisions[g]!.buckets[i]!;
        const bucket = plan.buckets[planIndex]!;
        const cost = costOfKey(plan.buckets, bucket.key);
        buckets[planIndex] = refund && decisions[g]!.allowed && isRefunded(bucket, cost, result) ? refundedResult(bucket, result, cost) : result;
      });
    });
    return { allowed, buckets };
  }

  /**
   * Gives back what the allowed slots of a denied plan charged. Best effort: a lost refund
   * under-admits (the denied request's charge stays), never over-admits.
   */
  private async refundCharged(subplans: Plan[], decisions: (Decision | undefined)[], nowUs: number | undefined): Promise<void> {
    const charged = subplans.flatMap((sub, g) => {
      const decision = decisions[g];
      // Every entry of a charged key is sent: the script refunds a repeated key's summed cost once.
      return decision?.allowed === true ? sub.buckets.filter((bucket, i) => isRefunded(bucket, costOfKey(sub.buckets, bucket.key), decision.buckets[i]!)) : [];
    });
    await this.refundAt(charged, nowUs).catch(() => undefined);
  }

  /** Gives back each bucket's charge: script mode `r`, atomic with concurrent decisions. */
  refund(buckets: readonly BucketRequest[]): Promise<void> {
    if (buckets.length === 0) return Promise.resolve();
    if (this.client.status !== 'ready') return Promise.reject(this.notConnected());
    return this.refundAt(buckets, undefined).catch(this.rethrow);
  }

  /** One script call per slot. */
  private async refundAt(buckets: readonly BucketRequest[], nowUs: number | undefined): Promise<void> {
    const bySlot = slotGroups(buckets).map((indexes) => indexes.map((i) => buckets[i]!));
    await Promise.all(bySlot.map((group) => this.batch({ mode: 'r', buckets: group }, nowUs)));
  }

  reset(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return Promise.resolve(0);
    if (this.client.status !== 'ready') return Promise.reject(this.notConnected());
    // One DEL per key: in a Cluster the keys of different identities live in different slots.
    const deleted = Promise.all(keys.map((key) => this.client.del(key)));
    this.watch.arm();
    return deleted.then((counts) => counts.reduce((sum, n) => sum + n, 0), this.rethrow);
  }

  /** Resolves when Redis answers a PING (the circuit breaker's probe). */
  probe(): Promise<void> {
    if (this.client.status !== 'ready') return Promise.reject(this.notConnected());
    const pong = this.client.ping();
    this.watch.arm();
    return pong.then(() => undefined, this.rethrow);
  }

  async close(): Promise<void> {
    this.watch.stop();
    if (!this.ownsClient) return;
    await this.client.quit().catch(() => this.client.disconnect());
  }

  private readonly rethrow = (error: unknown): never => {
    throw toStoreError(error, this.lastProblem);
  };

  private notConnected(detail?: string): StoreError {
    const problem = this.lastProblem;
    const why = problem === undefined ? (detail ?? `no connection yet (${this.client.status})`) : problem.text;
    return new StoreError(problem?.kind ?? 'unavailable', `redis: not connected: ${why}`);
  }

  /** Connection state from ioredis' events: why calls fail, and availability for health. */
  private followConnection(): void {
    const client = this.client;
    const problem = (error: Error) => {
      this.lastProblem = connectionProblem(error);
    };
    // An unhandled 'error' event would crash the process; it is recorded instead.
    client.on('error', problem);
    if (client instanceof Cluster) client.on('node error', problem);
    client.on('ready', () => {
      this.lastProblem = undefined;
      this.connected = true;
      this.updateAvailability('connected');
    });
    const lost = () => {
      if (!this.connected) return;
      this.connected = false;
      this.updateAvailability(this.lastProblem?.text ?? 'connection lost');
    };
    client.on('close', lost);
    client.on('end', lost);
    if (client.status === 'ready') {
      this.connected = true;
      this.availableNow = true;
    }
  }

  private updateAvailability(reason: string): void {
    const available = this.connected && this.silent.size === 0;
    if (available === this.availableNow) return;
    this.availableNow = available;
    this.onAvailabilityChange?.(available, reason);
  }
}
