/**
 * Batches decisions into script calls. Redis spends most of a one-plan call on the call itself
 * (EVALSHA, TIME, argument tables: bench/analysis.md), so the plans queued at one moment are
 * decided in ONE call, each plan still atomic and all-or-nothing, each caller answered with its
 * own outcome. Never waits for a timer: what the current turn of the event loop queued is sent
 * when that turn's callbacks are done (`process.nextTick`, before any I/O), so a lone decision
 * goes out as soon as it would have unbatched. Bounded: at most MAX_PLANS plans and MAX_KEYS keys
 * per call. In a Cluster one call may only touch one slot, so there is one queue per slot.
 *
 * A call that fails (an error reply, a lost connection, a silent Redis) fails every plan in it,
 * and none is sent again: the script may have run (exactly once, docs/redis.md).
 */
import type { Decision } from '../../engine/plan.js';
import { StoreError } from '../store.js';
import type { RedisClient } from './connection.js';
import { parseDecideReply, runDecideScript, type ScriptOutcome, type ScriptPlan } from './decide-script.js';

/** Plans per call: a reply of 64 one-bucket plans is 1.7 kB, and one call stays a few tens of µs of Redis. */
export const MAX_PLANS = 64;
/** Keys per call, whatever the plans: a plan with more goes alone. */
export const MAX_KEYS = 256;

interface Waiting {
  readonly plan: ScriptPlan;
  readonly nowUs: number | undefined;
  readonly resolve: (decision: Decision | undefined) => void;
  readonly reject: (error: unknown) => void;
}

export interface DecideBatchOptions {
  readonly client: RedisClient;
  /** Told after every call written (the silence watch). */
  readonly onSend: () => void;
}

export class DecideBatcher {
  /** Queued plans by cluster slot (one queue, slot 0, on a single Redis). */
  private readonly queues = new Map<number, Waiting[]>();
  private flushScheduled = false;

  constructor(private readonly options: DecideBatchOptions) {}

  /**
   * Resolves with the plan's decision (nothing for a refund); rejects with what failed its call,
   * or with the StoreError of this plan alone (a key holding something else than a bucket).
   */
  decide(plan: ScriptPlan, nowUs: number | undefined, slot = 0): Promise<Decision | undefined> {
    return new Promise((resolve, reject) => {
      let queue = this.queues.get(slot);
      if (queue === undefined) this.queues.set(slot, (queue = []));
      queue.push({ plan, nowUs, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        process.nextTick(this.flush);
      }
    });
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    for (const queue of this.queues.values()) {
      let start = 0;
      while (start < queue.length) {
        const end = this.batchEnd(queue, start);
        this.send(queue.slice(start, end));
        start = end;
      }
    }
    this.queues.clear();
  };

  /** Where the batch starting at `start` ends: at the bounds, or where the time override changes. */
  private batchEnd(queue: readonly Waiting[], start: number): number {
    const nowUs = queue[start]!.nowUs;
    let keys = queue[start]!.plan.buckets.length;
    let end = start + 1;
    while (end < queue.length && end - start < MAX_PLANS) {
      const next = queue[end]!;
      keys += next.plan.buckets.length;
      if (keys > MAX_KEYS || next.nowUs !== nowUs) break;
      end++;
    }
    return end;
  }

  private send(batch: readonly Waiting[]): void {
    const plans = batch.map((waiting) => waiting.plan);
    const reply = runDecideScript(this.options.client, plans, batch[0]!.nowUs);
    this.options.onSend();
    reply.then(
      (buffer) => {
        let outcomes: ScriptOutcome[];
        try {
          outcomes = parseDecideReply(plans, buffer);
        } catch (error) {
          for (const waiting of batch) waiting.reject(error);
          return;
        }
        batch.forEach((waiting, i) => {
          const outcome = outcomes[i];
          if (outcome instanceof StoreError) waiting.reject(outcome);
          else waiting.resolve(outcome);
        });
      },
      (error: unknown) => {
        for (const waiting of batch) waiting.reject(error);
      },
    );
  }
}
