/**
 * The demo API of the original design: a global 60/min limiter, a stricter 5/min on
 * /api/expensive, and the admin endpoints to watch and reset it. Limiters are named, so several
 * instances on one Redis share their buckets.
 */
import express, { type Express, type RequestHandler } from 'express';
import { adminGuard } from '../http/admin-guard.js';
import { rateLimiter, type RateLimiter } from '../http/rate-limiter.js';
import type { Logger } from '../observe/logger.js';
import type { BucketStore } from '../stores/store.js';

export interface DemoAppOptions {
  store: BucketStore;
  storeKind: 'memory' | 'redis';
  /** Bearer token for POST /api/admin/reset/:id; without one only loopback clients may reset. */
  adminToken?: string | undefined;
  logger?: Logger;
}

export interface DemoApp {
  app: Express;
  limiters: RateLimiter[];
}

export function createDemoApp(options: DemoAppOptions): DemoApp {
  const { store, logger } = options;
  const common = { store, ...(logger === undefined ? {} : { logger }) };
  const global = rateLimiter({ ...common, name: 'demo-global', requestsPerMinute: 60 });
  const expensive = rateLimiter({ ...common, name: 'demo-expensive', requestsPerMinute: 5 });
  const counters = { allowed: 0, limited: 0 };
  const count: RequestHandler = (_req, res, next) => {
    res.on('finish', () => {
      if (res.statusCode === 429) counters.limited += 1;
      else counters.allowed += 1;
    });
    next();
  };

  const app = express();
  app.disable('x-powered-by');
  app.get('/api/admin/stats', (_req, res) => {
    res.json({
      store: options.storeKind,
      limits: {
        [global.config.name]: { requestsPerMinute: 60, capacity: global.config.limit.capacity },
        [expensive.config.name]: { requestsPerMinute: 5, capacity: expensive.config.limit.capacity },
      },
      requests: { ...counters },
    });
  });
  app.post('/api/admin/reset/:id', adminGuard(options.adminToken), async (req, res, next) => {
    try {
      const id = String(req.params.id);
      const cleared = await Promise.all([global.resetKey(id), expensive.resetKey(id)]);
      res.json({ id, cleared: cleared.filter(Boolean).length });
    } catch (error) {
      next(error);
    }
  });
  app.use('/api', count, global);
  app.get('/api/hello', (req, res) => {
    res.json({ message: 'hello', client: req.ip });
  });
  app.get('/api/expensive', expensive, (_req, res) => {
    res.json({ result: 'an expensive answer' });
  });
  app.post('/api/expensive', expensive, (_req, res) => {
    res.json({ result: 'an expensive write' });
  });
  return { app, limiters: [global, expensive] };
}
