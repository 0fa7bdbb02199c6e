import { createHash, timingSafeEqual } from 'node:crypto';
import { isIPv4 } from 'node:net';

/**
 * Whether an address is a loopback address: 127.0.0.0/8 (plain or IPv4-mapped) or ::1. Used for the
 * address a listener is bound to (src/admin/admin-access.ts), never to trust a peer: inside a mesh
 * any client may connect from loopback.
 */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  if (address === '::1') return true;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return isIPv4(v4) && v4.startsWith('127.');
}

/** Digests have one length whatever was sent, so the comparison takes the same time for any guess. */
const digest = (text: string) => createHash('sha256').update(text).digest();

/** Constant-time token comparison (admin tokens). */
export function sameToken(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}
