/**
 * The operator's endpoints on the HTTP port: `GET /stats`, `GET /buckets`, `POST /reset` and
 * `GET /dashboard`. Reads are open (like /metrics, for probes and Prometheus); the one mutating
 * call goes through the admin guard.
 */
import { fileURLToPath } from 'node:url';
import express, { type Router } from 'express';
import { adminGuard, isLoopback, mayAdminister } from '../http/admin-guard.js';
import type { RequestLimits } from '../service/request-limits.js';
import type { BucketAdmin } from './bucket-admin.js';
import { parseDescriptorTarget } from './descriptor-param.js';
import { statsReport, type StatsSources } from './stats-report.js';

export interface AdminRoutesOptions extends StatsSources {
  readonly buckets: BucketAdmin;
  readonly requestLimits: RequestLimits;
  /** Undefined: mutating calls from loopback clients only. */
  readonly adminToken: string | undefined;
}

/** Shipped beside dist/ and src/ (package.json "files"), two levels above this module. */
const DASHBOARD = fileURLToPath(new URL('../../public/dashboard.html', import.meta.url));

const DEFAULT_TOP = 20;
const MAX_TOP = 256;

function topParam(raw: unknown): number {
  const n = typeof raw === 'string' ? Number(raw) : DEFAULT_TOP;
  return Number.isInteger(n) && n >= 0 ? Math.min(n, MAX_TOP) : DEFAULT_TOP;
}

export function createAdminRouter(options: AdminRoutesOptions): Router {
  const router = express.Router();
  const tokenRequired = options.adminToken !== undefined && options.adminToken !== '';

  router.get('/stats', (req, res) => {
    const mayReset = tokenRequired ? mayAdminister(req, options.adminToken) : isLoopback(req.socket.remoteAddress);
    res.set('Cache-Control', 'no-store').json(statsReport(options, topParam(req.query.top), { tokenRequired, mayReset }));
  });

  router.get('/buckets', async (req, res) => {
    const target = parseDescriptorTarget(req.query, options.requestLimits);
    if (!target.ok) {
      res.status(400).json({ error: target.error });
      return;
    }
    const result = await options.buckets.inspect(target.domain, target.descriptor);
    if (!result.ok) res.status(result.status).json({ error: result.error });
    else res.set('Cache-Control', 'no-store').json({ domain: target.domain, descriptor: target.descriptor, ...result.value });
  });

  router.post('/reset', adminGuard(options.adminToken), express.json({ limit: '64kb' }), async (req, res) => {
    const body: unknown = req.body;
    const source = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
    const target = parseDescriptorTarget('domain' in source ? source : req.query, options.requestLimits);
    if (!target.ok) {
      res.status(400).json({ error: target.error });
      return;
    }
    const result = await options.buckets.reset(target.domain, target.descriptor);
    if (!result.ok) {
      res.status(result.status).json({ error: result.error });
      return;
    }
    options.observability.stats.forgetIdentity(target.domain, target.descriptor);
    res.json({ domain: target.domain, descriptor: target.descriptor, ...result.value });
  });

  router.get('/dashboard', (_req, res) => {
    // One self-contained page: inline script and style, data from this origin only, never framed
    // (its reset button must not be clickjacked).
    res.set({
      'Cache-Control': 'no-store',
      'Content-Security-Policy': "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'",
      'X-Frame-Options': 'DENY',
    });
    res.sendFile(DASHBOARD);
  });
  return router;
}
