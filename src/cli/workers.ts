/**
 * `rateguard serve --workers N`: N sidecar processes behind the same gRPC and HTTP ports (node:cluster,
 * whose primary hands connections to the workers round-robin). Redis mode only: with the memory
 * store every worker would hold its own buckets, and a client would get N times its limit.
 *
 * The primary serves nothing itself. It forks the workers, waits until every one is serving (a
 * worker that dies before that stops the whole group: a bad config must not crash-loop), replaces
 * a worker that dies later, and forwards SIGHUP (reload) and SIGTERM/SIGINT (drain) to them.
 */
import cluster, { type Worker } from 'node:cluster';
import { createLogger } from '../observe/logger.js';
import type { Settings } from '../settings/settings.js';

/** What a worker sends its primary once its ports are bound. */
const READY_MESSAGE = 'rateguard:worker-serving';

/** Why these settings cannot run as several workers, or undefined when they can. */
export function workersProblem(settings: Settings): string | undefined {
  if (settings.workers > 1 && settings.redis === undefined) {
    return `--workers ${settings.workers} needs --redis: with the memory store each worker would keep its own buckets and every client would get ${settings.workers}x its limit`;
  }
  return undefined;
}

/** True in the process that must fork workers rather than serve. */
export function isWorkersPrimary(settings: Settings): boolean {
  return settings.workers > 1 && cluster.isPrimary;
}

/** Tells the primary (if any) that this worker is serving. */
export function announceWorkerServing(): void {
  if (cluster.isWorker) process.send?.(READY_MESSAGE);
}

/**
 * Runs the primary: resolves with the exit code once every worker has exited (0 after a requested
 * shutdown, 1 when a worker failed to start).
 */
export function superviseWorkers(settings: Settings): Promise<number> {
  const logger = createLogger({ level: settings.logLevel });
  const live = new Set<Worker>();
  const serving = new Set<Worker>();
  let stopping = false;
  let exitCode = 0;

  const stopAll = (signal: NodeJS.Signals) => {
    stopping = true;
    for (const worker of live) worker.process.kill(signal);
  };
  const fork = () => {
    const worker = cluster.fork();
    live.add(worker);
    worker.on('message', (message: unknown) => {
      if (message !== READY_MESSAGE) return;
      serving.add(worker);
      if (serving.size === settings.workers) logger.info({ workers: settings.workers }, 'workers serving');
    });
  };

  return new Promise((resolve) => {
    cluster.on('exit', (worker, code, signal) => {
      live.delete(worker);
      const started = serving.delete(worker);
      if (!stopping && !started) {
        logger.fatal({ pid: worker.process.pid, code, signal }, 'worker failed to start; stopping');
        exitCode = 1;
        stopAll('SIGTERM');
      } else if (!stopping) {
        logger.error({ pid: worker.process.pid, code, signal }, 'worker died; starting a replacement');
        fork();
      }
      if (live.size === 0) resolve(exitCode);
    });
    process.on('SIGHUP', () => {
      for (const worker of serving) worker.process.kill('SIGHUP');
    });
    process.once('SIGTERM', () => stopAll('SIGTERM'));
    process.once('SIGINT', () => stopAll('SIGTERM'));
    for (let i = 0; i < settings.workers; i++) fork();
  });
}
