import { setTimeout as delay } from 'node:timers/promises';
import { readAdminToken } from '../admin/admin-token.js';
import { createDemoApp, sidecarDemoLimits } from '../demo/demo-app.js';
import { serveDemo } from '../demo/serve-demo.js';
import { createLogger } from '../observe/logger.js';
import { resolveSettings } from '../settings/settings.js';
import { portInUse, runSidecar } from './serve.js';

/** How long the demo waits for the sidecar to serve before it opens anyway. */
const SERVING_WAIT_MS = 10_000;

/**
 * `npm start`: the sidecar (memory store unless REDIS_URL; the bundled config/) plus the demo API
 * on PORT (default 3000), whose /api/* limits come from the sidecar over gRPC. PORT belongs to the
 * demo here, so the sidecar's HTTP port is read from HTTP_PORT only.
 */
export async function start(argv: readonly string[]): Promise<number> {
  const { PORT, ...sidecarEnv } = process.env;
  const resolved = resolveSettings(['--response-headers', 'draft-10', ...argv], sidecarEnv);
  if (!resolved.ok) {
    for (const error of resolved.errors) console.error(`rateguard start: ${error}`);
    return 2;
  }
  const sidecar = await runSidecar(resolved.settings, resolved.notices);
  const logger = createLogger({ level: resolved.settings.logLevel, format: resolved.settings.logFormat });
  // With Redis the sidecar serves once Redis first answered; the demo opens then, so its first
  // requests are decided rather than answered by the limiter's failure policy.
  const serving = await Promise.race([sidecar.health.whenServing().then(() => true), delay(SERVING_WAIT_MS, false, { ref: false })]);
  if (!serving)
    logger.warn(
      `the sidecar is not serving after ${SERVING_WAIT_MS / 1000} s (Redis has not answered): the demo opens anyway, its requests get the failure policy until it does`,
    );
  const adminToken = await readAdminToken(resolved.settings);
  const limits = sidecarDemoLimits(`127.0.0.1:${sidecar.grpcPort}`, logger, {
    // The debug port serves POST /reset without a token while it is bound to loopback (the default).
    url: `http://127.0.0.1:${sidecar.debugPort}`,
    token: adminToken.ok ? adminToken.token : undefined,
  });
  let demo: Awaited<ReturnType<typeof serveDemo>>;
  try {
    demo = await serveDemo(createDemoApp(limits, process.env.ADMIN_TOKEN), Number(PORT ?? 3000), logger);
  } catch (error) {
    logger.fatal(portInUse(error) ?? `the demo API could not start: ${String(error)}`);
    await Promise.all([limits.close(), sidecar.drain()]);
    return 1;
  }
  logger.info(`try: for i in $(seq 10); do curl -s -o /dev/null -w '%{http_code}\\n' localhost:${demo.port}/api/expensive; done`);
  return 0;
}
