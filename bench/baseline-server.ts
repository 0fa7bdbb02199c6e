/**
 * The baseline every sidecar figure is divided by: the least a Node gRPC rate limit service can do.
 * @grpc/grpc-js with the same rls.proto loaded dynamically by @grpc/proto-loader (protobufjs decode
 * and encode), answering OK with one OK status per descriptor, as any RLS answer has.
 *
 * It counts the calls it answers and serves the count on a tiny HTTP endpoint in the sidecar's metric
 * name, so the bench checks its load runs as it checks the sidecar's (bench/server-counts.ts):
 *
 *   node --import tsx bench/baseline-server.ts PORT      prints "baseline serving PORT metrics HTTP_PORT"
 *   curl 127.0.0.1:HTTP_PORT/metrics                      grpc_server_handled_total{grpc_code="OK"} N
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { loadProtoPackageDefinition } from '../src/rls/codec.js';

interface Request {
  descriptors: unknown[];
}

const definition = loadProtoPackageDefinition(); // rls.proto through @grpc/proto-loader, keepCase
const rls = grpc.loadPackageDefinition(definition) as unknown as {
  envoy: { service: { ratelimit: { v3: { RateLimitService: { service: grpc.ServiceDefinition } } } } };
};

let answeredOk = 0;
const server = new grpc.Server();
server.addService(rls.envoy.service.ratelimit.v3.RateLimitService.service, {
  ShouldRateLimit(call: grpc.ServerUnaryCall<Request, unknown>, callback: grpc.sendUnaryData<unknown>) {
    answeredOk++;
    callback(null, { overall_code: 'OK', statuses: call.request.descriptors.map(() => ({ code: 'OK' })) });
  },
});

const metrics = http.createServer((_req, res) => {
  res.setHeader('content-type', 'text/plain');
  res.end(`grpc_server_handled_total{grpc_service="envoy.service.ratelimit.v3.RateLimitService",grpc_method="ShouldRateLimit",grpc_code="OK"} ${answeredOk}\n`);
});
const port = Number(process.argv[2] ?? 0);
metrics.listen(0, '127.0.0.1', () => {
  server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error, bound) => {
    if (error) throw error;
    console.log(`baseline serving ${bound} metrics ${(metrics.address() as AddressInfo).port}`);
  });
});
