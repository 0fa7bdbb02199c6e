/** What every scenario of one bench run shares: the mode's timings, Redis, scratch space, progress output. */
import type { RedisProcess } from '../test/support/redis-server.js';

export interface Timings {
  /** Interleaved rounds per comparison (the median is reported). */
  readonly rounds: number;
  /**
   * Processes of each gRPC server, measured in turn (bench/replicas.ts): one process keeps its own
   * speed for its life, so several sample that luck.
   */
  readonly replicas: number;
  /** Measured seconds per load run. */
  readonly seconds: number;
  /** Unmeasured seconds before each load run. */
  readonly warmupSeconds: number;
  /** Seconds per store-level run. */
  readonly storeSeconds: number;
  /** Keys for the MemoryStore heap measurement. */
  readonly memoryKeys: number;
  /** Distinct clients for the sidecar's memory per identity (bench/sidecar-rss.ts). */
  readonly sidecarIdentities: number;
}

export const TIMINGS: Record<'quick' | 'full', Timings> = {
  quick: { rounds: 3, replicas: 1, seconds: 1, warmupSeconds: 0.5, storeSeconds: 0.5, memoryKeys: 1_000_000, sidecarIdentities: 100_000 },
  // Nine short rounds rather than five long ones, in about the same time: on a shared VM one server's
  // throughput moves ±20% from one run to the next (bench/analysis.md, "Rounds"), and the median of
  // nine is steadier than that of five.
  full: { rounds: 9, replicas: 3, seconds: 1.5, warmupSeconds: 1, storeSeconds: 1, memoryKeys: 1_000_000, sidecarIdentities: 300_000 },
};

export interface BenchContext {
  readonly timings: Timings;
  readonly redis: RedisProcess;
  /** Scratch directory for request bodies and logs. */
  readonly scratch: string;
  /** Directory for V8 CPU profiles of the sidecars, when profiling. */
  readonly cpuProfileDir: string | undefined;
  progress(line: string): void;
}
