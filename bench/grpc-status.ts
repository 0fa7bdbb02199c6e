/**
 * Answers of a gRPC load run counted by status, by name: `OK` and `OVER_LIMIT` (a ShouldRateLimit OK
 * answer whose overall_code is OVER_LIMIT) are the answers that carry a decision; every gRPC error code
 * (`UNAVAILABLE`, `RESOURCE_EXHAUSTED`, `DEADLINE_EXCEEDED`, ...) and the generator's own categories
 * (`STREAM_ERROR`: a stream reset or a connection lost before a status; `BAD_RESPONSE`: an OK status
 * whose message does not decode) are errors.
 */
import { status } from '@grpc/grpc-js';

/** Counts by status name; a name that is absent counts 0. */
export type StatusCounts = Record<string, number>;

export const DECISIONS = ['OK', 'OVER_LIMIT'] as const;
export const STREAM_ERROR = 'STREAM_ERROR';
export const BAD_RESPONSE = 'BAD_RESPONSE';

const NAMES = new Map<number, string>(Object.entries(status).flatMap(([name, code]) => (typeof code === 'number' ? [[code, name] as const] : [])));

/** The name of a numeric `grpc-status` (its number as text when it is no gRPC code). */
export function statusName(code: number): string {
  return NAMES.get(code) ?? String(code);
}

export function countInto(counts: StatusCounts, name: string, n = 1): void {
  counts[name] = (counts[name] ?? 0) + n;
}

export function addCounts(...all: readonly StatusCounts[]): StatusCounts {
  const sum: StatusCounts = {};
  for (const counts of all) for (const [name, n] of Object.entries(counts)) countInto(sum, name, n);
  return sum;
}

export function totalOf(counts: StatusCounts): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

/** Answers that carry a decision: OK + OVER_LIMIT. */
export function decisionsOf(counts: StatusCounts): number {
  return (counts.OK ?? 0) + (counts.OVER_LIMIT ?? 0);
}

/** The error categories with a non-zero count, by name (sorted, for stable JSON). */
export function errorsOf(counts: StatusCounts): StatusCounts {
  return Object.fromEntries(
    Object.entries(counts)
      .filter(([name, n]) => n !== 0 && !(DECISIONS as readonly string[]).includes(name))
      .sort(([a], [b]) => a.localeCompare(b)),
  );
}

/** "UNAVAILABLE 58,912, DEADLINE_EXCEEDED 3" */
export function describeCounts(counts: StatusCounts): string {
  const entries = Object.entries(counts).filter(([, n]) => n !== 0);
  return entries.length === 0 ? 'none' : entries.map(([name, n]) => `${name} ${n.toLocaleString('en-US')}`).join(', ');
}

/** The names whose counts differ, with both figures: "OK 100 vs 98". Empty when equal. */
export function countDifferences(a: StatusCounts, b: StatusCounts): string[] {
  const names = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return names.filter((name) => (a[name] ?? 0) !== (b[name] ?? 0)).map((name) => `${name} ${a[name] ?? 0} vs ${b[name] ?? 0}`);
}
