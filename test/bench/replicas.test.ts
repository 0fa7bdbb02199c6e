import { describe, expect, it } from 'vitest';
import { rotation, startReplicas } from '../../bench/replicas.js';
import type { GrpcTarget } from '../../bench/servers.js';

/** A stand-in server: these tests are about the order of starts, turns and stops, not about serving. */
function recorder() {
  const events: string[] = [];
  let next = 0;
  const start = (label: string) => async (): Promise<GrpcTarget> => {
    const id = `${label}#${next++}`;
    events.push(`start ${id}`);
    return {
      label,
      url: `http://127.0.0.1:${next}`,
      port: next,
      redis: false,
      counts: { metricsUrl: '', instances: 1 },
      command: id,
      pid: next,
      collectGarbage: async () => undefined,
      stop: async () => {
        events.push(`stop ${id}`);
      },
    };
  };
  return { events, start };
}

describe('startReplicas', () => {
  it('starts the replicas of all servers in turns: the first of each, then the second of each', async () => {
    const { events, start } = recorder();
    const pool = await startReplicas({ a: start('a'), b: start('b') }, 3);
    expect(events).toEqual(['start a#0', 'start b#1', 'start a#2', 'start b#3', 'start a#4', 'start b#5']);
    expect(pool.a.targets.map((t) => t.command)).toEqual(['a#0', 'a#2', 'a#4']);
    expect(pool.b.label).toBe('b');
  });

  it('stops the servers already started when one fails to start, and fails', async () => {
    const { events, start } = recorder();
    const broken = async (): Promise<GrpcTarget> => {
      throw new Error('port taken');
    };
    await expect(startReplicas({ a: start('a'), b: broken }, 2)).rejects.toThrow('port taken');
    expect(events).toEqual(['start a#0', 'stop a#0']);
  });
});

describe('rotation', () => {
  it('gives replica r mod n to the r-th call, each rotation from the first replica', async () => {
    const { start } = recorder();
    const pool = await startReplicas({ a: start('a') }, 3);
    const first = rotation(pool.a);
    expect([first(), first(), first(), first()].map((t) => t.command)).toEqual(['a#0', 'a#1', 'a#2', 'a#0']);
    expect(rotation(pool.a)().command).toBe('a#0');
  });
});
