/**
 * The descriptor an admin call names: `k=v,k2=v2` (a query string or a JSON string) or, for values
 * holding `,` or `=`, a JSON list of `{key, value}`. Checked with the same bounds as a
 * ShouldRateLimit request, so an admin call cannot reach what a request could not.
 */
import type { DescriptorEntry } from '../rls/codec.js';
import { checkRequest, type RequestLimits } from '../service/request-limits.js';

export type DescriptorTarget =
  | { readonly ok: true; readonly domain: string; readonly descriptor: readonly DescriptorEntry[] }
  | { readonly ok: false; readonly error: string };

function parseEntries(text: string): DescriptorEntry[] | string {
  const entries: DescriptorEntry[] = [];
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return `descriptor entries are key=value, got ${JSON.stringify(part)}`;
    entries.push({ key: part.slice(0, eq), value: part.slice(eq + 1) });
  }
  return entries;
}

function isEntry(value: unknown): value is DescriptorEntry {
  if (typeof value !== 'object' || value === null) return false;
  const { key, value: v } = value as Record<string, unknown>;
  return typeof key === 'string' && typeof v === 'string';
}

function entriesOf(raw: unknown): DescriptorEntry[] | string {
  if (typeof raw === 'string') return parseEntries(raw);
  if (Array.isArray(raw) && raw.every(isEntry)) return raw.map(({ key, value }) => ({ key, value }));
  return 'descriptor must be "key=value,key2=value2" or a list of {"key","value"}';
}

/** Reads `domain` and `descriptor` from a query or a JSON body. */
export function parseDescriptorTarget(source: Record<string, unknown>, limits: RequestLimits): DescriptorTarget {
  const { domain, descriptor } = source;
  if (typeof domain !== 'string' || domain === '') return { ok: false, error: 'domain is required' };
  if (descriptor === undefined) return { ok: false, error: 'descriptor is required' };
  const entries = entriesOf(descriptor);
  if (typeof entries === 'string') return { ok: false, error: entries };
  const problem = checkRequest({ domain, descriptors: [{ entries }], hitsAddend: 0 }, limits);
  if (problem !== undefined) return { ok: false, error: problem };
  return { ok: true, domain, descriptor: entries };
}
