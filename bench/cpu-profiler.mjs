/**
 * Preload that records a V8 CPU profile of the whole process and writes it on exit, like
 * `node --cpu-prof` (which NODE_OPTIONS refuses, and which cluster workers would not inherit).
 * Plain JavaScript: it is loaded through NODE_OPTIONS before tsx is.
 *
 *   NODE_OPTIONS="--import=/abs/path/bench/cpu-profiler.mjs" RG_CPU_PROFILE_DIR=/some/dir node ...
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env.RG_CPU_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 200 });
  session.post('Profiler.start');
  // A process without a SIGTERM handler of its own would die without an 'exit' event (and profile).
  process.on('SIGTERM', () => {
    if (process.listenerCount('SIGTERM') === 1) process.exit(143);
  });
  process.once('exit', () => {
    // The in-process session answers synchronously, so this runs before the process is gone.
    session.post('Profiler.stop', (error, result) => {
      if (error) return;
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
