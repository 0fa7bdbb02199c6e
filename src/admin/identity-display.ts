/**
 * How descriptor values (API keys, client addresses: client identities) are shown by /stats and
 * the dashboard. `hash` keeps rows of one identity recognisable across refreshes without revealing
 * it; `prefix` is enough for an operator who knows the population; `full` is for a trusted port.
 * Keys are configuration, not identities, and are always shown.
 */
import { createHash } from 'node:crypto';
import type { DescriptorEntry } from '../rls/codec.js';

export type IdentityDisplay = 'hash' | 'prefix' | 'full';

/** Characters `prefix` keeps: enough to tell clients apart by eye, too few to replay a key. */
const PREFIX_CHARS = 4;
/** Hex digits of the digest `hash` shows (64 bits: collisions are not a concern for a top-K list). */
const HASH_HEX = 16;

export function displayValue(value: string, display: IdentityDisplay): string {
  switch (display) {
    case 'full':
      return value;
    case 'prefix':
      return value.length <= PREFIX_CHARS ? '…' : `${value.slice(0, PREFIX_CHARS)}…`;
    case 'hash':
      return `sha256:${createHash('sha256').update(value).digest('hex').slice(0, HASH_HEX)}`;
  }
}

export function displayDescriptor(descriptor: readonly DescriptorEntry[], display: IdentityDisplay): DescriptorEntry[] {
  return descriptor.map(({ key, value }) => ({ key, value: displayValue(value, display) }));
}
