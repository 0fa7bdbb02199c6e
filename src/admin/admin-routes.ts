/**
 * The operator's endpoints: `GET /stats`, `GET /buckets`, `POST /reset` and `GET /dashboard`, on
 * the debug port and the HTTP port alike. Each listener's `AdminAccess` decides who may read them
 * (they show client identities) and who may reset.
 */
import { fileURLToPath } from 'node:url';
import express, { type Router } from 'express';
import type { RequestLimits } from '../service/request-limits.js';
import { type AdminAccess, requireJsonBody } from './admin-access.js';
import type { BucketAdmin } from './bucket-admin.js';
import { parseDescriptorTarget } from './descriptor-param.js';
import { statsReport, type StatsSources } from './stats-report.js';

export interface AdminRoutesOptions extends StatsSources {
  readonly buckets: BucketAdmin;
  readonly requestLimits: RequestLimits;
}

/** Shipped beside dist/ and src/ (package.json "files"), two levels above this module. */
const DASHBOARD = fileURLToPath(new URL('../../public/dashboard.html', import.meta.url));

const DEFAULT_TOP = 20;
const MAX_TOP = 256;

function topParam(raw: unknown): number {
  const n = typeof raw === 'string' ? Number(raw) : DEFAULT_TOP;
  return Number.isInteger(n) && n >= 0 ? Math.min(n, MAX_TOP) : DEFAULT_TOP;
}

export function createAdminRouter(options: AdminRoutesOptions, access: AdminAccess): Router {
  const router = express.Router();

  router.get('/stats', access.require('read'), async (req, res) => {
    const mayReset = (await access.verdict(req, 'mutate')).ok;
    const report = statsReport(options, topParam(req.query.top), { tokenRequired: access.token.required, mayReset });
    res.set('Cache-Control', 'no-store').json(report);
  });

  router.get('/buckets', access.require('read'), async (req, res) => {
    const target = parseDescriptorTarget(req.query, options.requestLimits);
    if (!target.ok) {
      res.status(400).json({ error: target.error });
      return;
    }
    const result = await options.buckets.inspect(target.domain, target.descriptor);
    if (!result.ok) res.status(result.status).json({ error: result.error });
    else res.set('Cache-Control', 'no-store').json({ domain: target.domain, descriptor: target.descriptor, ...result.value });
  });

  // The body only, never the query string: see requireJsonBody.
  router.post('/reset', access.require('mutate'), requireJsonBody, express.json({ limit: '64kb' }), async (req, res) => {
    const body: unknown = req.body;
    const source = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
    const target = parseDescriptorTarget(source, options.requestLimits);
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

  // The page holds no data (it reads /stats with the token entered in it), so it is open: on a port
  // that needs the token a browser could not send one with the page request itself.
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
