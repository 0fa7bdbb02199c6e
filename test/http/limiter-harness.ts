/** Real HTTP for the middleware tests: an Express app on a loopback port, its responses counted as they close. */
import { Writable } from 'node:stream';
import express, { type Express, type RequestHandler } from 'express';
import { pino } from 'pino';
import type { RateLimiter } from '../../src/http/rate-limiter.js';

export interface LimiterApp {
  readonly app: Express;
  /** Resolves once `n` responses (of any route) have closed on the server side. */
  closed(n: number): Promise<void>;
}

/**
 * An Express app whose first middleware counts closed responses. Its 'close' listener is the
 * first, so when `closed(n)` resolves every limiter has already seen that response end.
 */
export function limiterApp(...limiters: RequestHandler[]): LimiterApp {
  const app = express();
  let count = 0;
  const waiters: { n: number; resolve: () => void }[] = [];
  app.use((_req, res, next) => {
    res.once('close', () => {
      count += 1;
      for (const waiter of waiters.filter((w) => w.n <= count)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    });
    next();
  });
  for (const limiter of limiters) app.use(limiter);
  return {
    app,
    closed: (n) => (n <= count ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve }))),
  };
}

export { listen as listenOn } from '../support/http.js';

export const statuses = async (url: string, n: number, init?: RequestInit): Promise<number[]> => {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await fetch(url, init);
    await res.arrayBuffer();
    out.push(res.status);
  }
  return out;
};

export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly code?: string;
  readonly help?: string;
  readonly limiter?: string;
}

/** A pino logger whose lines a test reads, and can wait for. */
export function capturingLogger() {
  const lines: LogLine[] = [];
  const waiters: { match: (line: LogLine) => boolean; resolve: () => void }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const line = JSON.parse(chunk.toString()) as LogLine;
      lines.push(line);
      for (const waiter of waiters.filter((w) => w.match(line))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
      done();
    },
  });
  return {
    logger: pino(stream),
    lines,
    /** Resolves at the first line (already written or to come) that matches. */
    until: (match: (line: LogLine) => boolean) => (lines.some(match) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ match, resolve }))),
  };
}

/** Every cleanup registered, run in reverse after each test. */
export function cleanupList() {
  const cleanups: (() => Promise<void>)[] = [];
  return {
    add: (cleanup: () => Promise<void>) => cleanups.push(cleanup),
    limiter: <L extends RateLimiter>(limiter: L): L => {
      cleanups.push(() => limiter.close());
      return limiter;
    },
    run: async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    },
  };
}
