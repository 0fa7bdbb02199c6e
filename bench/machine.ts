/** The machine a run measured: cores, CPU, memory, OS, Node, Redis and load-generator versions. */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import type { Machine } from './results.js';

export function describeMachine(redisVersion: string, loadGenerators: Record<string, string>): Machine {
  return {
    cores: os.availableParallelism(),
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    memoryGb: os.totalmem() / 2 ** 30,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    redis: redisVersion,
    loadGenerators,
    loadAverage: os.loadavg()[0]!,
  };
}

export function packageVersion(name: string): string {
  const out = execFileSync(process.execPath, ['-p', `require('${name}/package.json').version`], { encoding: 'utf8' });
  return out.trim();
}
