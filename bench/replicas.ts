/**
 * One contender as several processes of the same server, measured in turn: round r of a table runs
 * on replica r mod n. On this shared VM one process keeps its own speed for its whole life: four
 * identical Redis sidecars, eight interleaved rounds each, had medians up to 22% apart, the slowest
 * slower in most rounds (bench/analysis.md, "One process is one sample"). With one process per
 * contender a ratio was that luck as much as the code; with several, the median of the rounds samples
 * it too. The replicas of all contenders are started in turns (first replica of each, then the
 * second...), so no contender gets all the early or all the late starts.
 */
import type { GrpcTarget } from './servers.js';

export interface Replicas {
  readonly label: string;
  readonly targets: readonly GrpcTarget[];
}

/** Starts `count` replicas of every server in `starts`, in turns; keyed as `starts` is. */
export async function startReplicas<K extends string>(starts: Record<K, () => Promise<GrpcTarget>>, count: number): Promise<Record<K, Replicas>> {
  const keys = Object.keys(starts) as K[];
  const started = new Map<K, GrpcTarget[]>(keys.map((key) => [key, []]));
  try {
    for (let replica = 0; replica < count; replica++) for (const key of keys) started.get(key)!.push(await starts[key]());
  } catch (error) {
    await stopAll([...started.values()].flat());
    throw error;
  }
  const replicas = {} as Record<K, Replicas>;
  for (const [key, targets] of started) replicas[key] = { label: targets[0]!.label, targets };
  return replicas;
}

/** A fresh rotation: the first call gets replica 0, the next replica 1, and so on around. */
export function rotation(replicas: Replicas): () => GrpcTarget {
  let calls = 0;
  return () => replicas.targets[calls++ % replicas.targets.length]!;
}

export async function stopAll(targets: readonly GrpcTarget[]): Promise<void> {
  await Promise.all(targets.map((target) => target.stop()));
}
