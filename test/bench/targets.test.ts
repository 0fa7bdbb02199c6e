/** The bench's verdicts (bench/targets.ts): a figure's text never reads as the other verdict. */
import { describe, expect, it } from 'vitest';
import type { Group, Row } from '../../bench/results.js';
import { judgeTargets, verdict } from '../../bench/targets.js';

const row = (id: string, median: Record<string, number>, invalid?: string): Row => ({
  id,
  label: id,
  kind: id === 'baseline' ? 'baseline' : 'rateguard',
  rounds: [],
  median,
  ...(invalid === undefined ? {} : { invalid }),
});
const group = (id: string, rows: Row[]): Group => ({ id, title: id, description: '', commands: [], columns: [], rows });

function judged(groups: Group[], text: string) {
  const found = judgeTargets(groups).find((t) => t.target.startsWith(text));
  if (found === undefined) throw new Error(`no target starting ${text}`);
  return { measured: found.measured, verdict: verdict(found) };
}

const M32 = 'Sidecar, memory, 1 descriptor, saturating (2 × 32 streams)';
const LATENCY = 'Closed-loop latency, Redis store: mean';

describe('bench targets', () => {
  it('a ratio just under its threshold shows the digits that make it so', () => {
    const groups = [group('grpc-saturating-1-m32', [row('baseline', { rps: 16_622 }), row('memory', { rps: 19_942 })])];
    expect(judged(groups, M32)).toEqual({ measured: '1.1997×', verdict: 'NOT MET' });
  });

  it('a ratio clear of its threshold keeps two decimals', () => {
    const groups = [group('grpc-saturating-1-m32', [row('baseline', { rps: 10_000 }), row('memory', { rps: 14_500 })])];
    expect(judged(groups, M32)).toEqual({ measured: '1.45×', verdict: 'met' });
  });

  it('a difference just over its ceiling shows the digits that make it so', () => {
    const groups = [group('grpc-latency', [row('baseline', { meanMs: 0.2 }), row('redis', { meanMs: 0.30004 })])];
    expect(judged(groups, LATENCY)).toEqual({ measured: '+0.10004 ms', verdict: 'NOT MET' });
  });

  it('an invalid row meets no target, and a missing one is not measured', () => {
    const invalid = [group('grpc-saturating-1-m32', [row('baseline', { rps: 1 }), row('memory', { rps: 100 }, 'round 2 had 3 error answers')])];
    expect(judged(invalid, M32)).toEqual({ measured: 'invalid: memory: round 2 had 3 error answers', verdict: 'NOT MET' });
    expect(judged([], M32)).toEqual({ measured: 'not measured', verdict: 'not measured' });
  });
});

describe('bench targets, round by round', () => {
  const withRounds = (id: string, values: number[]): Row => ({
    ...row(id, { rps: [...values].sort((a, b) => a - b)[values.length >> 1]! }),
    rounds: values.map((rps) => ({ metrics: { rps } })),
  });
  const result = (groups: Group[]) => judgeTargets(groups).find((t) => t.target.startsWith(M32))!;

  it('shows the lowest and highest ratio of rounds run together, beside the ratio of the medians', () => {
    const groups = [group('grpc-saturating-1-m32', [withRounds('baseline', [10_000, 20_000, 12_000]), withRounds('memory', [15_000, 20_000, 13_200])])];
    expect(result(groups)).toMatchObject({ measured: '1.25×', perRound: '1.00× to 1.50×', met: true });
  });

  it('shows no span with fewer than two rounds in both rows', () => {
    const one = [group('grpc-saturating-1-m32', [withRounds('baseline', [10_000]), withRounds('memory', [13_000, 14_000])])];
    expect(result(one)).toMatchObject({ measured: '1.40×', met: true });
    expect(result(one).perRound).toBeUndefined();
  });
});
