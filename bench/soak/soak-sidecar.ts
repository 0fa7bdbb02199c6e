/**
 * The sidecar under soak, in its own process: `startSidecar` from the given serve flags, JSON logs
 * on stdout, plus one `{"soak":"sample",...}` line a second with its RSS and event-loop delay.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createLogger } from '../../src/observe/logger.js';
import { startSidecar } from '../../src/server/sidecar.js';
import { resolveSettings } from '../../src/settings/settings.js';

const SAMPLE_MS = 1000;

const resolved = resolveSettings(process.argv.slice(2), {});
if (!resolved.ok) throw new Error(resolved.errors.join('; '));
const sidecar = await startSidecar(resolved.settings, createLogger({ level: 'info' }));
console.log(JSON.stringify({ soak: 'ready', grpcPort: sidecar.grpcPort, httpPort: sidecar.httpPort }));

const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
setInterval(() => {
  const ms = (ns: number) => Math.round(ns / 1e4) / 100;
  console.log(
    JSON.stringify({
      soak: 'sample',
      rssBytes: process.memoryUsage.rss(),
      heapBytes: process.memoryUsage().heapUsed,
      eventLoopP50Ms: ms(delay.percentile(50)),
      eventLoopP99Ms: ms(delay.percentile(99)),
      eventLoopMaxMs: ms(delay.max),
    }),
  );
  delay.reset();
}, SAMPLE_MS);

process.once('SIGTERM', () => void sidecar.drain().then(() => process.exit(0)));
