/** The machine a run measured: cores, CPU, memory, OS, Node, Redis and load-generator versions. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { Machine } from './results.js';

export function describeMachine(redisVersion: string, loadGenerators: Record<string, string>): Machine {
  const cpuIdle = describeCpuIdle(readKernelFile);
  return {
    cores: os.availableParallelism(),
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    memoryGb: os.totalmem() / 2 ** 30,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    redis: redisVersion,
    loadGenerators,
    loadAverage: os.loadavg()[0]!,
    ...(cpuIdle === undefined ? {} : { cpuIdle }),
  };
}

/** A /proc or /sys file's text, trimmed; undefined where it is missing or unreadable (not Linux). */
export type ReadKernelFile = (path: string) => string | undefined;

function readKernelFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

const HALT_POLL_NS = '/sys/module/haltpoll/parameters/guest_halt_poll_ns';

/**
 * How an idle CPU sleeps (the cpuidle driver and governor), and under the haltpoll driver, for how
 * long a vCPU polls before it halts. In a VM a halted vCPU is woken by the hypervisor, which costs
 * tens of µs per wake-up where no poll catches it: a closed-loop call with one Redis round trip
 * wakes four processes (bench/analysis.md, "vCPU wake-ups"). Undefined where Linux does not say.
 */
export function describeCpuIdle(read: ReadKernelFile): string | undefined {
  const driver = read('/sys/devices/system/cpu/cpuidle/current_driver');
  if (driver === undefined || driver === '') return undefined;
  const governor = read('/sys/devices/system/cpu/cpuidle/current_governor');
  const pollNs = driver === 'haltpoll' ? read(HALT_POLL_NS) : undefined;
  const poll = pollNs === undefined ? '' : pollNs === '0' ? ', halt polling off' : `, polls ${Number(pollNs) / 1000} µs before halting`;
  return `${driver}${governor === undefined || governor === driver ? '' : ` (governor ${governor})`}${poll}`;
}

export function packageVersion(name: string): string {
  const out = execFileSync(process.execPath, ['-p', `require('${name}/package.json').version`], { encoding: 'utf8' });
  return out.trim();
}

/** The machine's CPU time so far, all CPUs (clock ticks): in total, and stolen by the hypervisor. */
export interface CpuTimes {
  readonly total: number;
  readonly steal: number;
}

/**
 * From /proc/stat's `cpu` line (user nice system idle iowait irq softirq steal ...); undefined where
 * there is none (not Linux). On a shared VM the hypervisor may run other guests on "our" cores: that
 * time is steal, and it makes one round slower than the next whatever the code does.
 */
export function readCpuTimes(): CpuTimes | undefined {
  const line = readKernelFile('/proc/stat')?.split('\n', 1)[0];
  const fields = line?.startsWith('cpu ') ? line.trim().split(/\s+/).slice(1, 9).map(Number) : [];
  if (fields.length < 8 || fields.some(Number.isNaN)) return undefined;
  return { total: fields.reduce((a, b) => a + b, 0), steal: fields[7]! };
}

/** The share of CPU time stolen between two readings (0–1), or undefined. */
export function stolenShare(start: CpuTimes | undefined, end: CpuTimes | undefined): number | undefined {
  if (start === undefined || end === undefined || end.total <= start.total) return undefined;
  return (end.steal - start.steal) / (end.total - start.total);
}
