/**
 * One Express app per process, with one rate limiter (or none) in front of a one-line handler, for
 * autocannon to load from another process. Every limiter is configured never to deny: what is
 * measured is the cost of the allowed path, each library with its defaults otherwise.
 *
 *   node --import tsx bench/express-server.ts VARIANT [REDIS_URL]     prints "express serving PORT"
 *
 * `GET /__undecided` answers how many requests rateguard's limiter let through without a decision
 * (its store failed and it failed open): an answer of 200 does not show that, so the bench asks.
 * The peers answer a store failure with an error status (express-rate-limit 500, the
 * rate-limiter-flexible middleware 429), which autocannon counts as non-2xx.
 */
import type { AddressInfo } from 'node:net';
import express, { type RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';
import { Redis } from 'ioredis';
import { RedisStore as RateLimitRedisStore, type RedisReply } from 'rate-limit-redis';
import { RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { rateguard } from './rateguard-build.js';
import { EXPRESS_VARIANTS, type ExpressVariant } from './express-variants.js';

/** Far above what a run can send: nobody is ever denied. */
const ROOMY = 1_000_000_000;

/** rate-limiter-flexible ships no Express middleware; this is the one its README shows. */
function flexibleMiddleware(limiter: RateLimiterAbstract): RequestHandler {
  return (req, res, next) => {
    limiter.consume(req.ip ?? '').then(
      () => next(),
      () => res.status(429).send('Too Many Requests'),
    );
  };
}

async function connectedIoredis(url: string): Promise<Redis> {
  const client = new Redis(url, { enableOfflineQueue: false });
  await new Promise<void>((resolve) => client.once('ready', () => resolve()));
  return client;
}

let undecided = 0;
const metrics = {
  observe(outcome: { readonly source: string }) {
    if (outcome.source === 'failure_mode') undecided++;
  },
};

async function limiterFor(variant: ExpressVariant, redisUrl: string): Promise<RequestHandler | undefined> {
  switch (variant) {
    case 'none':
      return undefined;
    case 'rateguard-memory':
      return rateguard.rateLimiter({ requestsPerMinute: ROOMY, store: new rateguard.MemoryStore(), metrics });
    case 'rateguard-redis': {
      const store = new rateguard.RedisStore({ url: redisUrl });
      await store.ready(5000);
      return rateguard.rateLimiter({ requestsPerMinute: ROOMY, store, metrics });
    }
    case 'erl-memory':
      return rateLimit({ windowMs: 60_000, limit: ROOMY });
    case 'erl-redis': {
      const client = await connectedIoredis(redisUrl);
      const store = new RateLimitRedisStore({ sendCommand: (command: string, ...args: string[]) => client.call(command, ...args) as Promise<RedisReply> });
      return rateLimit({ windowMs: 60_000, limit: ROOMY, store });
    }
    case 'rlf-memory':
      return flexibleMiddleware(new RateLimiterMemory({ points: ROOMY, duration: 60 }));
    case 'rlf-redis':
      return flexibleMiddleware(new RateLimiterRedis({ storeClient: await connectedIoredis(redisUrl), points: ROOMY, duration: 60 }));
  }
}

const variant = process.argv[2] as ExpressVariant;
if (!(variant in EXPRESS_VARIANTS)) throw new Error(`unknown variant ${variant}; one of ${Object.keys(EXPRESS_VARIANTS).join(', ')}`);
const app = express();
app.get('/__undecided', (_req, res) => {
  res.json({ undecided });
});
const limiter = await limiterFor(variant, process.argv[3] ?? 'redis://127.0.0.1:6379');
if (limiter !== undefined) app.use(limiter);
app.get('/', (_req, res) => {
  res.send('hello');
});
const server = app.listen(0, '127.0.0.1', () => console.log(`express serving ${(server.address() as AddressInfo).port}`));
