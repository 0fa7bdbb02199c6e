/**
 * The gRPC port: RLS v3 `ShouldRateLimit` through the hand-written codec, and `grpc.health.v1`.
 * Service results map to status codes here and nowhere else.
 */
import * as grpc from '@grpc/grpc-js';
import { loadProtoPackageDefinition, rateLimitServiceDefinition, type RateLimitServiceImplementation } from '../rls/codec.js';
import type { RateLimitService, ServiceFailure } from '../service/rate-limit-service.js';
import { HEALTH_SERVICES, type HealthState, type ServingStatus } from './health.js';

export interface GrpcServerOptions {
  readonly service: RateLimitService;
  readonly health: HealthState;
  readonly maxMessageBytes: number;
}

const FAILURE_CODES: Record<ServiceFailure['kind'], grpc.status> = {
  invalid_argument: grpc.status.INVALID_ARGUMENT,
  unavailable: grpc.status.UNAVAILABLE,
};

/**
 * Connection settings chosen for Envoy's usage (few long-lived HTTP/2 connections, many streams)
 * and for hostile peers: bounded messages and streams, keepalive to find dead peers.
 */
function serverOptions(maxMessageBytes: number): grpc.ServerOptions {
  return {
    'grpc.max_receive_message_length': maxMessageBytes,
    'grpc.max_send_message_length': 4 * 1024 * 1024,
    'grpc.max_concurrent_streams': 1024,
    'grpc.keepalive_time_ms': 60_000,
    'grpc.keepalive_timeout_ms': 20_000,
    'grpc.http2.min_ping_interval_without_data_ms': 10_000,
  };
}

interface HealthCheckRequest {
  service: string;
}

function healthImplementation(health: HealthState): grpc.UntypedServiceImplementation {
  const statusOf = (service: string): ServingStatus | 'SERVICE_UNKNOWN' => (HEALTH_SERVICES.includes(service) ? health.status : 'SERVICE_UNKNOWN');
  return {
    Check(call: grpc.ServerUnaryCall<HealthCheckRequest, unknown>, callback: grpc.sendUnaryData<unknown>) {
      const status = statusOf(call.request.service);
      if (status === 'SERVICE_UNKNOWN') callback({ code: grpc.status.NOT_FOUND, details: `unknown service "${call.request.service}"` });
      else callback(null, { status });
    },
    Watch(call: grpc.ServerWritableStream<HealthCheckRequest, unknown>) {
      const send = () => call.write({ status: statusOf(call.request.service) });
      send();
      health.on('change', send);
      call.on('cancelled', () => health.off('change', send));
      call.on('close', () => health.off('change', send));
    },
  };
}

export function createGrpcServer(options: GrpcServerOptions): grpc.Server {
  const server = new grpc.Server(serverOptions(options.maxMessageBytes));
  const implementation: RateLimitServiceImplementation = {
    ShouldRateLimit(call, callback) {
      const decoded = call.request;
      if (!decoded.ok) {
        callback({ code: grpc.status.INVALID_ARGUMENT, details: decoded.error });
        return;
      }
      options.service.shouldRateLimit(decoded.request).then(
        (result) => {
          if (result.ok) callback(null, result.response);
          else callback({ code: FAILURE_CODES[result.kind], details: result.message });
        },
        (error: unknown) => callback({ code: grpc.status.INTERNAL, details: error instanceof Error ? error.message : String(error) }),
      );
    },
  };
  server.addService(rateLimitServiceDefinition, implementation);
  const packageDefinition = grpc.loadPackageDefinition(loadProtoPackageDefinition()) as unknown as {
    grpc: { health: { v1: { Health: { service: grpc.ServiceDefinition } } } };
  };
  server.addService(packageDefinition.grpc.health.v1.Health.service, healthImplementation(options.health));
  return server;
}

/** Binds and resolves with the bound port (useful with port 0). */
export function bindGrpcServer(server: grpc.Server, host: string, port: number): Promise<number> {
  const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolve, reject) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound)));
  });
}
