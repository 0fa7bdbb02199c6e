/**
 * `skipSuccessfulRequests` / `skipFailedRequests`: once the response has ended, its token goes
 * back to the store if the response says so. A response ends with 'finish' (sent), 'close' (the
 * connection went, sent or not) or 'error'; usually more than one of them fires, and the token
 * goes back at most once.
 */
import type { Request, Response } from 'express';
import type { Logger } from '../observe/logger.js';
import type { ResponseEnd } from './rate-limiter-options.js';

/** The refunds of one limiter still on their way to the store. */
export interface PendingRefunds {
  add(refund: Promise<void>): void;
  /** Resolves when every refund added so far has settled. */
  settled(): Promise<void>;
}

export function pendingRefunds(): PendingRefunds {
  const inFlight = new Set<Promise<void>>();
  return {
    add(refund) {
      inFlight.add(refund);
      void refund.finally(() => inFlight.delete(refund));
    },
    settled: async () => {
      await Promise.allSettled([...inFlight]);
    },
  };
}

export interface RefundArming {
  /** Whether a response that ended this way gives its token back. */
  readonly when: (req: Request, res: Response, end: ResponseEnd) => boolean | Promise<boolean>;
  readonly refund: () => Promise<void>;
  readonly pending: PendingRefunds;
  readonly logger: () => Logger;
  readonly limiter: string;
}

export function armRefund(req: Request, res: Response, arming: RefundArming): void {
  let decided = false;
  const ended = (end: ResponseEnd) => {
    // The first end decides: 'finish' is followed by 'close', and the token goes back once at most.
    if (decided) return;
    decided = true;
    const refund = Promise.resolve(arming.when(req, res, end)).then((giveBack) => (giveBack ? arming.refund() : undefined));
    arming.pending.add(
      refund.catch((error: unknown) => {
        arming
          .logger()
          .warn({ limiter: arming.limiter, err: error instanceof Error ? error.message : String(error) }, 'rate limit refund failed: the token stays charged');
      }),
    );
  };
  res.once('finish', () => ended('finish'));
  res.once('close', () => ended('close'));
  res.once('error', () => ended('error'));
}
