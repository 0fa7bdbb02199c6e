/**
 * Resets reach every sidecar: a reset is published on a Redis channel, and every sidecar that
 * hears it forgets those keys in its local over-limit cache, so no sidecar keeps denying a client
 * an operator just reset. Best effort by nature (pub/sub is fire-and-forget): a sidecar that is
 * disconnected at that moment keeps its denial until the remembered retry time at most.
 */
import { Cluster } from 'ioredis';
import type { Decision, Plan } from '../../engine/plan.js';
import type { OverLimitCache } from '../over-limit-cache.js';
import type { BucketStore } from '../store.js';
import type { RedisClient } from './connection.js';

export class ResetBroadcastStore implements BucketStore {
  private readonly subscriber: RedisClient;

  constructor(
    private readonly cache: OverLimitCache,
    private readonly publisher: RedisClient,
    private readonly channel: string,
  ) {
    // Its own connection (a subscribed connection can do nothing else), with an offline queue: a
    // SUBSCRIBE may wait for the connection, and it is re-sent after reconnects.
    this.subscriber =
      publisher instanceof Cluster ? publisher.duplicate(undefined, { enableOfflineQueue: true }) : publisher.duplicate({ enableOfflineQueue: true });
    this.subscriber.on('error', () => {});
    this.subscriber.on('message', (_channel: string, message: string) => this.heard(message));
    void this.subscriber.subscribe(channel).catch(() => undefined);
  }

  decide(plan: Plan): Promise<Decision> {
    return this.cache.decide(plan);
  }

  async reset(keys: readonly string[]): Promise<number> {
    const removed = await this.cache.reset(keys);
    await this.publisher.publish(this.channel, JSON.stringify(keys)).catch(() => undefined);
    return removed;
  }

  probe(): Promise<void> {
    return this.cache.probe();
  }

  async close(): Promise<void> {
    this.subscriber.disconnect();
    await this.cache.close();
  }

  private heard(message: string): void {
    let keys: unknown;
    try {
      keys = JSON.parse(message);
    } catch {
      return; // not ours
    }
    if (Array.isArray(keys)) this.cache.forget(keys.filter((k): k is string => typeof k === 'string'));
  }
}
