import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { type Logger, pino } from 'pino';
import { RateLimitServiceClient, type RateLimitRequest, type RateLimitResponse, shouldRateLimit } from '../../src/rls/codec.js';
import { type Sidecar, startSidecar } from '../../src/server/sidecar.js';
import { resolveSettings } from '../../src/settings/settings.js';

export interface TestSidecar {
  readonly sidecar: Sidecar;
  readonly dir: string;
  readonly httpUrl: string;
  /** The debug port (admin endpoints), bound to 127.0.0.1 unless `--debug-host` says otherwise. */
  readonly debugUrl: string;
  readonly client: grpc.Client;
  call(request: RateLimitRequest): Promise<RateLimitResponse>;
  /** The gRPC error of a call expected to fail. */
  callError(request: RateLimitRequest): Promise<grpc.ServiceError>;
  stop(): Promise<void>;
}

/** An in-process sidecar on free loopback ports, with `files` as its config directory. */
export async function startTestSidecar(files: Record<string, string>, flags: string[] = [], logger: Logger = pino({ level: 'silent' })): Promise<TestSidecar> {
  const dir = mkdtempSync(join(tmpdir(), 'rg-sidecar-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const resolved = resolveSettings(['--config', dir, '--grpc-port', '0', '--http-port', '0', '--debug-port', '0', '--host', '127.0.0.1', ...flags], {});
  if (!resolved.ok) throw new Error(resolved.errors.join('; '));
  const sidecar = await startSidecar(resolved.settings, logger);
  // With Redis the sidecar is NOT_SERVING until Redis first answered (as Kubernetes would wait).
  await servingWithin(sidecar, 10_000);
  const client = new RateLimitServiceClient(`127.0.0.1:${sidecar.grpcPort}`, grpc.credentials.createInsecure());
  return {
    sidecar,
    dir,
    httpUrl: `http://127.0.0.1:${sidecar.httpPort}`,
    debugUrl: `http://127.0.0.1:${sidecar.debugPort}`,
    client,
    call: (request) => shouldRateLimit(client, request, { deadline: Date.now() + 5000 }),
    callError: (request) =>
      shouldRateLimit(client, request, { deadline: Date.now() + 5000 }).then(
        () => {
          throw new Error('expected the call to fail');
        },
        (error: grpc.ServiceError) => error,
      ),
    async stop() {
      client.close();
      await sidecar.drain();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function servingWithin(sidecar: Sidecar, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`sidecar not SERVING within ${timeoutMs} ms (Redis never answered?)`)), timeoutMs);
  });
  return Promise.race([sidecar.health.whenServing(), late]).finally(() => clearTimeout(timer));
}

/** A request with one descriptor per argument, each `[[key, value], ...]`. */
export function request(domain: string, ...descriptors: [string, string][][]): RateLimitRequest {
  return { domain, descriptors: descriptors.map((entries) => ({ entries: entries.map(([key, value]) => ({ key, value })) })), hitsAddend: 0 };
}
