/**
 * Wildcard values: `*` anywhere in a config value matches zero or more characters. Compiled once
 * at load into literal parts; matching is startsWith/endsWith/indexOf, no RegExp per request.
 * (envoyproxy/ratelimit itself only honours a trailing `*`; a trailing `*` behaves the same here.)
 */

export interface WildcardPattern {
  readonly source: string;
  /** The literal text around the stars (before the first, between, after the last). */
  readonly parts: readonly string[];
  /** Sum of the literal parts' lengths: a shorter value cannot match. */
  readonly minLength: number;
}

export function isWildcard(value: string): boolean {
  return value.includes('*');
}

export function compileWildcard(source: string): WildcardPattern {
  const parts = Object.freeze(source.split('*'));
  const minLength = parts.reduce((sum, part) => sum + part.length, 0);
  return Object.freeze({ source, parts, minLength });
}

export function matchWildcard(pattern: WildcardPattern, text: string): boolean {
  if (text.length < pattern.minLength) return false;
  const parts = pattern.parts;
  if (parts.length === 1) return text === pattern.source; // no star: a literal
  const first = parts[0] ?? '';
  const last = parts[parts.length - 1] ?? '';
  if (!text.startsWith(first) || !text.endsWith(last)) return false;
  // The middle parts, leftmost first, between the prefix and the suffix: leftmost is always safe
  // for `*`-only globs, since taking a part as early as possible leaves the most room after it.
  let from = first.length;
  const end = text.length - last.length;
  for (let i = 1; i < parts.length - 1; i++) {
    const part = parts[i] ?? '';
    const at = text.indexOf(part, from);
    if (at < 0 || at + part.length > end) return false;
    from = at + part.length;
  }
  return true;
}
