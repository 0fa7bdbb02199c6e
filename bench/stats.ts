/** Medians, percentiles and the interleaved rounds every comparison runs in. */
import type { Metrics, Round, Row, RowKind } from './results.js';

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sortedAscending: ArrayLike<number>, p: number): number {
  if (sortedAscending.length === 0) return Number.NaN;
  const rank = Math.min(sortedAscending.length - 1, Math.max(0, Math.ceil((p / 100) * sortedAscending.length) - 1));
  return sortedAscending[rank]!;
}

export function mean(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  return values.length === 0 ? Number.NaN : sum / values.length;
}

/** Per metric, the median over rounds (a metric missing from a round does not count for it). */
export function medianMetrics(rounds: readonly Metrics[]): Metrics {
  const names = new Set(rounds.flatMap((r) => Object.keys(r)));
  return Object.fromEntries([...names].map((name) => [name, median(rounds.flatMap((r) => (Number.isFinite(r[name]) ? [r[name]!] : [])))]));
}

export interface Contender {
  readonly id: string;
  readonly label: string;
  readonly kind: RowKind;
  readonly compareTo?: string;
  readonly measure: () => Promise<Round>;
}

/**
 * Runs the contenders in `rounds` rounds, each round in a rotated order (A B C, B C A, C A B, ...),
 * so drift, GC and neighbours' noise hit every contender alike; reports per-metric medians of the
 * valid rounds, and marks a row with an invalid round invalid.
 */
export async function interleave(contenders: readonly Contender[], rounds: number, progress: (line: string) => void): Promise<Row[]> {
  const results = contenders.map(() => [] as Round[]);
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < contenders.length; k++) {
      const index = (k + round) % contenders.length;
      const contender = contenders[index]!;
      const measured = await contender.measure();
      results[index]!.push(measured);
      progress(
        `  round ${round + 1}/${rounds} ${contender.label.padEnd(44)} ${summarise(measured.metrics)}${measured.invalid === undefined ? '' : `  INVALID: ${measured.invalid}`}`,
      );
    }
  }
  return contenders.map((c, i) => {
    const invalid = invalidReason(results[i]!);
    return {
      id: c.id,
      label: c.label,
      kind: c.kind,
      ...(c.compareTo === undefined ? {} : { compareTo: c.compareTo }),
      rounds: results[i]!,
      median: medianMetrics(results[i]!.filter((r) => r.invalid === undefined).map((r) => r.metrics)),
      ...(invalid === undefined ? {} : { invalid }),
    };
  });
}

/** "2 of 3 rounds invalid; round 1: ..." or undefined when every round is valid. */
function invalidReason(rounds: readonly Round[]): string | undefined {
  const invalid = rounds.flatMap((r, i) => (r.invalid === undefined ? [] : [`round ${i + 1}: ${r.invalid}`]));
  return invalid.length === 0 ? undefined : `${invalid.length} of ${rounds.length} rounds invalid; ${invalid.join('; ')}`;
}

function summarise(metrics: Metrics): string {
  return Object.entries(metrics)
    .map(([name, value]) => `${name}=${Number.isInteger(value) ? value : Number(value).toFixed(3)}`)
    .join(' ');
}

/** A row that could not run, with the reason shown in the report. */
export function skippedRow(id: string, label: string, kind: RowKind, reason: string): Row {
  return { id, label, kind, rounds: [], median: {}, skipped: reason };
}
