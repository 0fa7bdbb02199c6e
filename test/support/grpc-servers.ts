/** The two servers `--grpc-server` picks between: the suites that pin the gRPC wire run against both. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadConfig } from '../../src/config/index.js';
import { grpcJsListener, nodeHttp2Listener } from '../../src/server/grpc-listener.js';
import { HealthState } from '../../src/server/health.js';
import type { GrpcConnectionLimits } from '../../src/settings/grpc-connection-limits.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import type { BucketStore } from '../../src/stores/store.js';
import { testService } from './service.js';

export const GRPC_SERVERS = ['node-http2', 'grpc-js'] as const;

export type GrpcServerKind = (typeof GRPC_SERVERS)[number];

export function grpcServerFlags(kind: GrpcServerKind): string[] {
  return ['--grpc-server', kind];
}

export interface TestGrpcListener {
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * A plaintext gRPC server alone (no sidecar) on a free loopback port, serving `config` from a
 * MemoryStore (`wrap` may put something around it), with `limits` for its connections.
 */
export async function startGrpcListener(
  kind: GrpcServerKind,
  config: string,
  limits: Partial<GrpcConnectionLimits>,
  wrap: (store: MemoryStore) => BucketStore = (store) => store,
): Promise<TestGrpcListener> {
  const dir = mkdtempSync(join(tmpdir(), 'rg-listener-'));
  writeFileSync(join(dir, 'config.yaml'), config);
  const loaded = await loadConfig(dir);
  if (!loaded.ok) throw new Error(`config: ${JSON.stringify(loaded.errors)}`);
  const store = new MemoryStore();
  const options = { service: testService(wrap(store), loaded.config), health: new HealthState(), maxMessageBytes: 65_536, connectionLimits: limits };
  const plaintext = { cert: undefined, key: undefined, ca: undefined, refreshIntervalMs: 5000 };
  const server = kind === 'grpc-js' ? grpcJsListener(options, grpc.ServerCredentials.createInsecure()) : nodeHttp2Listener(options, { files: plaintext });
  const port = await server.listen('127.0.0.1', 0);
  return {
    port,
    async stop() {
      await server.shutdown(0);
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
