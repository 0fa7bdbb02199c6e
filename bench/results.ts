/**
 * The shape of a bench run's JSON (bench/results/*.json): what the report and the charts are drawn
 * from. Every figure is a median over interleaved rounds; the rounds are kept too.
 */
import type { StatusCounts } from './grpc-status.js';

/** Named figures of one measurement: `rps`, `meanMs`, `p99Ms`, `ok`, `overLimit`, `errors`, `redisUsPerCall`, ... */
export type Metrics = Record<string, number>;

/** One measurement (one round of one row). */
export interface Round {
  readonly metrics: Metrics;
  /** gRPC load runs: the error answers by status name (UNAVAILABLE, STREAM_ERROR, ...); {} when none. */
  readonly errors?: StatusCounts;
  /** Why the run measured nothing trustworthy (bench/answer-check.ts); its figures are in no median. */
  readonly invalid?: string;
}

export interface Row {
  readonly id: string;
  readonly label: string;
  /** One entry per round, in run order. */
  readonly rounds: Round[];
  /** Per metric, the median over the valid rounds. */
  readonly median: Metrics;
  /** Set when any round is invalid: the row meets no target, whatever its median of the valid rounds. */
  readonly invalid?: string;
  /** Shown instead of figures when the row could not run (e.g. a flag that does not exist yet). */
  readonly skipped?: string;
  /** Id of the row this one is compared with, when not the group's baseline. */
  readonly compareTo?: string;
  /** Colours the chart: the baseline, rateguard, or a peer library. */
  readonly kind: RowKind;
}

export type RowKind = 'baseline' | 'rateguard' | 'peer';

export interface Column {
  readonly metric: string;
  readonly label: string;
  /** Digits after the point. */
  readonly digits: number;
  /** How the row compares to the group's baseline row: a ratio (throughput) or a difference (latency). */
  readonly compare?: 'ratio' | 'difference';
  /** Drawn as a bar chart. */
  readonly chart?: boolean;
  /** Shown as the sum over every round, invalid ones included (answer counts), not as a median. */
  readonly total?: boolean;
}

export interface Group {
  readonly id: string;
  readonly title: string;
  /** What is measured and how, in a sentence or two (Markdown). */
  readonly description: string;
  /** The exact load-generator and server commands. */
  readonly commands: string[];
  readonly columns: Column[];
  /** Row every other row is compared with (unless it names its own `compareTo`). */
  readonly baseline?: string;
  /** Header of the comparison columns, e.g. "vs baseline". */
  readonly compareLabel?: string;
  readonly rows: Row[];
}

export interface Machine {
  readonly cores: number;
  readonly cpu: string;
  readonly memoryGb: number;
  readonly os: string;
  readonly node: string;
  readonly redis: string;
  readonly loadGenerators: Record<string, string>;
  /** 1-minute load average when the run started: how busy the machine was. */
  readonly loadAverage: number;
  /** Share of all CPU time over the run that the hypervisor gave to others (steal in /proc/stat); absent where unknown. */
  readonly stolenShare?: number;
  /** How an idle CPU sleeps (bench/machine.ts describeCpuIdle); absent where unknown. */
  readonly cpuIdle?: string;
}

export interface TargetResult {
  readonly target: string;
  readonly measured: string;
  /** undefined: could not be measured in this run. */
  readonly met: boolean | undefined;
  /** A comparison's lowest and highest value round by round ("0.77× to 1.04×"): how far the rounds spread. */
  readonly perRound?: string;
}

export interface BenchResults {
  readonly mode: 'quick' | 'full';
  readonly command: string;
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly settings: {
    readonly rounds: number;
    readonly seconds: number;
    readonly warmupSeconds: number;
    /** Processes per gRPC server (bench/replicas.ts); absent in runs from before replicas: one. */
    readonly replicas?: number;
  };
  readonly machine: Machine;
  readonly groups: Group[];
  readonly targets: TargetResult[];
  /** Sections that failed to run, with the error. */
  readonly failures: { readonly section: string; readonly error: string }[];
}
