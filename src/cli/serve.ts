import type { ReloadOutcome } from '../config/index.js';
import { createLogger, type Logger } from '../observe/logger.js';
import { type Sidecar, StartupError, startSidecar } from '../server/sidecar.js';
import { resolveSettings, type Settings } from '../settings/settings.js';
import { announceWorkerServing, isWorkersPrimary, superviseWorkers, workersProblem } from './workers.js';

/**
 * Starts the sidecar with process-level wiring: SIGHUP reloads the config, SIGTERM/SIGINT drain.
 * `notices` (reference settings accepted but read differently) are logged as warnings, so that
 * the reference's usual `LOG_LEVEL=warn` still shows them.
 */
export async function runSidecar(settings: Settings, notices: readonly string[]): Promise<Sidecar> {
  const logger = createLogger({ level: settings.logLevel, format: settings.logFormat });
  for (const notice of notices) logger.warn(notice);
  let sidecar: Sidecar;
  try {
    sidecar = await startSidecar(settings, logger);
  } catch (error) {
    // A StartupError is an expected refusal (bad config), a port in use an expected fault: their
    // message says it all; anything else is a bug and keeps its stack.
    const portProblem = portInUse(error);
    if (error instanceof StartupError) logger.fatal(error.message);
    else if (portProblem !== undefined) logger.fatal(portProblem);
    else logger.fatal({ err: error }, 'rateguard could not start');
    throw error;
  }
  process.on('SIGHUP', () => void sidecar.watcher.reload().then((outcome) => logUnchangedReload(logger, outcome)));
  const stop = () => void sidecar.drain().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return sidecar;
}

/** A SIGHUP that found the files as they were: nothing reloaded, so no "config loaded" line or config_load counter. */
function logUnchangedReload(logger: Logger, { event, changed }: ReloadOutcome): void {
  if (changed) return;
  logger.info(
    { source: event.source, version: event.version, serving: event.type === 'loaded' ? 'the loaded config' : 'no config' },
    'SIGHUP: config unchanged, nothing reloaded',
  );
}

/** "cannot listen on 127.0.0.1:8081: address already in use" for a listen that failed so (grpc-js and node:net word it differently). */
export function portInUse(error: unknown): string | undefined {
  const message = error instanceof Error ? error.message : String(error);
  const match = /(EADDRINUSE|EACCES)[^\d[]*(\[?[\w.:]*\]?:\d+)/.exec(message);
  if (match === null) return undefined;
  return `cannot listen on ${match[2]}: ${match[1] === 'EADDRINUSE' ? 'address already in use' : 'permission denied'}`;
}

export async function serve(argv: readonly string[]): Promise<number> {
  const resolved = resolveSettings(argv, process.env);
  if (!resolved.ok) {
    for (const error of resolved.errors) console.error(`rateguard serve: ${error}`);
    return 2;
  }
  if (resolved.rest.length > 0) {
    console.error(`rateguard serve: unexpected argument ${resolved.rest[0]}`);
    return 2;
  }
  const workersError = workersProblem(resolved.settings);
  if (workersError !== undefined) {
    console.error(`rateguard serve: ${workersError}`);
    return 2;
  }
  if (isWorkersPrimary(resolved.settings)) return superviseWorkers(resolved.settings);
  try {
    const sidecar = await runSidecar(resolved.settings, resolved.notices);
    // "workers serving" means every worker can decide: with Redis, once Redis first answered.
    void sidecar.health.whenServing().then(announceWorkerServing);
  } catch {
    return 1;
  }
  return 0;
}
