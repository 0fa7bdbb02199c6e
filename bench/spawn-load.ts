/**
 * Runs the status-counting load generator (bench/grpc-load.ts) in a child process, as a load generator
 * must run (never in the event loop of the server it loads), and returns its result:
 *
 *   const result = await spawnLoad({ url, mode: 'burst', calls: 500, body: { bench: 'one' } });
 *   expect(result.codes).toEqual({ OK: 500 });
 */
import { fileURLToPath } from 'node:url';
import type { LoadOptions, LoadResult } from './grpc-load-options.js';
import { spawnTracked } from './tracked-children.js';

const GENERATOR = fileURLToPath(new URL('grpc-load.ts', import.meta.url));

/** Seconds the child may take beyond its own phases: start-up (tsx, 100k bodies) and the drain. */
const SLACK_SECONDS = 60;

/** `timeoutMs` (default: the phases' seconds, two drains and a minute) bounds the whole child run. */
export async function spawnLoad(options: LoadOptions, timeoutMs = defaultTimeoutMs(options)): Promise<LoadResult> {
  const child = spawnTracked(GENERATOR, [JSON.stringify(options)]);
  try {
    return JSON.parse(await child.waitForLine(/^\{/, timeoutMs)) as LoadResult;
  } finally {
    await child.stop();
  }
}

function defaultTimeoutMs(options: LoadOptions): number {
  const phases = options.mode === 'closed' ? (options.seconds ?? 0) + (options.warmupSeconds ?? 0) : 0;
  return (phases + SLACK_SECONDS) * 1000 + 2 * (options.drainTimeoutMs ?? 30_000);
}
