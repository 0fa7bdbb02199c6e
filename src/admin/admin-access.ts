/**
 * Who may use the admin endpoints on one listener. Judged by the address the listener is BOUND to,
 * never by the peer's address: inside a service mesh every inbound connection comes from loopback
 * (Istio's sidecar connects from 127.0.0.6, older versions from 127.0.0.1), so a loopback peer on a
 * listener bound to 0.0.0.0 may be any pod of the mesh. A listener bound to a loopback address
 * only accepts connections made inside this network namespace: the pod, or the host.
 *
 * - `read` (the identity-revealing views: /stats, /buckets, /dashboard): a loopback-bound listener,
 *   or the admin token;
 * - `mutate` (POST /reset): the admin token when one is configured (from anywhere, loopback too);
 *   without one, a loopback-bound listener only.
 */
import type { NextFunction, Request, Response } from 'express';
import { isLoopback } from './admin-guard.js';
import type { AdminToken } from './admin-token.js';

export type AdminRight = 'read' | 'mutate';

export type AccessVerdict = { readonly ok: true } | { readonly ok: false; readonly status: 401 | 403; readonly error: string };

/** Whether a host a listener is given binds it to loopback only (`localhost` resolves there). */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return bare === 'localhost' || isLoopback(bare);
}

function bearer(req: Request): string | undefined {
  const header = req.headers.authorization;
  return header?.startsWith('Bearer ') === true ? header.slice(7) : undefined;
}

/**
 * Mutating calls carry `Content-Type: application/json`: a browser sends that cross-site only after
 * a CORS preflight, which these servers never answer, while a form post or a plain POST (no body,
 * or a query string) needs none. So no web page can make a visitor's browser call them.
 */
export function requireJsonBody(req: Request, res: Response, next: NextFunction): void {
  // The header itself (req.is() says null for a request without a body).
  const mediaType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (mediaType === 'application/json') next();
  else res.status(415).json({ error: `${req.method} ${req.path} takes a JSON body (Content-Type: application/json)` });
}

export class AdminAccess {
  readonly listenerIsLoopback: boolean;

  constructor(
    private readonly listenerHost: string,
    readonly token: AdminToken,
  ) {
    this.listenerIsLoopback = isLoopbackHost(listenerHost);
  }

  async verdict(req: Request, right: AdminRight): Promise<AccessVerdict> {
    const presented = bearer(req);
    const tokenValid = presented !== undefined && this.token.required && (await this.token.matches(presented));
    if (tokenValid) return { ok: true };
    if (this.listenerIsLoopback && (right === 'read' || !this.token.required)) return { ok: true };
    if (this.token.required) return { ok: false, status: 401, error: 'missing or wrong admin token' };
    return {
      ok: false,
      status: 403,
      error: `this port is bound to ${this.listenerHost}, not a loopback address: its admin endpoints need an admin token (--admin-token-file); the debug port (--debug-host, 127.0.0.1 by default) serves them without one`,
    };
  }

  /** Express middleware: the request passes, or gets the verdict's status and nothing changes. */
  require(right: AdminRight) {
    return (req: Request, res: Response, next: NextFunction): void => {
      this.verdict(req, right).then((verdict) => {
        if (verdict.ok) next();
        else {
          if (verdict.status === 401) res.set('WWW-Authenticate', 'Bearer');
          res.status(verdict.status).json({ error: verdict.error });
        }
      }, next);
    };
  }
}
