/**
 * The HTTP port, as envoyproxy/ratelimit has it: `GET /healthcheck`, `POST /json` (proto3-JSON
 * RateLimitRequest → 200 OK / 429 OVER_LIMIT with the JSON response), `GET /rlconfig`; plus
 * `GET /metrics` (Prometheus), so Kubernetes probes and Prometheus reach it on one port. And the
 * debug port (`--debug-port`, loopback by default), which serves /rlconfig, /metrics and the admin
 * routes (/stats, /buckets, POST /reset, /dashboard). Both ports mount the admin routes; each
 * port's `AdminAccess` (from the address it is bound to) decides who may use them.
 */
import express, { type Express } from 'express';
import type { AdminAccess } from '../admin/admin-access.js';
import { type AdminRoutesOptions, createAdminRouter } from '../admin/admin-routes.js';
import type { ConfigOrigin, ConfigSnapshot } from '../config/index.js';
import type { Observability } from '../observe/observability.js';
import { Code, requestFromJson, responseToJson } from '../rls/codec.js';
import type { RateLimitService } from '../service/rate-limit-service.js';
import type { HealthState } from './health.js';

export interface DebugAppOptions {
  readonly config: () => ConfigSnapshot;
  /** Where the config came from and its version: headers of /rlconfig (its body stays the reference's). */
  readonly origin: () => ConfigOrigin;
  readonly admin: AdminRoutesOptions;
  /** Who may use the admin routes on this app's listener. */
  readonly access: AdminAccess;
}

export interface HttpAppOptions extends DebugAppOptions {
  readonly service: RateLimitService;
  readonly health: HealthState;
  readonly maxBodyBytes: number;
}

const FAILURE_STATUS = { invalid_argument: 400, unavailable: 503, overloaded: 503, deadline_exceeded: 504 } as const;

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/**
 * body-parser's `verify` hook: invalid UTF-8 would decode to U+FFFD, so two different byte strings
 * could name one bucket. Refused with 400, like invalid UTF-8 on the gRPC port.
 */
function requireUtf8(_req: unknown, _res: unknown, body: Buffer): void {
  try {
    utf8Strict.decode(body);
  } catch {
    throw Object.assign(new Error('request body is not valid UTF-8'), { status: 400 });
  }
}

export function createHttpApp(options: HttpAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');

  // 500 while not serving, as the reference answers (probes and scripts written for it may test for it).
  app.get('/healthcheck', (_req, res) => {
    const serving = options.health.status === 'SERVING';
    res
      .status(serving ? 200 : 500)
      .type('text/plain')
      .send(serving ? 'OK' : 'NOT_SERVING');
  });

  // Whatever the content type: scripts written for the reference send none, or curl -d's form type.
  const jsonBody = express.json({ limit: options.maxBodyBytes, strict: false, verify: requireUtf8, type: () => true });
  app.post('/json', jsonBody, async (req, res) => {
    const decoded = requestFromJson(req.body);
    if (!decoded.ok) {
      options.admin.observability.jsonCallFailed('invalid_argument');
      res.status(400).json({ error: decoded.error });
      return;
    }
    const result = await options.service.shouldRateLimit(decoded.request);
    if (!result.ok) {
      options.admin.observability.jsonCallFailed(result.kind);
      res.status(FAILURE_STATUS[result.kind]).json({ error: result.message });
      return;
    }
    res.status(result.response.overallCode === Code.OVER_LIMIT ? 429 : 200).json(responseToJson(result.response));
  });

  return withOperatorRoutes(app, options);
}

export function createDebugApp(options: DebugAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  return withOperatorRoutes(app, options);
}

function metricsHandler(observability: Observability): express.RequestHandler {
  return async (_req, res) => {
    res.type(observability.registry.contentType).send(await observability.registry.metrics());
  };
}

/** The reference's Prometheus listener (`--prometheus`): the metrics on one path, nothing else. */
export function createPrometheusApp(observability: Observability, path: string): Express {
  const app = express();
  app.disable('x-powered-by');
  app.get(path, metricsHandler(observability));
  return app;
}

/** /rlconfig, /metrics and the admin routes, then the error handler: what both ports share. */
function withOperatorRoutes(app: Express, options: DebugAppOptions): Express {
  app.get('/rlconfig', (_req, res) => {
    const origin = options.origin();
    res.set({ 'x-rateguard-config-source': `${origin.source} ${origin.location}`, 'x-rateguard-config-version': origin.version ?? 'none' });
    res.type('text/plain').send(options.config().dump());
  });

  app.get('/metrics', metricsHandler(options.admin.observability));

  app.use(createAdminRouter(options.admin, options.access));

  // Malformed JSON bodies and oversize payloads: a clear 4xx, never a stack trace.
  app.use((error: { status?: number; message?: string }, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    const status = typeof error.status === 'number' && error.status >= 400 && error.status < 500 ? error.status : 500;
    res.status(status).json({ error: status === 500 ? 'internal error' : (error.message ?? 'bad request') });
  });
  return app;
}
