import { createHash, timingSafeEqual } from 'node:crypto';
import { isIPv4 } from 'node:net';
import type { NextFunction, Request, Response } from 'express';

/** Whether a socket peer is this host: 127.0.0.0/8 (plain or IPv4-mapped) or ::1. */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  if (address === '::1') return true;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return isIPv4(v4) && v4.startsWith('127.');
}

/** Digests have one length whatever was sent, so the comparison takes the same time for any guess. */
const digest = (text: string) => createHash('sha256').update(text).digest();

export function sameToken(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** Whether `req` may call a mutating admin endpoint (see `adminGuard`). */
export function mayAdminister(req: Request, token: string | undefined): boolean {
  if (token === undefined || token === '') return isLoopback(req.socket.remoteAddress);
  const header = req.headers.authorization ?? '';
  return header.startsWith('Bearer ') && sameToken(header.slice(7), token);
}

/**
 * Guards mutating admin endpoints so they are never open by accident: without a token only
 * loopback clients pass; with one, every call needs `Authorization: Bearer <token>`.
 * Wrong or missing token → 401 and nothing changes. The peer address is the socket's, never a
 * forwarded header a client could forge.
 */
export function adminGuard(token: string | undefined) {
  const tokenSet = token !== undefined && token !== '';
  return (req: Request, res: Response, next: NextFunction): void => {
    if (mayAdminister(req, token)) next();
    else if (tokenSet) res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: 'missing or wrong admin token' });
    else res.status(403).json({ error: 'admin endpoints accept loopback clients only unless an admin token is configured' });
  };
}
