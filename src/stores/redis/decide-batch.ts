/**
 * Batches decisions into script calls. Redis spends most of a one-plan call on the call itself
 * (the command, TIME, argument tables: bench/analysis.md), so the plans queued at one moment are
 * decided in ONE call, each plan still atomic and all-or-nothing, each caller answered with its
 * own outcome. Never waits for a timer. With no call in flight on its queue, a plan is sent when
 * the current callback's work is done (`process.nextTick`, before any I/O): a lone decision goes
 * out at once. With a call in flight, Redis is busy anyway, so the plans wait for the end of this
 * turn of the event loop (`setImmediate`, after the I/O callbacks): a sidecar reads each HTTP/2
 * stream in a callback of its own, and every stream read in this turn joins one call. Bounded: at
 * most MAX_PLANS plans and MAX_KEYS keys per call. In a Cluster one call may only touch one slot,
 * so there is one queue per slot.
 *
 * An idle queue of several plans goes as two calls, each half of it: one call at a time would leave
 * Redis idle while this process reads a reply and builds the next call, and this process idle
 * while Redis runs it. With two, their replies come back apart and the two overlap: callers that
 * wait on each decision before the next (a closed loop of 16 or 64 in flight) decided 1.1–1.5× as
 * many per second in interleaved A/Bs (docs/benchmarks.md, "Two calls, not one").
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
  /**
   * What a failed call's plans are rejected with: the store's words for the failure. Named here, once
   * per call, so no layer per plan is needed to translate it.
   */
  readonly toError: (error: unknown) => StoreError;
}

export class DecideBatcher {
  /** Queued plans by cluster slot (one queue, slot 0, on a single Redis). */
  private readonly queues = new Map<number, Waiting[]>();
  /** Calls sent and not yet answered, by slot (absent: none). */
  private readonly inFlight = new Map<number, number>();
  private idleFlushScheduled = false;
  private turnFlushScheduled = false;

  constructor(private readonly options: DecideBatchOptions) {}

  /**
   * Resolves with the plan's decision (nothing for a refund); rejects with the StoreError of what
   * failed its call, or of this plan alone (a key holding something else than a bucket).
   */
  decide(plan: ScriptPlan, nowUs: number | undefined, slot = 0): Promise<Decision | undefined> {
    return new Promise((resolve, reject) => {
      const queue = this.queues.get(slot);
      const waiting = { plan, nowUs, resolve, reject };
      if (queue === undefined) this.queues.set(slot, [waiting]);
      else queue.push(waiting);
      if (!this.inFlight.has(slot)) {
        if (!this.idleFlushScheduled) {
          this.idleFlushScheduled = true;
          process.nextTick(this.flushIdle);
        }
      } else if (!this.turnFlushScheduled) {
        this.turnFlushScheduled = true;
        setImmediate(this.flushAll);
      }
    });
  }

  /** Sends the queues of the slots with no call in flight (the others wait for flushAll). */
  private readonly flushIdle = (): void => {
    this.idleFlushScheduled = false;
    for (const [slot, queue] of this.queues) {
      if (this.inFlight.has(slot)) continue;
      this.queues.delete(slot);
      this.sendQueue(slot, queue, Math.ceil(queue.length / 2));
    }
  };

  private readonly flushAll = (): void => {
    this.turnFlushScheduled = false;
    const queues = [...this.queues];
    this.queues.clear();
    for (const [slot, queue] of queues) this.sendQueue(slot, queue, MAX_PLANS);
  };

  /** Sends `queue` in calls of at most `plansPerCall` plans (and the bounds). */
  private sendQueue(slot: number, queue: readonly Waiting[], plansPerCall: number): void {
    const most = Math.min(plansPerCall, MAX_PLANS);
    let start = 0;
    while (start < queue.length) {
      const end = this.batchEnd(queue, start, most);
      this.send(slot, queue.slice(start, end));
      start = end;
    }
  }

  /** Where the batch starting at `start` ends: at `most` plans, the key bound, or where the time override changes. */
  private batchEnd(queue: readonly Waiting[], start: number, most: number): number {
    const nowUs = queue[start]!.nowUs;
    let keys = queue[start]!.plan.buckets.length;
    let end = start + 1;
    while (end < queue.length && end - start < most) {
      const next = queue[end]!;
      keys += next.plan.buckets.length;
      if (keys > MAX_KEYS || next.nowUs !== nowUs) break;
      end++;
    }
    return end;
  }

  private send(slot: number, batch: readonly Waiting[]): void {
    const plans = batch.map((waiting) => waiting.plan);
    const reply = runDecideScript(this.options.client, plans, batch[0]!.nowUs, this.options.onSend);
    this.inFlight.set(slot, (this.inFlight.get(slot) ?? 0) + 1);
    const answered = () => {
      const left = this.inFlight.get(slot)! - 1;
      if (left === 0) this.inFlight.delete(slot);
      else this.inFlight.set(slot, left);
    };
    reply.then(answered, answered);
    reply.then(
      (buffer) => {
        let outcomes: ScriptOutcome[];
        try {
          outcomes = parseDecideReply(plans, buffer);
        } catch (error) {
          const failure = this.options.toError(error);
          for (const waiting of batch) waiting.reject(failure);
          return;
        }
        batch.forEach((waiting, i) => {
          const outcome = outcomes[i];
          if (outcome instanceof StoreError) waiting.reject(outcome);
          else waiting.resolve(outcome);
        });
      },
      (error: unknown) => {
        const failure = this.options.toError(error);
        for (const waiting of batch) waiting.reject(failure);
      },
    );
  }
}
