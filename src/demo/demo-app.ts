/**
 * The demo API of the original design: a global 60/min limit per client, a stricter 5/min on
 * /api/expensive, and admin endpoints to watch and reset it. The limits come either from local
 * `rateLimiter`s on a store (`npm run demo`) or from a rateguard sidecar over gRPC (`npm start`),
 * with the descriptors Envoy would send for the same routes (envoy/envoy.yaml).
 */
import express, { type Express, type RequestHandler } from 'express';
import { AdminAccess, requireJsonBody } from '../admin/admin-access.js';
import { AdminToken } from '../admin/admin-token.js';
import { unmappedAddress } from '../http/client-address.js';
import { rateLimiter } from '../http/rate-limiter.js';
import { rlsRateLimiter } from '../http/rls-rate-limiter.js';
import type { Logger } from '../observe/logger.js';
import type { DescriptorEntry } from '../rls/codec.js';
import type { BucketStore } from '../stores/store.js';
import { DEMO_HOST } from './serve-demo.js';

/** How the demo is limited: what runs before every /api route and before /api/expensive. */
export interface DemoLimits {
  readonly api: RequestHandler;
  readonly expensive: RequestHandler;
  readonly description: Record<string, unknown>;
  /** Clears one client's buckets; resolves with how many existed. Undefined when not possible here. */
  readonly reset: ((id: string) => Promise<number>) | undefined;
  close(): Promise<void>;
}

export const DEMO_DOMAIN = 'rateguard-demo';

/** Local limiters on a store: named, so several instances on one Redis share their buckets. */
export function localDemoLimits(store: BucketStore, storeKind: 'memory' | 'redis', logger?: Logger): DemoLimits {
  const common = { store, ...(logger === undefined ? {} : { logger }) };
  const global = rateLimiter({ ...common, name: 'demo-global', requestsPerMinute: 60 });
  const expensive = rateLimiter({ ...common, name: 'demo-expensive', requestsPerMinute: 5 });
  return {
    api: global,
    expensive,
    description: {
      store: storeKind,
      limits: {
        [global.config.name]: { requestsPerMinute: 60, capacity: global.config.limit.capacity },
        [expensive.config.name]: { requestsPerMinute: 5, capacity: expensive.config.limit.capacity },
      },
    },
    reset: async (id) => (await Promise.all([global.resetKey(id), expensive.resetKey(id)])).filter(Boolean).length,
    close: () => store.close(),
  };
}

/** The paths Express serves as /api/expensive (routing is case-insensitive, a trailing slash optional). */
const EXPENSIVE_PATH = /^(\/api)?\/expensive\/?$/i;

/**
 * The descriptors envoy/envoy.yaml makes Envoy send for a request: remote_address on every route,
 * api_key when the x-api-key header is present, and ("generic_key", "expensive") + remote_address
 * on /api/expensive.
 */
export function demoDescriptors(req: express.Request): DescriptorEntry[][] {
  // One form per client (`::ffff:127.0.0.1` is 127.0.0.1), so an admin reset by IPv4 address finds it.
  const address = { key: 'remote_address', value: unmappedAddress(req.ip ?? req.socket.remoteAddress ?? '') };
  const descriptors: DescriptorEntry[][] = [[address]];
  const apiKey = req.headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey !== '') descriptors.push([{ key: 'api_key', value: apiKey }]);
  if (EXPENSIVE_PATH.test(req.path)) descriptors.push([{ key: 'generic_key', value: 'expensive' }, address]);
  return descriptors;
}

/** Where the sidecar's admin endpoints are (its debug port; or its HTTP port, with the token) and the token, if any. */
export interface SidecarAdmin {
  readonly url: string;
  readonly token: string | undefined;
}

/** The descriptors of one client address that hold buckets: every route's, and /api/expensive's. */
function addressDescriptors(address: string): DescriptorEntry[][] {
  const entry = { key: 'remote_address', value: address };
  return [[entry], [{ key: 'generic_key', value: 'expensive' }, entry]];
}

/** Clears a client's buckets through the sidecar's `POST /reset`, one call per descriptor. */
function sidecarReset(admin: SidecarAdmin) {
  return async (id: string): Promise<number> => {
    let cleared = 0;
    for (const descriptor of addressDescriptors(id)) {
      const res = await fetch(`${admin.url}/reset`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(admin.token === undefined ? {} : { authorization: `Bearer ${admin.token}` }) },
        body: JSON.stringify({ domain: DEMO_DOMAIN, descriptor }),
        signal: AbortSignal.timeout(5000),
      });
      if (!res.ok) throw new Error(`the sidecar's POST /reset answered ${res.status}`);
      cleared += ((await res.json()) as { cleared: number }).cleared;
    }
    return cleared;
  };
}

/** Limits decided by a rateguard sidecar: one ShouldRateLimit call per request, as Envoy makes. */
export function sidecarDemoLimits(address: string, logger?: Logger, admin?: SidecarAdmin, timeoutMs = 250): DemoLimits {
  const limiter = rlsRateLimiter({
    address,
    domain: DEMO_DOMAIN,
    descriptors: demoDescriptors,
    // Looser than Envoy's 20 ms: a demo on a busy laptop should not fail open by accident.
    timeoutMs,
    ...(logger === undefined ? {} : { logger }),
  });
  return {
    api: limiter,
    expensive: (_req, _res, next) => next(),
    description: { store: 'sidecar', sidecar: address, domain: DEMO_DOMAIN },
    reset: admin === undefined ? undefined : sidecarReset(admin),
    close: async () => limiter.close(),
  };
}

/** No limits in the app: a proxy in front (Envoy, envoy/docker-compose.yaml) asks rateguard. */
export function unlimitedDemoLimits(): DemoLimits {
  const pass: RequestHandler = (_req, _res, next) => next();
  return { api: pass, expensive: pass, description: { store: 'none', limitedBy: 'proxy' }, reset: undefined, close: async () => undefined };
}

/**
 * `listenerHost`: where the app will listen (serveDemo's all interfaces by default), which decides
 * whether its reset needs the token: see AdminAccess.
 */
export function createDemoApp(limits: DemoLimits, adminToken?: string, listenerHost = DEMO_HOST): Express {
  const access = new AdminAccess(listenerHost, AdminToken.fixed(adminToken));
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
    res.json({ ...limits.description, requests: { ...counters } });
  });
  app.post('/api/admin/reset/:id', access.require('mutate'), requireJsonBody, async (req, res, next) => {
    if (limits.reset === undefined) {
      res.status(501).json({ error: 'reset is done on the rate limit service here' });
      return;
    }
    try {
      const id = String(req.params.id);
      res.json({ id, cleared: await limits.reset(id) });
    } catch (error) {
      next(error);
    }
  });
  app.use('/api', count, limits.api);
  app.get('/api/hello', (req, res) => {
    res.json({ message: 'hello', client: req.ip });
  });
  app.get('/api/expensive', limits.expensive, (_req, res) => {
    res.json({ result: 'an expensive answer' });
  });
  app.post('/api/expensive', limits.expensive, (_req, res) => {
    res.json({ result: 'an expensive write' });
  });
  return app;
}
