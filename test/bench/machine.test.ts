import { describe, expect, it } from 'vitest';
import { describeCpuIdle, stolenShare } from '../../bench/machine.js';

const sysfs =
  (files: Record<string, string>) =>
  (path: string): string | undefined =>
    files[path];
const DRIVER = '/sys/devices/system/cpu/cpuidle/current_driver';
const GOVERNOR = '/sys/devices/system/cpu/cpuidle/current_governor';
const POLL = '/sys/module/haltpoll/parameters/guest_halt_poll_ns';

describe('describeCpuIdle', () => {
  it('says when a haltpoll guest halts at once', () => {
    expect(describeCpuIdle(sysfs({ [DRIVER]: 'haltpoll', [GOVERNOR]: 'haltpoll', [POLL]: '0' }))).toBe('haltpoll, halt polling off');
  });

  it('gives the poll time in µs when a haltpoll guest polls', () => {
    expect(describeCpuIdle(sysfs({ [DRIVER]: 'haltpoll', [GOVERNOR]: 'haltpoll', [POLL]: '200000' }))).toBe('haltpoll, polls 200 µs before halting');
  });

  it('names the governor when it differs from the driver, and reads no poll time for other drivers', () => {
    expect(describeCpuIdle(sysfs({ [DRIVER]: 'intel_idle', [GOVERNOR]: 'menu', [POLL]: '0' }))).toBe('intel_idle (governor menu)');
  });

  it('is undefined where Linux names no driver', () => {
    expect(describeCpuIdle(sysfs({}))).toBeUndefined();
    expect(describeCpuIdle(sysfs({ [DRIVER]: '' }))).toBeUndefined();
  });
});

describe('stolenShare', () => {
  it('is the steal ticks over all ticks between two readings', () => {
    expect(stolenShare({ total: 1000, steal: 10 }, { total: 3000, steal: 70 })).toBe(0.03);
  });

  it('is undefined without two readings that moved', () => {
    expect(stolenShare(undefined, { total: 10, steal: 0 })).toBeUndefined();
    expect(stolenShare({ total: 10, steal: 0 }, { total: 10, steal: 0 })).toBeUndefined();
  });
});
