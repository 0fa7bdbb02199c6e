/**
 * Bucket keys: `<prefix>{<slot tag>}<limit id>|<identity>`.
 *
 * - Injective: the identity is a list of length-prefixed parts (`3:api5:user1`), so no two different
 *   (domain, entries) lists share a key, whatever characters the values hold. Callers pass
 *   well-formed strings (the RLS decoders reject lone surrogates, which UTF-8 cannot carry).
 * - Bounded: an identity longer than MAX_IDENTITY_LENGTH is replaced by `#` + its SHA-256; a plain
 *   identity starts with a digit, so the two forms never meet.
 * - Cluster-safe: the slot tag is our own hex hash of the identity, written first, so Redis Cluster
 *   hashes only it; braces inside user values come later and cannot pick the slot. All limits of
 *   one identity share a tag and so one slot.
 */
import { createHash } from 'node:crypto';

export const MAX_IDENTITY_LENGTH = 256;

export interface IdentityEntry {
  readonly key: string;
  readonly value: string;
}

/** Rejects prefixes that would break the slot-tag rule. Checked once, at config load. */
export function checkKeyPrefix(prefix: string): string | undefined {
  if (/[{}]/.test(prefix)) return `key prefix must not contain "{" or "}", got ${JSON.stringify(prefix)}`;
  return undefined;
}

/** The injective, length-bounded encoding of a domain and its descriptor entries. */
export function encodeIdentity(domain: string, entries: readonly IdentityEntry[]): string {
  let out = `${domain.length}:${domain}`;
  for (const entry of entries) out += `${entry.key.length}:${entry.key}${entry.value.length}:${entry.value}`;
  if (out.length <= MAX_IDENTITY_LENGTH) return out;
  return `#${createHash('sha256').update(out).digest('base64url')}`;
}

/** Two hex digits per byte value: `Number#toString(16)` was about half of `slotTag`'s time (bench/analysis.md). */
const HEX_BYTES = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

/** 32-bit FNV-1a as 8 hex digits: cheap, and only spreads identities over cluster slots. */
export function slotTag(identity: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < identity.length; i++) {
    hash ^= identity.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return HEX_BYTES[hash >>> 24]! + HEX_BYTES[(hash >>> 16) & 255]! + HEX_BYTES[(hash >>> 8) & 255]! + HEX_BYTES[hash & 255]!;
}

/** The store key of one bucket: one identity under one limit. */
export function bucketKey(prefix: string, limitId: string, identity: string): string {
  return `${prefix}{${slotTag(identity)}}${limitId}|${identity}`;
}
