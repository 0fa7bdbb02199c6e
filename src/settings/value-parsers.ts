/**
 * The value parsers of the settings table: each reads one flag or environment value (the
 * reference's spellings included: Go durations, any-case enums, `host:port`) into a typed value, or
 * says what is wrong with it.
 */
import { isIP } from 'node:net';
import type { LogFormat } from '../observe/logger.js';

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

export interface Setting<T> {
  /** Absent for reference names that have no rateguard meaning of their own (env only). */
  readonly flag?: string;
  readonly env: readonly string[];
  readonly default: T;
  readonly doc: string;
  /** For --help and the README: how the value is written. */
  readonly type: string;
  readonly parse: (text: string) => Parsed<T>;
  /** A boolean flag takes no value (`--shadow-mode`); its env var takes true/false. */
  readonly boolean?: boolean;
  /**
   * For a reference setting rateguard accepts but reads differently (or not at all): the one
   * start-up log line saying so, when the setting is given.
   */
  notice?(value: T): string | undefined;
}

export const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });

export function integer(min: number, max: number) {
  return (text: string): Parsed<number> => {
    const n = Number(text);
    return /^\d+$/.test(text.trim()) && n >= min && n <= max ? ok(n) : { ok: false, error: `expected a whole number from ${min} to ${max}, got "${text}"` };
  };
}

export function oneOf<T extends string>(...values: T[]) {
  return (text: string): Parsed<T> =>
    (values as string[]).includes(text) ? ok(text as T) : { ok: false, error: `expected one of ${values.join(', ')}, got "${text}"` };
}

/** Enum values in any case, as the reference reads `REDIS_TYPE=SINGLE` or `LOG_LEVEL=WARN`. */
export function anyCase<T>(parse: (text: string) => Parsed<T>) {
  return (text: string): Parsed<T> => parse(text.toLowerCase());
}

export const text = (value: string): Parsed<string> => ok(value);
export const optionalText = (value: string): Parsed<string | undefined> => ok(value === '' ? undefined : value);

/** Every spelling Go's strconv.ParseBool takes (the reference's `t`, `F`, `TRUE`), and yes/no, on/off. */
export function bool(value: string): Parsed<boolean> {
  if (/^(true|t|1|yes|on)$/i.test(value)) return ok(true);
  if (/^(false|f|0|no|off)$/i.test(value)) return ok(false);
  return { ok: false, error: `expected true or false, got "${value}"` };
}

export const port = integer(0, 65_535);

/** A share strictly above 0 and at most 1. */
export function ratio(text: string): Parsed<number> {
  const n = Number(text);
  return text.trim() !== '' && Number.isFinite(n) && n > 0 && n <= 1 ? ok(n) : { ok: false, error: `expected a number above 0 and at most 1, got "${text}"` };
}

export const DURATION_UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * A Go duration (`10s`, `1m30s`, `500ms`), as the reference's environment takes them, or a bare
 * whole number of ms (as rateguard's other times); in whole ms.
 */
export function duration(text: string): Parsed<number> {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return ok(Number(trimmed));
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== trimmed) {
    return { ok: false, error: `expected a duration like 10s, 500ms or 1m30s, got "${text}"` };
  }
  return ok(Math.round(parts.reduce((ms, p) => ms + Number(p[1]) * DURATION_UNIT_MS[p[2]!]!, 0)));
}

/** A duration from `minMs` to `maxMs` (a period that drives a timer, a timeout). */
export function durationWithin(minMs: number, maxMs = Number.POSITIVE_INFINITY) {
  return (text: string): Parsed<number> => {
    const parsed = duration(text);
    if (!parsed.ok || (parsed.value >= minMs && parsed.value <= maxMs)) return parsed;
    return {
      ok: false,
      error: maxMs === Number.POSITIVE_INFINITY ? `expected at least ${minMs} ms, got "${text}"` : `expected ${minMs} ms to ${maxMs} ms, got "${text}"`,
    };
  };
}

/** logrus's level names as the reference reads them, in any case, onto pino's. */
export const LOGRUS_LEVELS: Record<string, string> = { warning: 'warn', panic: 'fatal' };
export const pinoLevel = oneOf('trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent');

export function logLevel(text: string): Parsed<string> {
  const lower = text.toLowerCase();
  return pinoLevel(LOGRUS_LEVELS[lower] ?? lower);
}

/** The reference's `text` is its human-readable format: rateguard's `pretty`. */
export function logFormat(text: string): Parsed<LogFormat> {
  const lower = text.toLowerCase();
  return oneOf<LogFormat>('json', 'pretty')(lower === 'text' ? 'pretty' : lower);
}

/** `k1<sep>v1,k2<sep>v2` (the reference's node metadata and header lists); values may hold `sep`. */
export function pairs(separator: string) {
  return (text: string): Parsed<Record<string, string>> => {
    const out: Record<string, string> = {};
    for (const item of text.split(',')) {
      if (item.trim() === '') continue;
      const at = item.indexOf(separator);
      if (at <= 0) return { ok: false, error: `expected key${separator}value pairs separated by commas, got "${item}"` };
      out[item.slice(0, at).trim()] = item.slice(at + 1).trim();
    }
    return ok(out);
  };
}

/** A listen address as Go writes it: `host:port`, `[v6]:port`, or `:port` for every interface. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export function listenAddress(text: string): Parsed<ListenAddress> {
  const match = /^(\[[^\]]+\]|[^:[\]]*):(\d{1,5})$/.exec(text.trim());
  const port = match === null ? Number.NaN : Number(match[2]);
  if (match === null || port > 65_535) return { ok: false, error: `expected host:port or :port, got "${text}"` };
  return ok({ host: match[1] === '' ? '0.0.0.0' : match[1]!.replace(/^\[|\]$/g, ''), port });
}

export const DNS_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/** One DNS name or IP address: a list or a pattern would silently match no certificate. */
export function hostNameOrIp(text: string): Parsed<string | undefined> {
  const name = text.trim();
  if (name === '') return ok(undefined);
  return isIP(name) !== 0 || DNS_NAME.test(name) ? ok(name) : { ok: false, error: `expected one DNS name or IP address, got "${text}"` };
}

/** An HTTP field name (RFC 9110 token). */
export function headerName(text: string): Parsed<string> {
  return /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(text) ? ok(text) : { ok: false, error: `expected an HTTP header name, got "${text}"` };
}

export function urlPath(text: string): Parsed<string> {
  return text.startsWith('/') ? ok(text) : { ok: false, error: `expected a path starting with /, got "${text}"` };
}

/**
 * A reference setting with nothing to switch here (a pool size, a second Redis): read, never an
 * error, and announced with one start-up line saying what it maps to.
 */
export function acceptedWithNotice(env: readonly string[], doc: string, notice: string): Setting<string | undefined> {
  return { env, default: undefined, type: 'text', doc, parse: optionalText, notice: () => notice };
}

/**
 * A reference setting rateguard cannot honour: starting anyway would enforce something other than
 * what the operator wrote, so any value but the harmless ones stops the start, naming what to use.
 */
export function refusedUnless(harmless: readonly string[], insteadUse: string): (text: string) => Parsed<string | undefined> {
  return (text) => (harmless.includes(text.toLowerCase()) ? ok(undefined) : { ok: false, error: `not supported here, got "${text}": ${insteadUse}` });
}

/** A share from 0 to 1, both included. */
export function fraction(text: string): Parsed<number> {
  const n = Number(text);
  return text.trim() !== '' && Number.isFinite(n) && n >= 0 && n <= 1 ? ok(n) : { ok: false, error: `expected a number from 0 to 1, got "${text}"` };
}
