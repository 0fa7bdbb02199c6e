import type { Decision, Plan } from '../../engine/plan.js';
import { type BucketStore, StoreError } from '../store.js';
import { createRedisClient, type RedisClient, type RedisConnectionOptions } from './connection.js';
import { parseDecideReply, registerDecideScript, runDecideScript } from './decide-script.js';

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

  constructor(options: RedisStoreOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 50;
    if (!(this.timeoutMs > 0) || !Number.isFinite(this.timeoutMs)) {
      throw new RangeError(`timeoutMs must be a finite number > 0, got ${options.timeoutMs}`);
    }
    this.ownsClient = options.client === undefined;
    this.client = options.client ?? createRedisClient(options);
    // An unhandled 'error' event would crash the process; connection state is observed elsewhere.
    if (this.ownsClient) this.client.on('error', () => {});
    registerDecideScript(this.client);
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
    const call = () => runDecideScript(this.client, plan, nowUs);
    // Before the first connection there is no offline queue to hold the call: wait for it instead.
    const reply = this.everReady ? call() : this.firstReady.then(call);
    return this.bounded(reply).then((r) => parseDecideReply(plan, r));
  }

  reset(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return Promise.resolve(0);
    // One DEL per key: in a Cluster the keys of different identities live in different slots.
    return this.bounded(Promise.all(keys.map((key) => this.client.del(key)))).then((counts) =>
      counts.reduce((sum, n) => sum + n, 0),
    );
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
