/**
 * grpc.health.v1 over gRPC on both servers, from grpc-js's client with the health proto: Check
 * answers the whole server, the reference's names and `redis`, NOT_FOUND for an unknown name; Watch
 * hears the status at once, then each change of it (the drain's NOT_SERVING), and SERVICE_UNKNOWN
 * for an unknown name.
 */
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { loadProtoPackageDefinition } from '../../src/rls/codec.js';
import { CALL_BOUND_MS, HARDENING_CONFIG, within } from '../hardening/helpers.js';
import { GRPC_SERVERS, grpcServerFlags } from '../support/grpc-servers.js';
import { startTestSidecar } from '../support/sidecar.js';

type HealthClient = grpc.Client & {
  Check(request: { service: string }, options: grpc.CallOptions, callback: (error: grpc.ServiceError | null, answer?: { status: string }) => void): void;
  Watch(request: { service: string }): grpc.ClientReadableStream<{ status: string }>;
};

const Health = (
  grpc.loadPackageDefinition(loadProtoPackageDefinition()) as unknown as {
    grpc: { health: { v1: { Health: new (address: string, credentials: grpc.ChannelCredentials) => HealthClient } } };
  }
).grpc.health.v1.Health;

function check(client: HealthClient, service: string): Promise<string> {
  return new Promise((resolve) =>
    client.Check({ service }, { deadline: Date.now() + CALL_BOUND_MS }, (error, answer) =>
      resolve(error ? `error ${grpc.status[error.code]}: ${error.details}` : answer!.status),
    ),
  );
}

/** The first `count` answers of a Watch. */
function watch(client: HealthClient, service: string, count: number, afterFirst: () => void = () => undefined): Promise<string[]> {
  return within(
    new Promise((resolve) => {
      const heard: string[] = [];
      const stream = client.Watch({ service });
      stream.on('error', () => {});
      stream.on('data', (answer: { status: string }) => {
        heard.push(answer.status);
        if (heard.length === 1) afterFirst();
        if (heard.length === count) {
          stream.cancel();
          resolve(heard);
        }
      });
    }),
    CALL_BOUND_MS,
    `Watch ${service}`,
  );
}

describe.each(GRPC_SERVERS)('grpc.health.v1 (%s)', (server) => {
  it('Check and Watch, through a drain', async () => {
    const rg = await startTestSidecar({ 'hard.yaml': HARDENING_CONFIG }, [...grpcServerFlags(server), '--shutdown-timeout', '300']);
    const client = new Health(`127.0.0.1:${rg.sidecar.grpcPort}`, grpc.credentials.createInsecure());
    try {
      expect(await Promise.all(['', 'ratelimit', 'envoy.service.ratelimit.v3.RateLimitService', 'redis'].map((name) => check(client, name)))).toEqual([
        'SERVING',
        'SERVING',
        'SERVING',
        'SERVING',
      ]);
      expect(await check(client, 'nope')).toBe('error NOT_FOUND: unknown service "nope"');
      expect(await watch(client, 'nope', 1)).toEqual(['SERVICE_UNKNOWN']);
      let drained: Promise<void> | undefined;
      expect(await watch(client, '', 2, () => (drained = rg.sidecar.drain()))).toEqual(['SERVING', 'NOT_SERVING']);
      await drained;
    } finally {
      client.close();
      await rg.stop();
    }
  });
});
