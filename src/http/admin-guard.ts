import { timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Guards mutating admin endpoints so they are never open by accident: without a token only
 * loopback clients pass; with one, every call needs `Authorization: Bearer <token>`.
 * Wrong or missing token → 401 and nothing changes. The peer address is the socket's, never a
 * forwarded header a client could forge.
 */
export function adminGuard(token: string | undefined) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (token === undefined || token === '') {
      if (LOOPBACK.has(req.socket.remoteAddress ?? '')) next();
      else res.status(403).json({ error: 'admin endpoints accept loopback clients only unless an admin token is configured' });
      return;
    }
    const header = req.headers.authorization ?? '';
    if (header.startsWith('Bearer ') && sameToken(header.slice(7), token)) next();
    else res.status(401).json({ error: 'missing or wrong admin token' });
  };
}
